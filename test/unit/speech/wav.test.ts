import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  encodeWav,
  parseWav,
  WavFormatError,
  MAX_AUDIO_SECONDS,
  MAX_WAV_CHANNELS,
  MAX_WAV_DECODED_SAMPLES,
  MAX_WAV_SAMPLE_RATE,
  MIN_WAV_SAMPLE_RATE,
} from "../../../src/speech/wav";
import { makeTmpDir, sox } from "./helpers";

/** sox's own decoding of a file, down-mixed to mono float: the independent reference. */
function soxReference(file: string): Float32Array {
  const raw = sox([file, "-t", "f32", "-c", "1", "-"]);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.strictEqual(a.length, b.length, "sample count");
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function chunk(id: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, "latin1");
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function riff(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from("WAVE", "latin1"), ...chunks]);
  const head = Buffer.alloc(8);
  head.write("RIFF", 0, "latin1");
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

function fmtChunk(format: number, channels: number, rate: number, bits: number, extra?: Buffer): Buffer {
  const b = Buffer.alloc(16);
  const align = (channels * bits) / 8;
  b.writeUInt16LE(format, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE(rate * align, 8);
  b.writeUInt16LE(align, 12);
  b.writeUInt16LE(bits, 14);
  return chunk("fmt ", extra ? Buffer.concat([b, extra]) : b);
}

function int16Data(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

describe("speech/wav", () => {
  let dir: string;
  before(() => {
    dir = makeTmpDir("wav-test-");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("files written by sox, compared with sox's own decoding", () => {
    const cases: { name: string; args: string[]; encoding: string; bits: number; channels: number; rate: number; tol: number }[] = [
      { name: "8-bit unsigned PCM", args: ["-b", "8", "-e", "unsigned-integer"], encoding: "pcm", bits: 8, channels: 1, rate: 16000, tol: 1e-6 },
      { name: "16-bit PCM", args: ["-b", "16", "-e", "signed-integer"], encoding: "pcm", bits: 16, channels: 1, rate: 16000, tol: 1e-6 },
      { name: "24-bit PCM (extensible)", args: ["-b", "24", "-e", "signed-integer"], encoding: "pcm", bits: 24, channels: 1, rate: 48000, tol: 1e-6 },
      { name: "32-bit PCM (extensible)", args: ["-b", "32", "-e", "signed-integer"], encoding: "pcm", bits: 32, channels: 1, rate: 22050, tol: 1e-6 },
      { name: "32-bit float", args: ["-b", "32", "-e", "floating-point"], encoding: "float", bits: 32, channels: 1, rate: 16000, tol: 1e-6 },
      { name: "64-bit float", args: ["-b", "64", "-e", "floating-point"], encoding: "float", bits: 64, channels: 1, rate: 16000, tol: 1e-6 },
      { name: "mu-law", args: ["-e", "mu-law"], encoding: "mulaw", bits: 8, channels: 1, rate: 8000, tol: 1e-6 },
      { name: "A-law", args: ["-e", "a-law"], encoding: "alaw", bits: 8, channels: 1, rate: 8000, tol: 1e-6 },
      { name: "stereo 44.1 kHz 16-bit", args: ["-b", "16", "-c", "2"], encoding: "pcm", bits: 16, channels: 2, rate: 44100, tol: 1e-4 },
      { name: "stereo 24-bit", args: ["-b", "24", "-c", "2"], encoding: "pcm", bits: 24, channels: 2, rate: 44100, tol: 1e-4 },
      { name: "4 channels (extensible)", args: ["-b", "16", "-c", "4"], encoding: "pcm", bits: 16, channels: 4, rate: 16000, tol: 1e-4 },
    ];
    for (const c of cases) {
      it(`parses ${c.name}`, () => {
        const file = path.join(dir, `${c.name.replace(/\W+/g, "_")}.wav`);
        // Different tones per channel so that a wrong down-mix shows up.
        const synth = c.channels > 1 ? ["sine", "440", "sine", "1000", "sine", "300", "sine", "2000"].slice(0, c.channels * 2) : ["sine", "440"];
        sox(["-n", "-r", String(c.rate), ...c.args, file, "synth", "0.25", ...synth, "vol", "0.7"]);
        const wav = parseWav(fs.readFileSync(file));
        assert.strictEqual(wav.sampleRate, c.rate);
        assert.strictEqual(wav.channels, c.channels);
        assert.strictEqual(wav.encoding, c.encoding);
        assert.strictEqual(wav.bitsPerSample, c.bits);
        assert.ok(Math.abs(wav.samples.length - c.rate * 0.25) <= 1, `length ${wav.samples.length}`);
        const ref = soxReference(file);
        assert.ok(maxDiff(wav.samples, ref) <= c.tol, `max difference ${maxDiff(wav.samples, ref)}`);
        let peak = 0;
        for (const v of wav.samples) peak = Math.max(peak, Math.abs(v));
        assert.ok(peak > 0.2, "not silent");
      });
    }

    it("rejects MS ADPCM with a clear message", () => {
      const file = path.join(dir, "adpcm.wav");
      sox(["-n", "-r", "8000", "-e", "ms-adpcm", file, "synth", "0.1", "sine", "440"]);
      assert.throws(
        () => parseWav(fs.readFileSync(file)),
        (e: Error) => e instanceof WavFormatError && /MS ADPCM is not supported/.test(e.message),
      );
    });
  });

  describe("hand-built files", () => {
    it("round-trips encodeWav", () => {
      const pcm = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
      const wav = parseWav(encodeWav(pcm, 8000));
      assert.strictEqual(wav.sampleRate, 8000);
      assert.deepStrictEqual(
        Array.from(wav.samples, (v) => Math.round(v * 32768)),
        Array.from(pcm),
      );
      assert.strictEqual(encodeWav(pcm, 8000).length, 44 + pcm.length * 2);
    });

    it("skips LIST, fact and odd-sized unknown chunks, even before fmt", () => {
      const buf = riff(
        chunk("LIST", Buffer.from("INFOISFT\x05\x00\x00\x00test\x00", "latin1")),
        chunk("junk", Buffer.alloc(3, 0xaa)), // odd size: followed by a pad byte
        fmtChunk(1, 1, 8000, 16),
        chunk("fact", Buffer.alloc(4)),
        chunk("data", int16Data([100, -200, 300])),
        chunk("id3 ", Buffer.alloc(10)),
      );
      const wav = parseWav(buf);
      assert.deepStrictEqual(
        Array.from(wav.samples, (v) => Math.round(v * 32768)),
        [100, -200, 300],
      );
    });

    it("accepts data before fmt", () => {
      const wav = parseWav(riff(chunk("data", int16Data([5, 6])), fmtChunk(1, 1, 11025, 16)));
      assert.strictEqual(wav.sampleRate, 11025);
      assert.strictEqual(wav.samples.length, 2);
    });

    it("uses the bytes present when the data size is too large (streamed or truncated file)", () => {
      const buf = riff(fmtChunk(1, 1, 8000, 16), chunk("data", int16Data([1, 2, 3, 4])));
      buf.writeUInt32LE(0xffffffff, buf.length - 8 - 4); // data chunk size field
      const wav = parseWav(buf.subarray(0, buf.length - 1)); // and cut half a sample
      assert.strictEqual(wav.samples.length, 3);
    });

    it("reads WAVE_FORMAT_EXTENSIBLE with an A-law sub-format and down-mixes stereo", () => {
      const ext = Buffer.alloc(24);
      ext.writeUInt16LE(22, 0); // cbSize
      ext.writeUInt16LE(8, 2); // valid bits
      ext.writeUInt32LE(3, 4); // channel mask FL|FR
      Buffer.from([0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]).copy(ext, 8);
      // A-law 0xd5 decodes to +8, 0x55 to -8: the stereo pair averages to 0.
      const wav = parseWav(riff(fmtChunk(0xfffe, 2, 8000, 8, ext), chunk("data", Buffer.from([0xd5, 0x55, 0xd5, 0xd5]))));
      assert.strictEqual(wav.encoding, "alaw");
      assert.strictEqual(wav.channels, 2);
      assert.deepStrictEqual(
        Array.from(wav.samples, (v) => Math.round(v * 32768)),
        [0, 8],
      );
    });

    it("replaces NaN/Inf and overs in float files", () => {
      const data = Buffer.alloc(16);
      [NaN, Infinity, 2, -0.5].forEach((v, i) => data.writeFloatLE(v, i * 4));
      const wav = parseWav(riff(fmtChunk(3, 1, 8000, 32), chunk("data", data)));
      assert.deepStrictEqual(Array.from(wav.samples), [0, 0, 1, -0.5]);
    });
  });

  describe("malformed input", () => {
    const bad: [string, Buffer, RegExp][] = [
      ["empty buffer", Buffer.alloc(0), /Not a WAV file/],
      ["text", Buffer.from("hello, this is not audio at all"), /Not a WAV file/],
      ["RIFF but not WAVE", Buffer.from("RIFF\x04\x00\x00\x00AVI ", "latin1"), /Not a WAV file/],
      ["big-endian RIFX", Buffer.from("RIFX\x04\x00\x00\x00WAVE", "latin1"), /RIFX .*not supported/],
      ["RF64", Buffer.from("RF64\x04\x00\x00\x00WAVE", "latin1"), /RF64 .*not supported/],
      ["no fmt chunk", riff(chunk("data", int16Data([1]))), /no "fmt " chunk/],
      ["no data chunk", riff(fmtChunk(1, 1, 8000, 16)), /no "data" chunk/],
      ["short fmt", riff(chunk("fmt ", Buffer.alloc(8)), chunk("data", Buffer.alloc(2))), /too short/],
      ["truncated fmt", riff(fmtChunk(1, 1, 8000, 16)).subarray(0, 30), /truncated/],
      ["zero channels", riff(fmtChunk(1, 0, 8000, 16), chunk("data", Buffer.alloc(2))), /channel count/],
      ["zero rate", riff(fmtChunk(1, 1, 0, 16), chunk("data", Buffer.alloc(2))), /sample rate/],
      ["MP3 payload", riff(fmtChunk(0x55, 1, 8000, 16), chunk("data", Buffer.alloc(2))), /MP3 is not supported/],
      ["16-bit mu-law", riff(fmtChunk(7, 1, 8000, 16), chunk("data", Buffer.alloc(2))), /16 bits is not supported/],
      ["16-bit float", riff(fmtChunk(3, 1, 8000, 16), chunk("data", Buffer.alloc(2))), /float size of 16 bits/],
      ["bad extensible GUID", riff(fmtChunk(0xfffe, 1, 8000, 16, Buffer.alloc(24)), chunk("data", Buffer.alloc(2))), /unknown sub-format/],
    ];
    for (const [name, buf, re] of bad) {
      it(`rejects ${name}`, () => {
        assert.throws(
          () => parseWav(buf),
          (e: Error) => e instanceof WavFormatError && re.test(e.message),
          `expected ${re}`,
        );
      });
    }

    it("rejects a blockAlign that does not fit the channels", () => {
      const fmt = fmtChunk(1, 2, 8000, 16);
      fmt.writeUInt16LE(3, 8 + 12);
      assert.throws(() => parseWav(riff(fmt, chunk("data", Buffer.alloc(6)))), /block align 3/);
    });
  });
});

describe("speech/wav limits (issue 8)", () => {
  function wavWith(rate: number, channels: number, bits: number, dataBytes: number): Buffer {
    const fmt = Buffer.alloc(16);
    fmt.writeUInt16LE(1, 0);
    fmt.writeUInt16LE(channels, 2);
    fmt.writeUInt32LE(rate, 4);
    fmt.writeUInt32LE((rate * channels * bits) / 8, 8);
    fmt.writeUInt16LE((channels * bits) / 8, 12);
    fmt.writeUInt16LE(bits, 14);
    const head = Buffer.alloc(12);
    head.write("RIFF", 0, "latin1");
    head.writeUInt32LE(4 + 8 + 16 + 8 + dataBytes, 4);
    head.write("WAVE", 8, "latin1");
    const fmtHead = Buffer.from("fmt \x10\x00\x00\x00", "latin1");
    const dataHead = Buffer.alloc(8);
    dataHead.write("data", 0, "latin1");
    dataHead.writeUInt32LE(dataBytes, 4);
    return Buffer.concat([head, fmtHead, fmt, dataHead, Buffer.alloc(dataBytes)]);
  }

  it("refuses a 4 KB WAV with a 1 Hz rate (it would expand to tens of MiB)", () => {
    assert.throws(
      () => parseWav(wavWith(1, 1, 16, 4096)),
      (e: Error) => e instanceof WavFormatError && /sample rate \(1 Hz; 4000 to 192000 Hz supported\)/.test(e.message),
    );
  });

  it("refuses absurd rates, channel counts and bit depths", () => {
    assert.throws(() => parseWav(wavWith(MIN_WAV_SAMPLE_RATE - 1, 1, 16, 64)), /sample rate/);
    assert.throws(() => parseWav(wavWith(MAX_WAV_SAMPLE_RATE + 1, 1, 16, 64)), /sample rate/);
    assert.throws(() => parseWav(wavWith(8000, MAX_WAV_CHANNELS + 1, 16, 64 * 18)), /channel count/);
    const lying = wavWith(8000, 1, 16, 64);
    lying.writeUInt16LE(32, 12 + 8 + 14); // 32 bits claimed in a 16-bit container
    assert.throws(() => parseWav(lying), /32 bits in a 16-bit sample/);
    assert.equal(parseWav(wavWith(MIN_WAV_SAMPLE_RATE, 1, 16, 64)).samples.length, 32);
  });

  it("refuses more than MAX_AUDIO_SECONDS of audio, with a clear error", () => {
    const frames = MIN_WAV_SAMPLE_RATE * (MAX_AUDIO_SECONDS + 1);
    assert.throws(() => parseWav(wavWith(MIN_WAV_SAMPLE_RATE, 1, 8, frames)), /too long \(601 s; at most 600 s/);
    assert.equal(
      parseWav(wavWith(MIN_WAV_SAMPLE_RATE, 1, 8, MIN_WAV_SAMPLE_RATE * MAX_AUDIO_SECONDS)).samples.length,
      MIN_WAV_SAMPLE_RATE * MAX_AUDIO_SECONDS,
    );
  });

  it("refuses files that would decode to more than MAX_WAV_DECODED_SAMPLES", () => {
    // 8 channels × 48 kHz × 90 s = 34.6 M samples, within the duration limit
    const frames = 48000 * 90;
    assert.ok(frames * 8 > MAX_WAV_DECODED_SAMPLES);
    assert.throws(() => parseWav(wavWith(48000, 8, 8, frames * 8)), /too large to decode/);
  });
});
