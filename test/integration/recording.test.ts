// Recording from a flow: a real Node-RED with two accounts on a real Kamailio. "alice"'s sip-call
// records on the record command; "carol"'s records every answered call (the editor option, stop key
// "#"). baresip calls in with a WAV of known speech as its microphone; the recording message must
// hold that speech (the loudness envelope correlates, a sentence not spoken scores lower), end
// for the right reason (silence, hangup, key, stop) and be written to msg.record.path.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { sleep, waitFor } from "../support/wait";
import { speechMatch } from "../support/audio-match";
import { SpeechService, encodeWav } from "../../src/speech";
import { parseWav } from "../../src/speech/wav";
import type { CallInfo } from "../../src/types";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  call?: CallInfo;
  recording?: { durationMs: number; bytes: number; reason: string; key?: string; path?: string; error?: string; startedAt: string };
}

const SPOKEN = "The washing machine has finished. Please empty the drum and close the door.";
const OTHER = "Bonjour, ceci est une phrase tout à fait différente.";

/** The WAV's samples as Int16 (what speechMatch compares). */
function pcmOf(wav: Buffer): Int16Array {
  const w = parseWav(wav);
  assert.strictEqual(w.sampleRate, 8000);
  assert.strictEqual(w.channels, 1);
  assert.strictEqual(w.bitsPerSample, 16);
  return Int16Array.from(w.samples, (s) => Math.round(s * 32767));
}

describe("sip-call recording from a flow (Kamailio + baresip)", function () {
  this.timeout(90_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let tmp: string;
  let spoken: Int16Array;
  let other: Int16Array;
  const peers: Baresip[] = [];
  const out: Msg[] = [];
  const errors: string[] = [];

  before(async function () {
    this.timeout(60_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sip-recording-"));
    kam = await startKamailio({ users: { alice: "secret", carol: "pw-carol", bob: "pw-bob" } });
    speech = new SpeechService({});
    spoken = await speech.synthesize({ text: SPOKEN, language: "en-US" });
    other = await speech.synthesize({ text: OTHER, language: "fr-FR" });
    await startRed();
    const account = (id: string, username: string) => ({
      id,
      type: "sip-client",
      server: "127.0.0.1",
      port: String(kam.ports.udp),
      transport: "udp",
      username,
      ttsLanguage: "en-US",
    });
    await helper.load(
      [sipClient, sipCall],
      [
        account("acctA", "alice"),
        account("acctC", "carol"),
        { id: "callA", type: "sip-call", client: "acctA", autoAnswer: true, wires: [["out"]] },
        {
          id: "callC",
          type: "sip-call",
          client: "acctC",
          autoAnswer: true,
          record: true,
          recordMaxSeconds: "60",
          recordSilenceSeconds: "0",
          recordStopKeys: "#",
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
      ],
      { acctA: { password: "secret" }, acctC: { password: "pw-carol" } },
    );
    helper.getNode("out").on("input", (m: Msg) => out.push(m));
    for (const id of ["callA", "callC"]) {
      const node = helper.getNode(id);
      const origError = node.error.bind(node);
      node.error = (e: unknown, msg?: unknown) => {
        errors.push(String((e as Error)?.message ?? e));
        return origError(e, msg);
      };
    }
    await waitFor(() => out.filter((m) => m.topic === "registration" && m.payload === "REGISTERED").length >= 2, 10_000, "both REGISTERED");
  });

  after(async () => {
    await stopRed().catch(() => undefined);
    for (const p of peers) await p.stop().catch(() => undefined);
    await kam?.stop();
    await speech?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop().catch(() => undefined);
    assert.deepStrictEqual(errors.splice(0), [], "no command failed");
  });

  /** A baresip whose microphone is `leadSeconds` of silence, the spoken sentence, then `silenceSeconds` of silence. */
  async function caller(user: "bob", silenceSeconds: number, leadSeconds = 0): Promise<Baresip> {
    const pcm = new Int16Array(leadSeconds * 8000 + spoken.length + silenceSeconds * 8000);
    pcm.set(spoken, leadSeconds * 8000);
    const file = path.join(tmp, `mic-${Date.now()}.wav`);
    fs.writeFileSync(file, encodeWav(pcm, 8000));
    const b = await startBaresip({ user, password: "pw-bob", kamailio: kam, audioFile: file, codecs: ["PCMU"] });
    peers.push(b);
    await b.waitRegistered();
    return b;
  }

  const answeredCall = async (callee: string, since: number): Promise<CallInfo> =>
    (
      await waitFor(
        () => out.slice(since).find((m) => m.topic === "call" && m.payload === "ANSWERED" && m.call?.to.number === callee),
        10_000,
        "ANSWERED",
      )
    ).call!;
  const recordingOf = async (id: string, since: number, ms = 30_000): Promise<Msg> =>
    await waitFor(() => out.slice(since).find((m) => m.topic === "recording" && m.call?.id === id), ms, "the recording message");
  const recordingsOf = (id: string) => out.filter((m) => m.topic === "recording" && m.call?.id === id);

  function assertHoldsTheSpeech(m: Msg): Int16Array {
    assert.ok(Buffer.isBuffer(m.payload), "payload is the WAV Buffer");
    assert.strictEqual(m.recording!.bytes, m.payload.length);
    const pcm = pcmOf(m.payload);
    assert.ok(Math.abs(m.recording!.durationMs - pcm.length / 8) <= 1, "durationMs is the WAV's length");
    const same = speechMatch(spoken, pcm);
    const different = speechMatch(other, pcm);
    assert.ok(same.score > 0.8, `the spoken sentence is in the recording: ${same.score.toFixed(2)}`);
    assert.ok(different.score < same.score - 0.2, `a sentence not spoken scores lower: ${different.score.toFixed(2)} vs ${same.score.toFixed(2)}`);
    return pcm;
  }

  it("record command: ends by silence once the caller went quiet (not before speaking), the WAV holds the speech and is written to msg.record.path; then stop", async () => {
    // 2.5 s of quiet before the caller speaks: longer than silenceSeconds, and it must not end the recording.
    const bob = await caller("bob", 20, 2.5);
    const since = out.length;
    await bob.dial(kam.uri("alice"));
    const call = await answeredCall("alice", since);
    const file = path.join(tmp, "voicemail.wav");
    helper.getNode("callA").receive({ topic: "record", call: { id: call.id }, record: { silenceSeconds: 1.5, maxSeconds: 30, path: file } });
    const m = await recordingOf(call.id, since);
    assert.strictEqual(m.recording!.reason, "silence");
    assert.strictEqual(m.call!.state, "ANSWERED", "the call goes on");
    assertHoldsTheSpeech(m);
    const speechMs = (spoken.length / 8000) * 1000;
    assert.ok(m.recording!.durationMs >= speechMs + 1000, `the lead-in and the speech: ${m.recording!.durationMs} ms`);
    assert.ok(m.recording!.durationMs < speechMs + 5500, `ended about 1.5 s after it: ${m.recording!.durationMs} ms for ${speechMs} ms of speech`);
    assert.strictEqual(m.recording!.path, file);
    assert.strictEqual(m.recording!.error, undefined);
    assert.ok(fs.readFileSync(file).equals(m.payload as Buffer), "the file is the WAV of the message");
    assert.ok(!Number.isNaN(Date.parse(m.recording!.startedAt)));

    // A second recording of the same call, ended by the stop command; a bad path is reported, not thrown.
    const since2 = out.length;
    helper
      .getNode("callA")
      .receive({ topic: "record", payload: "start", call: { id: call.id }, record: { path: path.join(tmp, "no-dir", "x.wav") } });
    await sleep(600);
    helper.getNode("callA").receive({ topic: "record", payload: "stop", call: { id: call.id } });
    const stopped = await recordingOf(call.id, since2, 10_000);
    assert.strictEqual(stopped.recording!.reason, "stop");
    assert.match(stopped.recording!.error ?? "", /ENOENT/);
    assert.strictEqual(stopped.recording!.path, undefined);
    assert.ok(stopped.recording!.durationMs >= 400 && stopped.recording!.durationMs < 5000, `${stopped.recording!.durationMs} ms`);
    helper.getNode("callA").receive({ topic: "hangup", call: { id: call.id } });
    await waitFor(() => out.some((o) => o.topic === "call" && o.payload === "ENDED" && o.call?.id === call.id), 10_000, "ENDED");
    assert.strictEqual(recordingsOf(call.id).length, 2, "one message per recording");
  });

  it("record every answered call (editor option): the caller hangs up (end of its WAV), reason hangup, with the ENDED call", async () => {
    const bob = await caller("bob", 0);
    const since = out.length;
    const mark = bob.mark();
    await bob.dial(kam.uri("carol"));
    const call = await answeredCall("carol", since);
    await bob.waitEvent("CALL_CLOSED", 30_000, { since: mark });
    const m = await recordingOf(call.id, since);
    assert.strictEqual(m.recording!.reason, "hangup");
    assert.strictEqual(m.call!.state, "ENDED");
    assert.strictEqual(m.call!.hungUpBy, "remote");
    assertHoldsTheSpeech(m);
    await sleep(300);
    assert.strictEqual(recordingsOf(call.id).length, 1, "one message");
  });

  it("record every answered call: the stop key # (RFC 4733 from baresip) ends it with reason key", async () => {
    const bob = await caller("bob", 20);
    const since = out.length;
    await bob.dial(kam.uri("carol"));
    const call = await answeredCall("carol", since);
    await sleep((spoken.length / 8000) * 1000 + 1000);
    assert.strictEqual(recordingsOf(call.id).length, 0, "still recording");
    await bob.sndcode("#");
    const m = await recordingOf(call.id, since, 10_000);
    assert.strictEqual(m.recording!.reason, "key");
    assert.strictEqual(m.recording!.key, "#");
    assert.strictEqual(m.call!.state, "ANSWERED");
    assertHoldsTheSpeech(m);
    await bob.hangup();
    await waitFor(() => out.some((o) => o.topic === "call" && o.payload === "ENDED" && o.call?.id === call.id), 10_000, "ENDED");
    await sleep(300);
    assert.strictEqual(recordingsOf(call.id).length, 1, "one message, none more at the hang-up");
  });

  it("record every answered call: a call the node dials is recorded too (baresip answers, speaks and hangs up)", async () => {
    const bob = await caller("bob", 0);
    await bob.setAnswerMode("auto");
    const since = out.length;
    helper.getNode("callC").receive({ topic: "dial", payload: "bob" });
    const call = (
      await waitFor(
        () => out.slice(since).find((m) => m.topic === "call" && m.payload === "ANSWERED" && m.call?.direction === "outbound"),
        10_000,
        "ANSWERED",
      )
    ).call!;
    const m = await recordingOf(call.id, since);
    assert.strictEqual(m.recording!.reason, "hangup");
    assert.strictEqual(m.call!.direction, "outbound");
    assertHoldsTheSpeech(m);
  });
});
