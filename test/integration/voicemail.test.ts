// Voicemail mode from a Node-RED flow: baresip calls us through Kamailio, its microphone a WAV of a
// spoken sentence (made with Pico); the sip-call node greets, beeps, records, hangs up and sends ONE
// "voicemail" message with the WAV, msg.voicemail, msg.call and a transcript from pocketsphinx.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { concatPcm } from "../support/pcm";
import { waitFor } from "../support/wait";
import { writeWav } from "../support/wav";
import { speechMatch } from "../support/audio-match";
import { SpeechService, parseWav } from "../../src/speech";
import { floatToInt16 } from "../../src/speech/pcm";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

/** Recognised reliably by pocketsphinx's en-us model through G.711 (checked by hand; "pizza" is the word asserted). */
const SENTENCE = "This is a message for the office. I would like to order a pizza.";
const POCKETSPHINX = "pocketsphinx_continuous -infile {file} -logfn /dev/null";

interface Msg {
  topic?: string;
  payload?: unknown;
  transcript?: string;
  transcriptError?: string;
  voicemail?: { durationMs: number; reason: string; receivedAt: string; bytes: number; path?: string };
  call?: { id: string; from: { number: string }; state: string };
  label?: string;
}

const silence = (s: number) => new Int16Array(Math.round(8000 * s));

describe("voicemail mode (flow, Kamailio, baresip, pocketsphinx)", function () {
  this.timeout(90_000);
  let kam: Kamailio;
  let dir: string;
  let speech: SpeechService;
  let spoken: Int16Array;
  let got: Msg[];
  const peers: Baresip[] = [];

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob", carol: "pw-carol" } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "voicemail-test-"));
    speech = new SpeechService({});
    spoken = await speech.synthesize({ text: SENTENCE, language: "en-US" });
  });
  after(async () => {
    await speech?.close();
    await kam?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await stopRed();
    for (const p of peers.splice(0)) await p.stop();
  });

  async function flow(voicemail: Record<string, unknown>): Promise<void> {
    await startRed();
    await helper.load(
      [sipClient, sipCall],
      [
        { id: "acct", type: "sip-client", server: "127.0.0.1", port: String(kam.ports.udp), transport: "udp", username: "alice", expires: "60" },
        { id: "call", type: "sip-call", client: "acct", voicemail: true, vmGreeting: "Hi.", vmMaxSeconds: 30, ...voicemail, wires: [["out"]] },
        { id: "out", type: "helper" },
      ],
      { acct: { password: "secret" } },
    );
    got = [];
    helper.getNode("out").on("input", (m: Msg) => got.push(m));
    await waitFor(() => got.some((m) => m.payload === "REGISTERED"), 10_000, "REGISTERED");
  }

  it("greeting, beep, the caller's sentence recorded until silence, hang-up, one message with WAV, caller and transcript", async () => {
    const folder = path.join(dir, "box");
    fs.mkdirSync(folder);
    await flow({ vmSilenceSeconds: 3, vmFolder: folder, sttEngine: "command", sttCommand: POCKETSPHINX, sttSampleRate: 16000 });
    // The microphone: quiet while greeting and beep play, the sentence, then silence (our silence limit ends it).
    const mic = path.join(dir, "bob-mic.wav");
    writeWav(mic, concatPcm([silence(2.5), spoken, silence(8)]), 8000, 1);
    const bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, audioFile: mic });
    peers.push(bob);
    await bob.waitRegistered();
    await bob.dial(kam.uri("alice"));

    await waitFor(() => got.some((m) => m.topic === "voicemail"), 45_000, "the voicemail message");
    const vms = got.filter((m) => m.topic === "voicemail");
    assert.strictEqual(vms.length, 1, "one message");
    const vm = vms[0];
    assert.ok(Buffer.isBuffer(vm.payload));
    const wav = parseWav(vm.payload);
    assert.strictEqual(wav.sampleRate, 8000);
    const match = speechMatch(spoken, floatToInt16(wav.samples));
    assert.ok(match.score > 0.8, `the sentence is in the recording: score ${match.score.toFixed(2)}`);
    assert.strictEqual(vm.voicemail?.reason, "silence");
    assert.ok(Math.abs(vm.voicemail.durationMs - wav.samples.length / 8) < 100, `durationMs ${vm.voicemail.durationMs}`);
    assert.strictEqual(vm.voicemail?.bytes, vm.payload.length);
    assert.ok(!Number.isNaN(Date.parse(vm.voicemail.receivedAt)) && vm.voicemail.receivedAt.endsWith("Z"));
    assert.strictEqual(path.dirname(vm.voicemail.path!), folder);
    assert.ok(fs.readFileSync(vm.voicemail.path!).equals(vm.payload), "the same WAV written to the folder");
    assert.strictEqual(vm.call?.from.number, "bob");
    assert.match(String(vm.transcript), /\bpizza\b/, `transcript: ${vm.transcript}`);
    assert.strictEqual(vm.transcriptError, undefined);
    // We hung up, and the message came after the call ended.
    const ended = got.findIndex((m) => m.topic === "call" && m.payload === "ENDED");
    assert.ok(ended >= 0 && ended < got.indexOf(vm), "ENDED before the voicemail message");
    assert.strictEqual((got[ended].call as unknown as { hungUpBy?: string }).hungUpBy, "local");
  });

  it('"#" ends the recording (reason key); a failing speech-to-text command gives transcriptError, the message still comes', async () => {
    await flow({ vmSilenceSeconds: 0, sttEngine: "command", sttCommand: "no-such-stt-program-4711 {file}" });
    // The default microphone: a 440 Hz tone for 60 s (never silent).
    const carol = await startBaresip({ user: "carol", password: "pw-carol", kamailio: kam });
    peers.push(carol);
    await carol.waitRegistered();
    await carol.dial(kam.uri("alice"));
    // Greeting and beep played: recording has started.
    await waitFor(() => got.filter((m) => m.topic === "playback" && m.payload === "finished").length >= 2, 20_000, "greeting and beep");
    await new Promise((r) => setTimeout(r, 1500));
    await carol.sndcode("#");
    await waitFor(() => got.some((m) => m.topic === "voicemail"), 20_000, "the voicemail message");
    const vm = got.find((m) => m.topic === "voicemail")!;
    assert.strictEqual(vm.voicemail?.reason, "key");
    assert.ok(vm.voicemail.durationMs >= 1000 && vm.voicemail.durationMs < 10_000, `durationMs ${vm.voicemail.durationMs}`);
    assert.ok(!("transcript" in vm), "no transcript");
    assert.match(String(vm.transcriptError), /no-such-stt-program-4711.*not found/);
    assert.strictEqual(vm.voicemail?.path, undefined, "no folder, no file");
    assert.strictEqual(vm.call?.from.number, "carol");
  });
});
