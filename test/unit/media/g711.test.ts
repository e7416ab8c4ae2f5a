import assert from "node:assert/strict";
import { SAMPLES_PER_FRAME } from "../../../src/media/audio-format.js";
import { codecOfPayloadType, decodeFrame, encodeFrame, payloadTypeOf, silenceFrame } from "../../../src/media/g711.js";

function sine(amplitude: number, hz: number): Int16Array {
  const pcm = new Int16Array(SAMPLES_PER_FRAME);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000));
  return pcm;
}

function snrDb(reference: Int16Array, decoded: Int16Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < reference.length; i++) {
    signal += reference[i] ** 2;
    noise += (reference[i] - decoded[i]) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

describe("media/g711", () => {
  it("maps codecs to static payload types and back", () => {
    assert.equal(payloadTypeOf("PCMU"), 0);
    assert.equal(payloadTypeOf("PCMA"), 8);
    assert.equal(codecOfPayloadType(0), "PCMU");
    assert.equal(codecOfPayloadType(8), "PCMA");
    assert.equal(codecOfPayloadType(18), null);
  });

  it("encodes one byte per sample", () => {
    const out = encodeFrame("PCMU", sine(8000, 440));
    assert.ok(Buffer.isBuffer(out));
    assert.equal(out.length, 160);
  });

  it("has the standard silence bytes (0xFF for PCMU, 0xD5 for PCMA) and caches them", () => {
    const u = silenceFrame("PCMU");
    const a = silenceFrame("PCMA");
    assert.equal(u.length, 160);
    assert.equal(a.length, 160);
    assert.ok(u.every((b) => b === 0xff));
    assert.ok(a.every((b) => b === 0xd5));
    assert.equal(silenceFrame("PCMU"), u);
  });

  for (const codec of ["PCMU", "PCMA"] as const) {
    it(`${codec} round trip keeps a 440 Hz tone (SNR > 30 dB)`, () => {
      const pcm = sine(12000, 440);
      const decoded = decodeFrame(codec, encodeFrame(codec, pcm));
      assert.equal(decoded.length, 160);
      assert.ok(snrDb(pcm, decoded) > 30, `SNR ${snrDb(pcm, decoded)}`);
    });

    it(`${codec} decodes silence to (near) zero`, () => {
      const decoded = decodeFrame(codec, silenceFrame(codec));
      assert.ok(decoded.every((s) => Math.abs(s) <= 8));
    });
  }

  it("PCMU and PCMA produce different bytes for the same audio", () => {
    const pcm = sine(5000, 1000);
    assert.notDeepEqual(encodeFrame("PCMU", pcm), encodeFrame("PCMA", pcm));
  });
});
