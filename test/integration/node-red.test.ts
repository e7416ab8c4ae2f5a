// A real Node-RED (4.1, through node-red-node-test-helper) loads the package and
// its nodes talk to a real Kamailio.
import assert from "assert";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { waitFor, sleep } from "../support/wait";
import { startBaresip, Baresip } from "../support/baresip";
import { speechMatch } from "../support/audio-match";
import { SpeechService } from "../../src/speech";

// Node-RED's test helper loads the nodes as CommonJS modules.
/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
const sipDtmf = require("../../nodes/sip-dtmf/sip-dtmf.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  reason?: string;
  call?: { id: string; outcome?: string };
}

describe("Node-RED runtime", function () {
  this.timeout(30_000);
  let kam: Kamailio;
  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
  });
  after(async () => {
    await kam?.stop();
  });
  beforeEach(startRed);
  afterEach(stopRed);

  const flow = (password: string, extra: Record<string, unknown> = {}) => [
    {
      id: "acct",
      type: "sip-client",
      name: "test account",
      server: "127.0.0.1",
      port: String(kam.ports.udp),
      transport: "udp",
      username: "alice",
      expires: "60",
      ...extra,
    },
    { id: "call", type: "sip-call", client: "acct", wires: [["out"]] },
    { id: "keys", type: "sip-dtmf", client: "acct", actions: [{ code: "1", message: "ok", topic: "ack" }], wires: [["dtmfout"], ["dtmfout"]] },
    { id: "out", type: "helper" },
    { id: "dtmfout", type: "helper" },
  ];

  type Got = Record<string, Array<Msg & { interrupted?: boolean; label?: string; invalid?: boolean }>>;
  /** Loads a flow, records what each helper node receives, waits for REGISTERED on "out". */
  async function loadRegistered(nodes: object[], outputs: string[]): Promise<Got> {
    await helper.load([sipClient, sipCall, sipDtmf], nodes, { acct: { password: "secret" } });
    const got: Got = {};
    for (const id of outputs) {
      got[id] = [];
      helper.getNode(id).on("input", (m: Msg) => got[id].push(m));
    }
    await waitFor(() => got.out.some((m) => m.payload === "REGISTERED"), 10_000, "REGISTERED");
    return got;
  }

  /** The alice account at the test's Kamailio, as the editor would save it. */
  const account = (extra: Record<string, unknown> = {}) => ({
    id: "acct",
    type: "sip-client",
    server: "127.0.0.1",
    port: String(kam.ports.udp),
    transport: "udp",
    username: "alice",
    ...extra,
  });

  /** baresip (bob) calls the node's account and hangs up after `body`; always stopped. */
  async function bobCalls(body: (bob: Baresip) => Promise<void>): Promise<void> {
    const bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
    try {
      await bob.waitRegistered();
      await bob.dial(kam.uri("alice"));
      await body(bob);
    } finally {
      await bob.stop();
    }
  }

  it("loads the three nodes and emits REGISTERING then REGISTERED; the binding goes on close", async () => {
    await helper.load([sipClient, sipCall, sipDtmf], flow("secret"), { acct: { password: "secret" } });
    const out = helper.getNode("out");
    const msgs: Msg[] = [];
    out.on("input", (m: Msg) => msgs.push(m));
    await waitFor(() => msgs.some((m) => m.payload === "REGISTERED"), 10_000, "a REGISTERED message");
    const reg = msgs.filter((m) => m.topic === "registration").map((m) => m.payload);
    assert.deepStrictEqual(reg.slice(-2), ["REGISTERING", "REGISTERED"]);
    assert.strictEqual((await kam.ulDump()).filter((b) => b.aor === "alice").length, 1);
    await helper.unload();
    assert.strictEqual((await kam.ulDump()).filter((b) => b.aor === "alice").length, 0, "un-REGISTERED on close");
  });

  it("a wrong password gives FAILED with the reason, never the password", async () => {
    await helper.load(
      [sipClient, sipCall],
      flow("nope")
        .slice(0, 2)
        .concat([{ id: "out", type: "helper" }] as never),
      { acct: { password: "hunter2-wrong" } },
    );
    const out = helper.getNode("out");
    const msgs: Msg[] = [];
    out.on("input", (m: Msg) => msgs.push(m));
    await waitFor(() => msgs.some((m) => m.payload === "FAILED"), 10_000, "FAILED");
    const failed = msgs.find((m) => m.payload === "FAILED")!;
    assert.match(failed.reason ?? "", /^401 /);
    assert.ok(!JSON.stringify(msgs).includes("hunter2"), "the password never appears in a message");
  });

  it("an account without a server: FAILED with the reason on the flow node, Node-RED keeps running", async () => {
    await helper.load(
      [sipClient, sipCall],
      [
        { id: "acct", type: "sip-client", server: "", username: "alice" },
        { id: "call", type: "sip-call", client: "acct", wires: [["out"]] },
        { id: "out", type: "helper" },
      ],
      { acct: { password: "secret" } },
    );
    const msgs: Msg[] = [];
    helper.getNode("out").on("input", (m: Msg) => msgs.push(m));
    await waitFor(() => msgs.some((m) => m.payload === "FAILED"), 5000, "FAILED");
    assert.match(msgs.find((m) => m.payload === "FAILED")!.reason ?? "", /server is required/);
  });

  it("bad input gives done(err) and changes nothing", async () => {
    await helper.load(
      [sipClient, sipCall],
      flow("secret")
        .slice(0, 2)
        .concat([{ id: "out", type: "helper" }] as never),
      { acct: { password: "secret" } },
    );
    const call = helper.getNode("call");
    const out = helper.getNode("out");
    const msgs: Msg[] = [];
    out.on("input", (m: Msg) => msgs.push(m));
    await waitFor(() => msgs.some((m) => m.payload === "REGISTERED"), 10_000, "REGISTERED");
    const errors: string[] = [];
    const origError = call.error.bind(call);
    call.error = (e: unknown, msg?: unknown) => {
      errors.push(String((e as Error)?.message ?? e));
      return origError(e, msg);
    };
    for (const m of [
      { topic: "fly", payload: 1 },
      { topic: "dial", payload: "" },
      { topic: "dial", payload: { not: "a number" } },
      { topic: "say", payload: "hello" },
      { topic: "play", payload: "/does/not/exist.wav" },
      { topic: "hangup" },
      { topic: "dtmf", payload: "12" },
    ])
      call.receive(m);
    await waitFor(() => errors.length >= 7, 5000, "seven errors");
    assert.match(errors[0], /unknown topic "fly"/);
    assert.match(errors[1], /nothing to dial/);
    assert.match(errors[2], /dial: msg.payload must be/);
    assert.match(errors[3], /no active call/);
    assert.match(errors.slice(4).join("\n"), /no active call/);
    assert.ok(!msgs.some((m) => m.topic === "call"), "no call was started");
  });

  it("the keypad menu: baresip enters 1234#, the node speaks the action's message and emits it on the action's output", async function () {
    this.timeout(60_000);
    const OPEN = "The gate is opening. Welcome home.";
    const MENU = "Please enter your code.";
    const nodes = [
      account({ ttsLanguage: "en-US" }),
      { id: "call", type: "sip-call", client: "acct", greetings: [{ number: "", message: MENU }], afterGreeting: "stay", wires: [["out"]] },
      {
        id: "keys",
        type: "sip-dtmf",
        client: "acct",
        terminator: "#",
        actions: [
          { code: "1", message: "one", topic: "one" },
          { code: "1234#", message: OPEN, topic: "gate" },
        ],
        invalidMessage: "Wrong code.",
        wires: [["digits"], ["a1"], ["a2"]],
      },
      { id: "out", type: "helper" },
      { id: "digits", type: "helper" },
      { id: "a1", type: "helper" },
      { id: "a2", type: "helper" },
    ];
    const got = await loadRegistered(nodes, ["out", "digits", "a1", "a2"]);
    const speech = new SpeechService({});
    try {
      await bobCalls(async (bob) => {
        await waitFor(() => got.out.some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
        await sleep(2500); // the menu prompt plays
        await bob.sndcode("1234#");
        await waitFor(() => got.a2.length === 1, 8000, "the gate action");
        assert.strictEqual(got.a2[0].topic, "gate");
        assert.strictEqual(got.a2[0].payload, "1234");
        assert.strictEqual(got.a1.length, 0, '"1" did not fire: a longer code starts with it');
        assert.deepStrictEqual(
          got.digits.filter((m) => m.topic === "dtmf").map((m) => m.payload),
          ["1", "2", "3", "4", "#"],
        );
        // The spoken answer: synthesised on demand, so wait for it to finish rather than guess.
        await waitFor(
          () => got.out.some((m) => m.topic === "playback" && m.payload === "finished" && m.label === OPEN),
          15_000,
          "the action's message played",
        );
        await sleep(300);
        await bob.hangup();
        await waitFor(() => got.out.some((m) => m.payload === "ENDED"), 5000, "ENDED");
        await sleep(500);
        const rx = bob.recordings().filter((r) => r.direction === "rx");
        const heard = await speech.loadAudio(rx[rx.length - 1].path);
        const m = speechMatch(await speech.synthesize({ text: OPEN, language: "en-US" }), heard);
        assert.ok(m.score > 0.9, `the action's message is in baresip's recording: ${m.score.toFixed(2)}`);
      });
    } finally {
      await speech.close();
    }
  });

  for (const bargeIn of [true, false]) {
    it(`a key pressed during a message: ${bargeIn ? "barge-in stops the message and acts" : "ignored until the message ends"}`, async function () {
      this.timeout(60_000);
      const LONG =
        "This is a long menu. Press one for the garage, two for the garden, three for the cellar, four for the attic, or stay on the line to hear this again.";
      const nodes = [
        account(),
        { id: "call", type: "sip-call", client: "acct", greetings: [{ number: "", message: LONG }], afterGreeting: "stay", wires: [["out"]] },
        {
          id: "keys",
          type: "sip-dtmf",
          client: "acct",
          bargeIn,
          actions: [{ code: "1", message: "Garage.", topic: "garage" }],
          wires: [["digits"], ["a1"]],
        },
        { id: "out", type: "helper" },
        { id: "digits", type: "helper" },
        { id: "a1", type: "helper" },
      ];
      const got = await loadRegistered(nodes, ["out", "digits", "a1"]);
      await bobCalls(async (bob) => {
        await waitFor(() => got.out.some((m) => m.topic === "playback" && m.payload === "started"), 10_000, "the menu starts");
        await sleep(1000);
        await bob.sndcode("1");
        await sleep(1500);
        const finished = got.out.filter((m) => m.topic === "playback" && m.payload === "finished");
        if (bargeIn) {
          assert.deepStrictEqual(
            got.digits.filter((m) => m.topic === "dtmf").map((m) => m.payload),
            ["1"],
          );
          assert.strictEqual(got.a1.length, 1, "the action fired");
          assert.ok(
            finished.some((m) => m.label === LONG && m.interrupted === true),
            "the menu was interrupted",
          );
        } else {
          assert.strictEqual(got.digits.length, 0, "the key was ignored while the menu played");
          assert.strictEqual(got.a1.length, 0);
          assert.ok(!finished.some((m) => m.label === LONG), "the menu is still playing");
        }
        await bob.hangup();
        await waitFor(() => got.out.some((m) => m.payload === "ENDED"), 5000, "ENDED");
      });
    });
  }

  it("a wrong code gets the invalid-code message, and the menu is repeated after silence", async function () {
    this.timeout(60_000);
    const WRONG = "Sorry, that code is not valid.";
    const MENU = "Enter your code, then the hash key.";
    const nodes = [
      account(),
      { id: "call", type: "sip-call", client: "acct", wires: [["out"]] },
      {
        id: "keys",
        type: "sip-dtmf",
        client: "acct",
        terminator: "#",
        actions: [{ code: "1234#", message: "ok", topic: "gate" }],
        invalidMessage: WRONG,
        menuMessage: MENU,
        menuRepeat: "2",
        wires: [["digits"], ["a1"]],
      },
      { id: "out", type: "helper" },
      { id: "digits", type: "helper" },
      { id: "a1", type: "helper" },
    ];
    const got = await loadRegistered(nodes, ["out", "digits", "a1"]);
    await bobCalls(async (bob) => {
      await waitFor(() => got.out.some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
      // Nothing is pressed: the menu is spoken after 2 s of silence.
      await waitFor(() => got.out.some((m) => m.topic === "playback" && m.payload === "started" && m.label === MENU), 6000, "the menu repeated");
      await waitFor(() => got.out.some((m) => m.topic === "playback" && m.payload === "finished" && m.label === MENU), 10_000, "the menu finished");
      await bob.sndcode("99#");
      await waitFor(() => got.digits.some((m) => m.topic === "dtmf-code"), 5000, "a code");
      const code = got.digits.find((m) => m.topic === "dtmf-code")!;
      assert.strictEqual(code.payload, "99");
      assert.strictEqual(code.invalid, true);
      assert.strictEqual(got.a1.length, 0);
      await waitFor(
        () => got.out.some((m) => m.topic === "playback" && m.payload === "started" && m.label === WRONG),
        5000,
        "the invalid-code message",
      );
      await bob.hangup();
      await waitFor(() => got.out.some((m) => m.payload === "ENDED"), 5000, "ENDED");
    });
  });
});
