import assert from "node:assert/strict";
import { SAMPLES_PER_FRAME } from "../../../src/media/audio-format.js";
import { alaw, mulaw } from "alawmulaw";
import { codecOfPayloadType, decodeFrame, encodeFrame, encodeInto, payloadTypeOf, silenceFrame } from "../../../src/media/g711.js";

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

  // Our tables against an independent implementation (alawmulaw, a dev dependency), every input.
  const everySample = Int16Array.from({ length: 0x10000 }, (_, i) => (i << 16) >> 16);
  const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const [codec, reference] of [
    ["PCMU", mulaw],
    ["PCMA", alaw],
  ] as const) {
    it(`${codec} codes all 65536 samples and decodes all 256 bytes as the reference does`, () => {
      assert.deepEqual([...encodeFrame(codec, everySample)], [...reference.encode(everySample)]);
      assert.deepEqual([...decodeFrame(codec, everyByte)], [...reference.decode(everyByte)]);
    });
  }

  it("has the G.711 table values at the ends of the range", () => {
    // mu-law: 0 -> 0xFF, full scale -> 0x80 / 0x00, decoded +-32124; A-law: 0 -> 0xD5, decoded +-32256.
    assert.deepEqual([...encodeFrame("PCMU", Int16Array.of(0, 32767, -32768))], [0xff, 0x80, 0x00]);
    assert.deepEqual([...decodeFrame("PCMU", Uint8Array.of(0x80, 0x00))], [32124, -32124]);
    assert.deepEqual([...encodeFrame("PCMA", Int16Array.of(0, 32767, -32768))], [0xd5, 0xaa, 0x2a]);
    assert.deepEqual([...decodeFrame("PCMA", Uint8Array.of(0xaa, 0x2a))], [32256, -32256]);
  });

  it("encodes into a packet at an offset without touching the bytes around it", () => {
    const out = Buffer.alloc(12 + 160 + 2, 0x11);
    encodeInto("PCMU", sine(8000, 440), out, 12);
    assert.deepEqual(out.subarray(12, 172), encodeFrame("PCMU", sine(8000, 440)));
    assert.ok(out.subarray(0, 12).every((b) => b === 0x11) && out.subarray(172).every((b) => b === 0x11));
  });
});
