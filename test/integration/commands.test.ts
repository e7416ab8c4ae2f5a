// Every sip-call command from a flow: a real Node-RED (node-red-node-test-helper) with a sip-client,
// a sip-call (automatic answering off) and a sip-dtmf on the alice account of a real Kamailio, and
// one baresip (bob) as the other phone. Each command is injected into the sip-call node; the test
// checks its effect at baresip (call events, received keys, recorded audio) and what the flow emits.
// One Node-RED flow and one baresip serve every test; each test makes its own call and ends it.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import helper from "node-red-node-test-helper";
import { startRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip, BaresipEvent } from "../support/baresip";
import { waitFor } from "../support/wait";
import { speechMatch } from "../support/audio-match";
import { SpeechService, encodeWav } from "../../src/speech";
import { encodeFrame } from "../../src/media/g711";
import type { CallInfo } from "../../src/types";

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
  label?: string;
  interrupted?: boolean;
  method?: string;
  call?: CallInfo;
}

const DIAL_MESSAGE = "The washing machine has finished. Please empty it.";
const SAY_TEXT = "Attention please. The alarm in the living room went off two minutes ago.";
const FILE_TEXT = "Good evening. The garage door has been open for ten minutes.";
const BUFFER_TEXT = "Somebody is ringing at the front door right now.";
const PCMU_TEXT = "The heating in the cellar is switched off.";
const OTHER_TEXT = "Bonjour, ceci est une phrase tout à fait différente.";

describe("sip-call commands from a flow (Kamailio + baresip)", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let bob: Baresip;
  let speech: SpeechService;
  let tmp: string;
  const out: Msg[] = [];
  const keys: Msg[] = [];
  const errors: string[] = [];

  before(async function () {
    this.timeout(60_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sip-commands-"));
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
    speech = new SpeechService({});
    await startRed();
    await helper.load(
      [sipClient, sipCall, sipDtmf],
      [
        {
          id: "acct",
          type: "sip-client",
          server: "127.0.0.1",
          port: String(kam.ports.udp),
          transport: "udp",
          username: "alice",
          ttsLanguage: "en-US",
        },
        { id: "call", type: "sip-call", client: "acct", autoAnswer: false, wires: [["out"]] },
        { id: "keys", type: "sip-dtmf", client: "acct", wires: [["keysout"]] },
        { id: "out", type: "helper" },
        { id: "keysout", type: "helper" },
      ],
      { acct: { password: "secret" } },
    );
    helper.getNode("out").on("input", (m: Msg) => out.push(m));
    helper.getNode("keysout").on("input", (m: Msg) => keys.push(m));
    // done(err) of the sip-call node ends up in node.error: collect it, so a failed command fails its test.
    const node = helper.getNode("call");
    const origError = node.error.bind(node);
    node.error = (e: unknown, msg?: unknown) => {
      errors.push(String((e as Error)?.message ?? e));
      return origError(e, msg);
    };
    await waitFor(() => out.some((m) => m.topic === "registration" && m.payload === "REGISTERED"), 10_000, "REGISTERED");
    bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "manual" });
    await bob.waitRegistered();
  });

  after(async () => {
    await helper.unload().catch(() => undefined);
    await new Promise<void>((r) => helper.stopServer(() => r()));
    await bob?.stop();
    await kam?.stop();
    await speech?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(async () => {
    // A failed test must not leave a call up for the next one.
    for (const c of activeCalls()) inject({ topic: "hangup", call: { id: c.id } });
    await waitFor(() => activeCalls().length === 0, 10_000, "no call left").catch(() => undefined);
    await bob.hangup().catch(() => undefined);
    assert.deepStrictEqual(errors.splice(0), [], "no command failed");
  });

  const inject = (msg: Record<string, unknown>) => helper.getNode("call").receive(msg);

  /** Calls whose latest call message is not ENDED. */
  function activeCalls(): CallInfo[] {
    const last = new Map<string, Msg>();
    for (const m of out) if (m.topic === "call" && m.call) last.set(m.call.id, m);
    return [...last.values()].filter((m) => m.payload !== "ENDED").map((m) => m.call!);
  }
  /** The call message of `state` for call `id` (or for any call after index `since`). */
  const callMsg = (state: string, o: { id?: string; since?: number }) =>
    out.slice(o.since ?? 0).find((m) => m.topic === "call" && m.payload === state && (!o.id || m.call?.id === o.id));
  const waitCall = async (state: string, o: { id?: string; since?: number }, ms = 10_000): Promise<Msg> =>
    await waitFor(() => callMsg(state, o), ms, `call ${state}`);
  const statesOf = (id: string) => out.filter((m) => m.topic === "call" && m.call?.id === id).map((m) => m.payload);
  const finished = (label: string, id: string) =>
    out.find((m) => m.topic === "playback" && m.payload === "finished" && m.label === label && m.call?.id === id);

  /** Bob calls alice; resolves with the RINGING message (automatic answering is off: it keeps ringing). */
  async function bobCalls(): Promise<Msg> {
    const since = out.length;
    await bob.dial(kam.uri("alice"));
    const ringing = await waitCall("RINGING", { since });
    assert.strictEqual(ringing.call!.direction, "inbound");
    assert.strictEqual(ringing.call!.from.number, "bob");
    return ringing;
  }

  /** The flow dials bob, who answers by himself; resolves with the ANSWERED message. */
  async function flowCallsBob(extra: Record<string, unknown> = {}): Promise<Msg> {
    await bob.setAnswerMode("auto");
    try {
      const since = out.length;
      const mark = bob.mark();
      inject({ topic: "dial", payload: "bob", ...extra });
      const answered = await waitCall("ANSWERED", { since });
      await bob.waitEvent("CALL_ESTABLISHED", 10_000, { since: mark });
      return answered;
    } finally {
      await bob.setAnswerMode("manual");
    }
  }

  /** Ends the call from bob's side, then waits until baresip has written its recording and it has `texts` in it. */
  async function hangUpAndCheckAudio(id: string, texts: string[]): Promise<number[]> {
    const mark = bob.mark();
    await bob.hangup();
    await bob.waitEvent("CALL_CLOSED", 10_000, { since: mark });
    const ended = await waitCall("ENDED", { id });
    assert.strictEqual(ended.call!.hungUpBy, "remote");
    if (texts.length === 0) return [];
    const refs = await Promise.all(texts.map((text) => speech.synthesize({ text, language: "en-US" })));
    const other = await speech.synthesize({ text: OTHER_TEXT, language: "fr-FR" });
    let scores: Array<{ score: number; atSeconds: number }> = [];
    let otherScore = 0;
    // sndfile writes the WAV header when the call ends: poll the newest "received" file until it holds the audio.
    await waitFor(
      async () => {
        const rx = bob
          .recordings()
          .filter((r) => r.direction === "rx")
          .sort((a, b) => fs.statSync(a.path).mtimeMs - fs.statSync(b.path).mtimeMs);
        if (rx.length === 0) return false;
        const heard = await speech.loadAudio(rx[rx.length - 1].path);
        scores = refs.map((r) => speechMatch(r, heard));
        otherScore = speechMatch(other, heard).score;
        return scores.every((s) => s.score > 0.9);
      },
      10_000,
      "baresip's recording",
    ).catch(() => undefined);
    texts.forEach((t, i) => {
      assert.ok(scores[i]?.score > 0.9, `"${t}" is in baresip's recording: ${scores[i]?.score.toFixed(2)}`);
      assert.ok(otherScore < scores[i].score - 0.2, `a sentence not played scores lower: ${otherScore.toFixed(2)} vs ${scores[i].score.toFixed(2)}`);
    });
    return scores.map((s) => s.atSeconds);
  }

  it("dial: DIALING, RINGING at baresip, ANSWERED when it accepts; msg.message is spoken", async () => {
    const since = out.length;
    const mark = bob.mark();
    inject({ topic: "dial", payload: "bob", message: DIAL_MESSAGE, language: "en-US" });
    const dialing = await waitCall("DIALING", { since });
    const id = dialing.call!.id;
    assert.strictEqual(dialing.call!.direction, "outbound");
    assert.strictEqual(dialing.call!.to.number, "bob");
    const incoming = await bob.waitEvent("CALL_INCOMING", 10_000, { since: mark });
    assert.match(incoming.peeruri ?? "", /^sip:alice@/);
    await waitCall("RINGING", { id });
    assert.ok(!callMsg("ANSWERED", { id }), "not answered before baresip accepts");
    await bob.accept();
    const answered = await waitCall("ANSWERED", { id });
    assert.ok(answered.call!.answeredAt, "answeredAt");
    assert.ok(answered.call!.codec === "PCMU" || answered.call!.codec === "PCMA");
    await waitFor(() => finished(DIAL_MESSAGE, id), 15_000, "the dial message played");
    await hangUpAndCheckAudio(id, [DIAL_MESSAGE]);
    assert.deepStrictEqual(statesOf(id), ["DIALING", "RINGING", "ANSWERED", "ENDED"]);
  });

  it("hangup: ends an answered call with a BYE (ENDED completed, hung up locally)", async () => {
    const id = (await flowCallsBob()).call!.id;
    const mark = bob.mark();
    inject({ topic: "hangup", call: { id } });
    await bob.waitEvent("CALL_CLOSED", 10_000, { since: mark });
    const ended = await waitCall("ENDED", { id });
    assert.strictEqual(ended.call!.outcome, "completed");
    assert.strictEqual(ended.call!.hungUpBy, "local");
    assert.ok(ended.call!.endedAt && ended.call!.durationSeconds !== undefined);
  });

  it("hangup: cancels an outgoing call that still rings (ENDED cancelled, baresip stops ringing)", async () => {
    const since = out.length;
    const mark = bob.mark();
    inject({ topic: "dial", payload: "bob" });
    const ringing = await waitCall("RINGING", { since });
    await bob.waitEvent("CALL_INCOMING", 10_000, { since: mark });
    inject({ topic: "hangup" }); // no id: the only active call
    await bob.waitEvent("CALL_CLOSED", 10_000, { since: mark });
    const ended = await waitCall("ENDED", { id: ringing.call!.id });
    assert.strictEqual(ended.call!.outcome, "cancelled");
    assert.ok(!bob.events.slice(mark).some((e) => e.type === "CALL_ESTABLISHED"), "baresip never got the call");
  });

  it("answer: a ringing incoming call is answered only on the command", async () => {
    const mark = bob.mark();
    const ringing = await bobCalls();
    const id = ringing.call!.id;
    assert.ok(!bob.events.slice(mark).some((e) => e.type === "CALL_ESTABLISHED"), "not answered by itself");
    inject({ topic: "answer", call: { id } });
    await bob.waitEvent("CALL_ESTABLISHED", 10_000, { since: mark });
    const answered = await waitCall("ANSWERED", { id });
    assert.ok(answered.call!.answeredAt);
    await hangUpAndCheckAudio(id, []);
    assert.deepStrictEqual(statesOf(id), ["RINGING", "ANSWERED", "ENDED"]);
  });

  for (const statusCode of [undefined, 603]) {
    it(`reject: ${statusCode ? `with msg.statusCode ${statusCode}` : "486 Busy Here by default"}; baresip sees the status`, async () => {
      const ringing = await bobCalls();
      const id = ringing.call!.id;
      const mark = bob.mark();
      inject({ topic: "reject", call: { id }, ...(statusCode ? { statusCode } : {}) });
      const closed: BaresipEvent = await bob.waitEvent("CALL_CLOSED", 10_000, { since: mark });
      const want = statusCode ?? 486;
      assert.match(closed.param ?? "", new RegExp(`^${want}\\b`), "baresip got the status");
      const ended = await waitCall("ENDED", { id });
      assert.strictEqual(ended.call!.outcome, "rejected");
      assert.strictEqual(ended.call!.statusCode, want);
      assert.ok(!bob.events.slice(mark).some((e) => e.type === "CALL_ESTABLISHED"));
      assert.deepStrictEqual(statesOf(id), ["RINGING", "ENDED"]);
    });
  }

  it("say: the text is spoken into the call (playback started/finished, baresip hears it)", async () => {
    const id = (await flowCallsBob()).call!.id;
    inject({ topic: "say", payload: SAY_TEXT, language: "en-US", call: { id } });
    await waitFor(() => finished(SAY_TEXT, id), 20_000, "the text played");
    assert.ok(
      out.some((m) => m.topic === "playback" && m.payload === "started" && m.label === SAY_TEXT),
      "playback started",
    );
    assert.strictEqual(finished(SAY_TEXT, id)!.interrupted, false);
    await hangUpAndCheckAudio(id, [SAY_TEXT]);
  });

  it("play: a WAV file, a WAV Buffer and raw PCMU are played in order; baresip hears each", async () => {
    const [file, buffer, pcmu] = await Promise.all([FILE_TEXT, BUFFER_TEXT, PCMU_TEXT].map((text) => speech.synthesize({ text, language: "en-US" })));
    const wavPath = path.join(tmp, "garage.wav");
    fs.writeFileSync(wavPath, encodeWav(file, 8000));
    const id = (await flowCallsBob()).call!.id;
    inject({ topic: "play", payload: wavPath, call: { id } });
    inject({ topic: "play", payload: encodeWav(buffer, 8000), call: { id } });
    inject({ topic: "play", payload: encodeFrame("PCMU", pcmu), format: "pcmu", call: { id } });
    await waitFor(
      () => out.filter((m) => m.topic === "playback" && m.payload === "finished" && m.call?.id === id).length === 3,
      30_000,
      "three playbacks finished",
    );
    const labels = out.filter((m) => m.topic === "playback" && m.payload === "finished" && m.call?.id === id).map((m) => m.label);
    assert.deepStrictEqual(labels, [wavPath, "audio buffer", "audio buffer"]);
    const at = await hangUpAndCheckAudio(id, [FILE_TEXT, BUFFER_TEXT, PCMU_TEXT]);
    assert.ok(at[0] < at[1] && at[1] < at[2], `played in order: ${at.map((s) => s.toFixed(1)).join(", ")} s`);
  });

  it("dtmf: the digits reach baresip (RFC 4733); keys baresip sends come out of sip-dtmf", async () => {
    const id = (await flowCallsBob()).call!.id;
    const mark = bob.mark();
    inject({ topic: "dtmf", payload: "42#", call: { id } });
    await waitFor(
      () =>
        bob.events
          .slice(mark)
          .filter((e) => e.type === "CALL_DTMF_START")
          .map((e) => e.param)
          .join("") === "42#",
      10_000,
      "baresip to receive 42#",
    );
    const before = keys.length;
    await bob.sndcode("7*");
    await waitFor(() => keys.slice(before).filter((m) => m.topic === "dtmf").length === 2, 10_000, "two keys from sip-dtmf");
    const got = keys.slice(before).filter((m) => m.topic === "dtmf");
    assert.deepStrictEqual(
      got.map((m) => m.payload),
      ["7", "*"],
    );
    assert.ok(got.every((m) => m.method === "rfc4733" && m.call?.id === id));
    await hangUpAndCheckAudio(id, []);
  });
});
