// Time and mode rules from a flow: the same caller (baresip "bob" through Kamailio) is greeted,
// rejected, or greeted otherwise, depending on the mode a flow sets (topic "mode") and the rows'
// time windows; the matched row comes out in msg.call.rule.
import assert from "assert";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { waitFor, sleep } from "../support/wait";
import { loadCallFlow } from "../support/call-flow";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  label?: string;
  call?: { id: string; outcome?: string; statusCode?: number; reason?: string; rule?: Record<string, unknown> };
}

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

describe("time and mode rules from a flow", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let bob: Baresip | undefined;
  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
  });
  after(async () => {
    await bob?.stop();
    await kam?.stop();
  });
  beforeEach(startRed);
  afterEach(stopRed);

  it("the same caller is greeted, rejected in mode away, greeted again, then greeted otherwise at night within a window; msg.call.rule says which row", async () => {
    // A day that is not today in UTC (the node's zone): its row must never match.
    const otherDay = DAY_NAMES[(new Date().getUTCDay() + 3) % 7];
    // Today and tomorrow: still right if the test runs over midnight.
    const nearDays = `${DAY_NAMES[new Date().getUTCDay()]},${DAY_NAMES[(new Date().getUTCDay() + 1) % 7]}`;
    const { out } = await loadCallFlow<Msg>(kam, {
      client: { ttsLanguage: "en-US" },
      call: {
        timeZone: "UTC",
        afterGreeting: "hangup",
        greetings: [
          { number: "", message: "Hello everybody", language: "" },
          { number: "bob", message: "Hello Bob", language: "" },
          { number: "bob", message: "", language: "", action: "reject", mode: "away,holiday" },
          { number: "bob", message: "Not today", language: "", days: otherDay },
          { number: "bob", message: "Good night Bob", language: "", days: nearDays, from: "00:00", to: "24:00", mode: "night" },
        ],
      },
    });
    bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
    await bob.waitRegistered();
    const node = helper.getNode("call");

    /** bob calls; resolves with the call's ENDED message. */
    const bobCalls = async (): Promise<Msg> => {
      const since = out.length;
      await bob!.dial(kam.uri("alice"));
      await waitFor(() => out.slice(since).some((m) => m.topic === "call" && m.payload === "ENDED"), 20_000, "the call to end");
      await sleep(300);
      return out.slice(since).find((m) => m.topic === "call" && m.payload === "ENDED")!;
    };
    const labels = (callId: string) =>
      out.filter((m) => m.topic === "playback" && m.call?.id === callId && m.payload === "started").map((m) => m.label);

    // No mode: bob's own row.
    const first = await bobCalls();
    assert.strictEqual(first.call!.outcome, "completed");
    assert.deepStrictEqual(labels(first.call!.id), ["Hello Bob"]);
    assert.deepStrictEqual(first.call!.rule, { table: "greetings", index: 2, pattern: "bob", action: "greet" });

    // Mode "away": the reject row wins for bob (603), and says so.
    node.receive({ topic: "mode", payload: "Away" });
    await waitFor(() => out.some((m) => m.topic === "mode"), 5000, "the mode message");
    assert.strictEqual(out.find((m) => m.topic === "mode")!.payload, "away");
    const second = await bobCalls();
    assert.strictEqual(second.call!.outcome, "rejected");
    assert.strictEqual(second.call!.statusCode, 603);
    assert.strictEqual(second.call!.reason, "rejected by rule 3");
    assert.deepStrictEqual(second.call!.rule, { table: "greetings", index: 3, pattern: "bob", action: "reject", mode: "away" });
    assert.ok(!out.some((m) => m.topic === "call" && m.call?.id === second.call!.id && m.payload === "ANSWERED"), "never answered");
    assert.strictEqual(helper.getNode("call").context().get("mode"), "away", "kept in the node context");

    // Mode cleared: greeted again; the other-day row never applies.
    node.receive({ topic: "mode", payload: "" });
    const third = await bobCalls();
    assert.strictEqual(third.call!.outcome, "completed");
    assert.deepStrictEqual(labels(third.call!.id), ["Hello Bob"]);

    // Mode "night" and a window for today: that row, with its window and the mode reported.
    node.receive({ topic: "mode", payload: "night" });
    const fourth = await bobCalls();
    assert.deepStrictEqual(labels(fourth.call!.id), ["Good night Bob"]);
    assert.deepStrictEqual(fourth.call!.rule, {
      table: "greetings",
      index: 5,
      pattern: "bob",
      action: "greet",
      mode: "night",
      window: { days: nearDays, from: "00:00", to: "24:00" },
    });
  });

  it("the mode set by a flow survives a redeploy", async () => {
    const nodes = [
      { id: "tab", type: "tab", label: "rules" },
      { id: "acct", type: "sip-client", server: "127.0.0.1", port: String(kam.ports.udp), transport: "udp", username: "alice" },
      { id: "call", type: "sip-call", z: "tab", client: "acct", wires: [["out"]] },
      { id: "out", type: "helper", z: "tab" },
    ];
    await helper.load([sipClient, sipCall], nodes, { acct: { password: "secret" } });
    const modes = (): Promise<unknown> =>
      new Promise((resolve) => {
        helper.getNode("out").on("input", (m: Msg) => {
          if (m.topic === "mode") resolve(m.payload);
        });
      });
    let next = modes();
    helper.getNode("call").receive({ topic: "mode", payload: "holiday" });
    assert.strictEqual(await next, "holiday");
    // A full deploy stops and recreates every node; the helper only waits 300 ms for the restart.
    await helper.setFlows(nodes, "full", { acct: { password: "secret" } }).catch(() => undefined);
    await waitFor(() => !!helper.getNode("call"), 5000, "the redeployed node");
    next = modes();
    helper.getNode("call").receive({ topic: "mode" });
    assert.strictEqual(await next, "holiday");
  });
});
