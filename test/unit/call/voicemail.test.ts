// Voicemail orchestration against a fake phone: greeting → beep → record → hang up → transcript.
import assert from "assert";
import path from "path";
import {
  beepWav,
  BEEP_HZ,
  BEEP_MS,
  runVoicemail,
  voicemailFileName,
  type VoicemailPhone,
  type VoicemailRecording,
} from "../../../src/call/voicemail";
import { parseWav } from "../../../src/speech/wav";
import type { CallInfo } from "../../../src";

const info: CallInfo = {
  id: "c1",
  direction: "inbound",
  state: "ANSWERED",
  startedAt: "2026-01-01T00:00:00.000Z",
  from: { number: "../../etc/0301234", name: "Bob", uri: "sip:0301234@127.0.0.1" },
  to: { number: "alice", name: "", uri: "sip:alice@127.0.0.1" },
};

function fakePhone(o: { hangUpDuringGreeting?: boolean } = {}) {
  const log: string[] = [];
  let active = true;
  let recordOptions: Parameters<VoicemailPhone["record"]>[1];
  const recording: VoicemailRecording = {
    wav: Buffer.from("WAV"),
    call: info,
    durationMs: 3000,
    bytes: 48044,
    reason: "key",
    key: "#",
    startedAt: new Date(5000),
  };
  const done = { finished: Promise.resolve(false) };
  const phone: VoicemailPhone = {
    say: (_id, text, opts) => {
      log.push(`say ${text} ${opts?.language ?? ""}`);
      if (o.hangUpDuringGreeting) active = false;
      return Promise.resolve(done);
    },
    play: (_id, audio) => {
      log.push(typeof audio === "string" ? `play ${audio}` : `play beep ${audio.length}`);
      return Promise.resolve(done);
    },
    record: (_id, opts) => {
      recordOptions = opts;
      log.push("record");
      return { finished: Promise.resolve(recording), stop: () => log.push("stop") };
    },
    hangup: (_id, end) => {
      log.push(`hangup ${end?.reason}`);
      active = false;
      return Promise.resolve();
    },
    call: () => (active ? info : undefined),
  };
  return { phone, log, recording, options: () => recordOptions };
}

describe("voicemail", () => {
  it("greets, beeps, records until # / silence / max, hangs up, then transcribes", async () => {
    const f = fakePhone();
    const engine = { name: "t", transcribe: (wav: Buffer, o: { language?: string }) => Promise.resolve(`${wav.toString()} ${o.language}`) };
    const r = await runVoicemail(f.phone, "c1", {
      greeting: "Leave a message",
      language: "en-GB",
      maxSeconds: 30,
      silenceSeconds: 4,
      engine,
      folder: "/var/vm",
    });
    assert.deepStrictEqual(f.log, ["say Leave a message en-GB", `play beep ${beepWav().length}`, "record", "hangup voicemail recorded"]);
    const opts = f.options()!;
    assert.strictEqual(opts.maxMs, 30_000);
    assert.strictEqual(opts.silenceMs, 4000);
    assert.strictEqual(opts.stopKeys, "#");
    assert.strictEqual(path.dirname(opts.path!), "/var/vm", "the caller's number cannot leave the folder");
    assert.match(path.basename(opts.path!), /^voicemail-\d{4}-\d\d-\d\dT[\d-]+Z-etc0301234\.wav$/);
    assert.strictEqual(r?.transcript, "WAV en-GB");
    assert.strictEqual(r?.recording, f.recording);
    assert.strictEqual(r?.receivedAt.getTime(), 5000);
  });

  it("a greeting naming a .wav is played; no engine → no transcript; a failing engine → transcriptError", async () => {
    const f = fakePhone();
    const r = await runVoicemail(f.phone, "c1", { greeting: "/srv/greeting.WAV" });
    assert.strictEqual(f.log[0], "play /srv/greeting.WAV");
    assert.ok(r && !("transcript" in r && r.transcript !== undefined) && r.transcriptError === undefined);
    const g = fakePhone();
    const broken = { name: "cmd", transcribe: () => Promise.reject(new Error("exit 1")) };
    const r2 = await runVoicemail(g.phone, "c1", { engine: broken });
    assert.strictEqual(r2?.transcript, undefined);
    assert.strictEqual(r2?.transcriptError, "speech-to-text (cmd) failed: exit 1");
  });

  it("nothing is recorded when the caller hangs up during the greeting", async () => {
    const f = fakePhone({ hangUpDuringGreeting: true });
    assert.strictEqual(await runVoicemail(f.phone, "c1", { greeting: "Hi" }), undefined);
    assert.deepStrictEqual(f.log, ["say Hi "]);
  });

  it("the beep is a 250 ms 1 kHz tone at 8 kHz", () => {
    const w = parseWav(beepWav());
    assert.strictEqual(w.sampleRate, 8000);
    assert.strictEqual(w.samples.length, (8000 * BEEP_MS) / 1000);
    // zero crossings ≈ 2 per cycle
    let zc = 0;
    for (let i = 1; i < w.samples.length; i++) if (w.samples[i - 1] < 0 !== w.samples[i] < 0) zc++;
    assert.ok(Math.abs(zc - (2 * BEEP_HZ * BEEP_MS) / 1000) <= 2, `zero crossings ${zc}`);
    assert.strictEqual(voicemailFileName(new Date(0), "<script>"), "voicemail-1970-01-01T00-00-00-000Z-script.wav");
  });
});
