import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { RtpSession } from "../../../src/media/rtp-session.js";
import { dtmfMethod, type DtmfCallPort, type DtmfFrameSource } from "../../../src/dtmf/methods.js";
import { encodeTelephoneEvent } from "../../../src/dtmf/rfc4733.js";
import { DtmfToneSource } from "../../../src/dtmf/tone-generator.js";

/** A call port that records what the methods do and lets the test feed RTP and INFO. */
function fakeCall() {
  const rtpListeners: ((rtp: RtpSession) => void)[] = [];
  const infoListeners: ((contentType: string, body: string) => void)[] = [];
  const infos: { contentType: string; body: string }[] = [];
  const played: { source: DtmfFrameSource; mix: boolean }[] = [];
  const port: DtmfCallPort = {
    onRtp: (l) => {
      rtpListeners.push(l);
    },
    onInfo: (l) => {
      infoListeners.push(l);
    },
    sendInfo: async (contentType, body) => {
      infos.push({ contentType, body });
    },
    play: async (source, mix) => {
      played.push({ source, mix });
      while (!source.done) source.nextFrame();
    },
  };
  const rtp = new EventEmitter();
  return {
    port,
    infos,
    played,
    /** A new RTP session of the call, as the description handler would announce it. */
    newRtp: () => {
      for (const l of rtpListeners) l(rtp as unknown as RtpSession);
      return rtp;
    },
    info: (contentType: string, body: string) => {
      for (const l of infoListeners) l(contentType, body);
    },
  };
}

function collect() {
  const keys: string[] = [];
  const warnings: string[] = [];
  return { keys, warnings, sink: { key: (d: string) => keys.push(d), warning: (t: string) => warnings.push(t) } };
}

describe("DTMF methods table", () => {
  it("finds each method by its option name, and nothing else", () => {
    for (const name of ["rfc4733", "info", "inband"]) assert.ok(dtmfMethod(name), name);
    for (const name of ["", "RFC4733", "sip-info", "toString", "__proto__", "constructor"]) assert.equal(dtmfMethod(name), undefined, name);
  });

  it("rfc4733: reports an event once across its packets, from every RTP session of the call", () => {
    const call = fakeCall();
    const out = collect();
    dtmfMethod("rfc4733")!.receive(call.port, out.sink);
    const rtp = call.newRtp();
    const ev = (seq: number, end: boolean) =>
      rtp.emit("event", encodeTelephoneEvent({ event: 11, end, volume: 10, duration: 160 * seq }), {
        ssrc: 7,
        seq,
        timestamp: 8000,
        marker: seq === 1,
        payloadType: 101,
      });
    ev(1, false);
    ev(2, false);
    ev(3, true);
    ev(4, true);
    assert.deepEqual(out.keys, ["#"]);
  });

  it("info: a key per DTMF body, a warning for a body that is not one", () => {
    const call = fakeCall();
    const out = collect();
    dtmfMethod("info")!.receive(call.port, out.sink);
    call.info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n");
    call.info("application/dtmf", "11");
    call.info("application/dtmf-relay", "Signal=Z\r\n");
    assert.deepEqual(out.keys, ["5", "#"]);
    assert.equal(out.warnings.length, 1);
    assert.match(out.warnings[0], /^ignored a SIP INFO DTMF body: /);
  });

  it("inband: tones in the received audio become keys", () => {
    const call = fakeCall();
    const out = collect();
    dtmfMethod("inband")!.receive(call.port, out.sink);
    const rtp = call.newRtp();
    const tones = new DtmfToneSource("47", { durationMs: 100, gapMs: 80 });
    for (let pcm = tones.nextPcm(); pcm; pcm = tones.nextPcm()) rtp.emit("audio", pcm, { ssrc: 1, seq: 0, timestamp: 0, marker: false });
    for (let i = 0; i < 10; i++) rtp.emit("audio", new Int16Array(160), { ssrc: 1, seq: 0, timestamp: 0, marker: false });
    assert.deepEqual(out.keys, ["4", "7"]);
  });

  it("sends rfc4733 as events replacing the audio, inband as tones mixed into it", async () => {
    const call = fakeCall();
    await dtmfMethod("rfc4733")!.send(call.port, "1", { durationMs: 100, gapMs: 80 });
    await dtmfMethod("inband")!.send(call.port, "1", { durationMs: 100, gapMs: 80 });
    assert.deepEqual(
      call.played.map((p) => p.mix),
      [false, true],
    );
    assert.ok(call.played.every((p) => p.source.done));
    assert.equal(call.infos.length, 0);
  });

  it("sends info as one dtmf-relay INFO per key, spaced by duration + gap", async () => {
    const call = fakeCall();
    const started = Date.now();
    await dtmfMethod("info")!.send(call.port, "4#", { durationMs: 20, gapMs: 10 });
    assert.ok(Date.now() - started >= 2 * 30 - 5, "waits between keys");
    assert.deepEqual(call.infos, [
      { contentType: "application/dtmf-relay", body: "Signal=4\r\nDuration=20\r\n" },
      { contentType: "application/dtmf-relay", body: "Signal=#\r\nDuration=20\r\n" },
    ]);
    assert.equal(call.played.length, 0);
  });
});
