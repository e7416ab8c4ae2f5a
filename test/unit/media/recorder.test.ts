// The recorder: what the remote side said, until hang-up, silence, a limit, a stop key or stop.
// Frames are pushed as RTP would deliver them (160 samples every 20 ms) on a manual clock.
import assert from "node:assert/strict";
import { EventEmitter } from "events";
import { ManualClock } from "../../support/manual-clock";
import {
  DEFAULT_RECORDING_MS,
  MAX_GAP_FILL_MS,
  MAX_RECORDING_BYTES,
  MAX_RECORDING_MS,
  MIN_SILENCE_MS,
  Recorder,
  WAV_HEADER_BYTES,
  recorderLimits,
} from "../../../src/media/recorder";
import { CallRecording } from "../../../src/call/call-recording";
import { parseWav } from "../../../src/speech/wav";
import type { Call } from "../../../src/call/call";

const tone = (amp: number) => {
  const f = new Int16Array(160);
  for (let i = 0; i < 160; i++) f[i] = Math.round(amp * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return f;
};
const SPEECH = tone(8000); // about -13 dBm0
const QUIET = tone(100); // about -51 dBm0: line noise

/** Pushes `frames` frames of `pcm`, one per 20 ms, with RTP timing. */
function feed(rec: Recorder, clock: ManualClock, pcm: Int16Array, frames: number, rtp: { ts: number }) {
  for (let i = 0; i < frames; i++) {
    rec.push(pcm, { ssrc: 7, timestamp: rtp.ts });
    rtp.ts += 160;
    clock.advance(20);
  }
}

describe("media/recorder: Recorder", () => {
  it("limits: defaults, hard caps, silence floor", () => {
    const d = recorderLimits({});
    assert.equal(d.maxMs, DEFAULT_RECORDING_MS);
    assert.equal(d.silenceMs, 0, "silence detection is off unless asked");
    const huge = recorderLimits({ maxMs: 1e12, maxBytes: 1e12, silenceMs: 5 });
    assert.equal(huge.maxMs, MAX_RECORDING_MS);
    assert.equal(huge.maxSamples, (MAX_RECORDING_BYTES - WAV_HEADER_BYTES) / 2);
    assert.equal(huge.silenceMs, MIN_SILENCE_MS);
    assert.equal(recorderLimits({ maxMs: NaN, maxBytes: -3 }).maxMs, DEFAULT_RECORDING_MS);
  });

  it("silence: counted only after the first speech, then ends after silenceMs without speech", async () => {
    const clock = new ManualClock();
    const rec = new Recorder({ silenceMs: 1000 }, clock);
    const rtp = { ts: 1000 };
    feed(rec, clock, QUIET, 150, rtp); // 3 s of line noise before the caller speaks: not the end
    assert.equal(rec.active, true);
    feed(rec, clock, SPEECH, 50, rtp); // 1 s of speech
    feed(rec, clock, QUIET, 48, rtp); // 980 ms since the last speech frame arrived: not yet
    assert.equal(rec.active, true);
    feed(rec, clock, SPEECH, 10, rtp); // speech again resets the count
    feed(rec, clock, QUIET, 48, rtp);
    assert.equal(rec.active, true);
    feed(rec, clock, QUIET, 1, rtp); // 1000 ms
    assert.equal(rec.active, false);
    const r = await rec.finished;
    assert.equal(r.reason, "silence");
    assert.equal(r.pcm.length, (150 + 50 + 48 + 10 + 49) * 160);
    assert.equal(r.durationMs, (150 + 50 + 48 + 10 + 49) * 20);
    assert.deepEqual(r.pcm.subarray(150 * 160, 151 * 160), SPEECH, "the audio is what was pushed");
  });

  it("silence: a peer that stops sending RTP after speaking still ends by silence (the clock, not frames)", async () => {
    const clock = new ManualClock();
    const rec = new Recorder({ silenceMs: 2000 }, clock);
    feed(rec, clock, SPEECH, 10, { ts: 0 });
    clock.advance(1970);
    assert.equal(rec.active, true);
    clock.advance(10);
    assert.equal((await rec.finished).reason, "silence");
  });

  it("max: by time on the clock, even when no RTP arrives", async () => {
    const clock = new ManualClock();
    const rec = new Recorder({ maxMs: 3000 }, clock);
    feed(rec, clock, SPEECH, 50, { ts: 0 });
    clock.advance(2000);
    const r = await rec.finished;
    assert.equal(r.reason, "max");
    assert.equal(r.durationMs, 1000);
    assert.equal(clock.timers.size, 0, "no timer left");
  });

  it("max: by samples, cut at exactly maxMs of audio", async () => {
    const clock = new ManualClock();
    const rec = new Recorder({ maxMs: 1010 }, clock);
    for (let i = 0; i < 60; i++) rec.push(SPEECH); // faster than real time (a burst)
    const r = await rec.finished;
    assert.equal(r.reason, "max");
    assert.equal(r.pcm.length, 8080);
    assert.equal(clock.timers.size, 0);
  });

  it("bytes: maxBytes caps the WAV (header included), reason max", async () => {
    const clock = new ManualClock();
    const rec = new Recorder({ maxBytes: WAV_HEADER_BYTES + 1000 }, clock);
    feed(rec, clock, SPEECH, 10, { ts: 0 });
    const r = await rec.finished;
    assert.equal(r.reason, "max");
    assert.equal(r.pcm.length * 2 + WAV_HEADER_BYTES, WAV_HEADER_BYTES + 1000);
  });

  it("key: a configured stop key ends it (any case), other keys do not", async () => {
    const clock = new ManualClock();
    const rec = new Recorder({ stopKeys: "#a" }, clock);
    feed(rec, clock, SPEECH, 5, { ts: 0 });
    rec.key("5");
    rec.key("*");
    assert.equal(rec.active, true);
    rec.key("A");
    const r = await rec.finished;
    assert.equal(r.reason, "key");
    assert.equal(r.key, "A");
    assert.equal(r.pcm.length, 5 * 160);
    const none = new Recorder({}, clock);
    none.key("#");
    assert.equal(none.active, true, "no stop keys by default");
    none.end("stop");
  });

  it("stop and hang-up: the first reason wins, nothing is recorded afterwards, timers cleared", async () => {
    const clock = new ManualClock();
    const rec = new Recorder({ silenceMs: 500, maxMs: 10_000 }, clock);
    feed(rec, clock, SPEECH, 3, { ts: 0 });
    rec.end("stop");
    rec.end("hangup");
    rec.push(SPEECH);
    const r = await rec.finished;
    assert.equal(r.reason, "stop");
    assert.equal(r.pcm.length, 3 * 160);
    assert.equal(clock.timers.size, 0);
  });

  it("RTP timing: a lost packet becomes silence, a duplicate or late one is dropped, a stream restart is not filled", async () => {
    const clock = new ManualClock();
    const rec = new Recorder({}, clock);
    rec.push(SPEECH, { ssrc: 1, timestamp: 0 });
    rec.push(SPEECH, { ssrc: 1, timestamp: 320 }); // 160 lost: filled
    rec.push(SPEECH, { ssrc: 1, timestamp: 160 }); // late: dropped
    rec.push(SPEECH, { ssrc: 1, timestamp: 320 }); // duplicate: dropped
    rec.push(SPEECH, { ssrc: 1, timestamp: 480 + MAX_GAP_FILL_MS * 8 + 160 }); // a jump: not filled
    rec.push(SPEECH, { ssrc: 2, timestamp: 99 }); // another stream: appended
    rec.end("stop");
    const r = await rec.finished;
    assert.equal(r.pcm.length, 5 * 160);
    assert.ok(
      r.pcm.subarray(160, 320).every((s) => s === 0),
      "the lost frame is silence",
    );
  });
});

/** A Call as CallRecording sees it: state events, and an SDH whose RTP session emits audio. */
function fakeCall() {
  const rtp = new EventEmitter();
  const sdh = Object.assign(new EventEmitter(), { rtp });
  const call = Object.assign(new EventEmitter(), { sdh, active: true, snapshot: () => ({ id: "c1", state: "ENDED" }) });
  return { call, rtp, sdh, asCall: call as unknown as Call };
}

describe("call/call-recording: CallRecording", () => {
  it("records the call's RTP audio (and a new RTP session's), ends with hangup when the call ends, and writes the WAV", async () => {
    const f = fakeCall();
    const clock = new ManualClock();
    const written: { path: string; data: Buffer }[] = [];
    const rec = new CallRecording(f.asCall, { path: " /tmp/x.wav " }, clock, async (path, data) => {
      written.push({ path, data });
    });
    f.rtp.emit("audio", SPEECH, { ssrc: 1, seq: 1, timestamp: 0, marker: false });
    const rtp2 = new EventEmitter();
    f.sdh.emit("rtp", rtp2);
    rtp2.emit("audio", SPEECH, { ssrc: 2, seq: 1, timestamp: 0, marker: false });
    f.call.emit("state", "ENDED");
    const r = await rec.finished;
    assert.equal(r.reason, "hangup");
    assert.equal(r.call.id, "c1");
    assert.equal(r.bytes, r.wav.length);
    assert.equal(r.bytes, WAV_HEADER_BYTES + 2 * 320);
    const wav = parseWav(r.wav);
    assert.equal(wav.sampleRate, 8000);
    assert.equal(wav.channels, 1);
    assert.equal(wav.samples.length, 320);
    assert.equal(r.path, "/tmp/x.wav");
    assert.equal(written.length, 1);
    assert.ok(written[0].data.equals(r.wav));
    assert.equal(f.rtp.listenerCount("audio"), 0, "listeners removed");
    assert.equal(rtp2.listenerCount("audio"), 0);
    assert.equal(f.call.listenerCount("state"), 0);
    assert.equal(clock.timers.size, 0);
  });

  it("a file that cannot be written: the error is in the result, the WAV is still delivered", async () => {
    const f = fakeCall();
    const rec = new CallRecording(f.asCall, { path: "/nonexistent-dir/a.wav" }, new ManualClock(), () =>
      Promise.reject(new Error("ENOENT: no such file or directory")),
    );
    f.rtp.emit("audio", SPEECH, { ssrc: 1, seq: 1, timestamp: 0, marker: false });
    rec.stop();
    const r = await rec.finished;
    assert.equal(r.reason, "stop");
    assert.match(r.error ?? "", /ENOENT/);
    assert.equal(r.path, undefined);
    assert.equal(r.wav.length, WAV_HEADER_BYTES + 320);
  });

  it("the real file system: a write into a missing directory is reported, not thrown", async () => {
    const f = fakeCall();
    const rec = new CallRecording(f.asCall, { path: "/nonexistent-dir-for-sip-tests/a.wav" }, new ManualClock());
    rec.key("#"); // no stop keys: ignored
    rec.stop();
    const r = await rec.finished;
    assert.equal(r.reason, "stop");
    assert.match(r.error ?? "", /ENOENT/);
    assert.equal(r.durationMs, 0);
  });
});
