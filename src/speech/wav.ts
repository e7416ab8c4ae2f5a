// WAV (RIFF/WAVE) reading for user-supplied prompts, and a minimal 16-bit writer.
import { decodeFrame } from "../media/g711";

export type WavEncoding = "pcm" | "float" | "alaw" | "mulaw";

export interface WavAudio {
  sampleRate: number;
  /** Channels in the file; `samples` is always down-mixed to mono. */
  channels: number;
  encoding: WavEncoding;
  /** Container size of one sample, bits (8, 16, 24, 32, 64). */
  bitsPerSample: number;
  /** Mono samples, full scale = 1. */
  samples: Float32Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;
const FORMAT_NAMES: Record<number, string> = {
  2: "MS ADPCM",
  0x11: "IMA ADPCM",
  0x31: "GSM 6.10",
  0x50: "MPEG",
  0x55: "MP3",
};
// Bytes 2..15 of every KSDATAFORMAT_SUBTYPE GUID derived from a WAVE format tag.
const SUBTYPE_TAIL = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);
/**
 * Limits on what a WAV may make us allocate (issue 8): a tiny file with a 1 Hz rate would otherwise
 * resample to tens of MiB. Telephone audio is 8 kHz mono; anything sane converts down to it.
 */
export const MIN_WAV_SAMPLE_RATE = 4000;
export const MAX_WAV_SAMPLE_RATE = 192_000;
export const MAX_WAV_CHANNELS = 8;
/** Longest prompt played, seconds (10 minutes). */
export const MAX_AUDIO_SECONDS = 600;
/** Samples decoded at most (all channels; 128 MiB as floats): long hi-fi files must be converted first. */
export const MAX_WAV_DECODED_SAMPLES = 32 * 1024 * 1024;

export class WavFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WavFormatError";
  }
}

interface Fmt {
  format: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function parseFmt(buf: Buffer, start: number, size: number): Fmt {
  if (size < 16) throw new WavFormatError(`WAV "fmt " chunk is too short (${size} bytes)`);
  const fmt: Fmt = {
    format: buf.readUInt16LE(start),
    channels: buf.readUInt16LE(start + 2),
    sampleRate: buf.readUInt32LE(start + 4),
    blockAlign: buf.readUInt16LE(start + 12),
    bitsPerSample: buf.readUInt16LE(start + 14),
  };
  if (fmt.format === FORMAT_EXTENSIBLE) {
    if (size < 40) throw new WavFormatError("WAV WAVE_FORMAT_EXTENSIBLE header is too short");
    const guid = buf.subarray(start + 24, start + 40);
    if (!guid.subarray(2).equals(SUBTYPE_TAIL)) throw new WavFormatError("WAV WAVE_FORMAT_EXTENSIBLE has an unknown sub-format GUID");
    fmt.format = guid.readUInt16LE(0);
  }
  return fmt;
}

/** Describes the sample layout or throws for formats we cannot decode. */
function sampleLayout(fmt: Fmt): { encoding: WavEncoding; bytes: number } {
  if (fmt.channels < 1 || fmt.channels > MAX_WAV_CHANNELS) {
    throw new WavFormatError(`WAV has an invalid channel count (${fmt.channels}; 1 to ${MAX_WAV_CHANNELS} supported)`);
  }
  if (fmt.sampleRate < MIN_WAV_SAMPLE_RATE || fmt.sampleRate > MAX_WAV_SAMPLE_RATE) {
    throw new WavFormatError(`WAV has an invalid sample rate (${fmt.sampleRate} Hz; ${MIN_WAV_SAMPLE_RATE} to ${MAX_WAV_SAMPLE_RATE} Hz supported)`);
  }
  // The container size comes from blockAlign; bitsPerSample may be smaller (e.g. 20 valid bits in 24).
  const bytes = fmt.blockAlign / fmt.channels;
  if (!Number.isInteger(bytes) || bytes < 1) {
    throw new WavFormatError(`WAV block align ${fmt.blockAlign} does not fit ${fmt.channels} channel(s)`);
  }
  if (fmt.bitsPerSample > bytes * 8) {
    throw new WavFormatError(`WAV claims ${fmt.bitsPerSample} bits in a ${bytes * 8}-bit sample`);
  }
  switch (fmt.format) {
    case FORMAT_PCM:
      if (bytes > 4) break;
      return { encoding: "pcm", bytes };
    case FORMAT_FLOAT:
      if (bytes !== 4 && bytes !== 8) break;
      return { encoding: "float", bytes };
    case FORMAT_ALAW:
    case FORMAT_MULAW:
      if (bytes !== 1) break;
      return { encoding: fmt.format === FORMAT_ALAW ? "alaw" : "mulaw", bytes };
    default: {
      const name = FORMAT_NAMES[fmt.format] ?? `format tag 0x${fmt.format.toString(16)}`;
      throw new WavFormatError(`WAV encoding ${name} is not supported; use PCM (8/16/24/32-bit), IEEE float, A-law or mu-law`);
    }
  }
  throw new WavFormatError(`WAV ${fmt.format === FORMAT_FLOAT ? "float" : "sample"} size of ${bytes * 8} bits is not supported`);
}

/** Refuses audio that would decode to more than the limits allow, before allocating anything. */
function checkSize(frames: number, fmt: Fmt): void {
  const seconds = frames / fmt.sampleRate;
  if (seconds > MAX_AUDIO_SECONDS) {
    throw new WavFormatError(`WAV is too long (${Math.round(seconds)} s; at most ${MAX_AUDIO_SECONDS} s of audio can be played)`);
  }
  if (frames * fmt.channels > MAX_WAV_DECODED_SAMPLES) {
    throw new WavFormatError(
      `WAV is too large to decode (${frames * fmt.channels} samples, at most ${MAX_WAV_DECODED_SAMPLES}); convert it to 8 kHz mono`,
    );
  }
}

/** Decodes interleaved samples of any supported layout to floats (full scale = 1), one per sample. */
function decodeSamples(data: Buffer, encoding: WavEncoding, bytes: number): Float32Array {
  // Copy into an aligned buffer so typed-array views can be used (little-endian hosts, like all Node-RED hosts).
  const aligned = new ArrayBuffer(data.length - (data.length % bytes));
  new Uint8Array(aligned).set(data.subarray(0, aligned.byteLength));
  const n = aligned.byteLength / bytes;
  const out = new Float32Array(n);
  switch (encoding) {
    case "pcm":
      if (bytes === 1) {
        const v = new Uint8Array(aligned); // 8-bit WAV is unsigned
        for (let i = 0; i < n; i++) out[i] = (v[i] - 128) / 128;
      } else if (bytes === 2) {
        const v = new Int16Array(aligned);
        for (let i = 0; i < n; i++) out[i] = v[i] / 32768;
      } else if (bytes === 3) {
        const v = new Uint8Array(aligned);
        for (let i = 0, o = 0; i < n; i++, o += 3) out[i] = (((v[o] | (v[o + 1] << 8) | (v[o + 2] << 16)) << 8) >> 8) / 8388608;
      } else {
        const v = new Int32Array(aligned);
        for (let i = 0; i < n; i++) out[i] = v[i] / 2147483648;
      }
      break;
    case "float": {
      const v = bytes === 4 ? new Float32Array(aligned) : new Float64Array(aligned);
      // Float files may hold NaN/Inf or overs; keep them from reaching the encoder.
      for (let i = 0; i < n; i++) {
        const x = v[i];
        out[i] = Number.isFinite(x) ? (x > 1 ? 1 : x < -1 ? -1 : x) : 0;
      }
      break;
    }
    case "alaw":
    case "mulaw": {
      const pcm = decodeFrame(encoding === "alaw" ? "PCMA" : "PCMU", new Uint8Array(aligned));
      for (let i = 0; i < n; i++) out[i] = pcm[i] / 32768;
      break;
    }
  }
  return out;
}

function downmix(interleaved: Float32Array, channels: number): Float32Array {
  if (channels === 1) return interleaved;
  const frames = Math.floor(interleaved.length / channels);
  const out = new Float32Array(frames);
  for (let f = 0, o = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, o++) sum += interleaved[o];
    out[f] = sum / channels;
  }
  return out;
}

/** Parses a RIFF/WAVE file; throws WavFormatError with a readable reason for anything else. */
export function parseWav(input: Buffer | Uint8Array): WavAudio {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length < 12) throw new WavFormatError(`Not a WAV file: only ${buf.length} bytes`);
  const riff = buf.toString("latin1", 0, 4);
  if (riff === "RIFX" || riff === "RF64") throw new WavFormatError(`${riff} WAV files are not supported; convert to plain RIFF WAV`);
  if (riff !== "RIFF" || buf.toString("latin1", 8, 12) !== "WAVE") {
    throw new WavFormatError("Not a WAV file: missing RIFF/WAVE header");
  }

  let fmt: Fmt | undefined;
  let dataStart = -1;
  let dataSize = 0;
  let pos = 12;
  while (pos + 8 <= buf.length) {
    const id = buf.toString("latin1", pos, pos + 4);
    let size = buf.readUInt32LE(pos + 4);
    const start = pos + 8;
    if (id === "data") {
      // Writers that stream (or crash) leave a wrong size: use what is actually there.
      if (size > buf.length - start) size = buf.length - start;
      dataStart = start;
      dataSize = size;
      if (fmt) break;
    } else if (id === "fmt ") {
      if (start + size > buf.length) throw new WavFormatError('WAV "fmt " chunk is truncated');
      fmt = parseFmt(buf, start, size);
      if (dataStart >= 0) break;
    } else if (start + size > buf.length) {
      break; // a truncated trailing chunk (LIST, id3 …) does not matter
    }
    pos = start + size + (size & 1); // chunks are padded to even sizes
  }
  if (!fmt) throw new WavFormatError('WAV has no "fmt " chunk');
  if (dataStart < 0) throw new WavFormatError('WAV has no "data" chunk');

  const { encoding, bytes } = sampleLayout(fmt);
  const frameBytes = bytes * fmt.channels;
  const frames = Math.floor(dataSize / frameBytes);
  checkSize(frames, fmt);
  const samples = downmix(decodeSamples(buf.subarray(dataStart, dataStart + frames * frameBytes), encoding, bytes), fmt.channels);
  return { sampleRate: fmt.sampleRate, channels: fmt.channels, encoding, bitsPerSample: bytes * 8, samples };
}

/** Writes 16-bit PCM mono as a canonical 44-byte-header WAV file. */
export function encodeWav(pcm: Int16Array, sampleRate: number): Buffer {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`Invalid sample rate ${sampleRate}`);
  const dataBytes = pcm.length * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write("RIFF", 0, "latin1");
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write("WAVE", 8, "latin1");
  buf.write("fmt ", 12, "latin1");
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(FORMAT_PCM, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36, "latin1");
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < pcm.length; i++) buf.writeInt16LE(pcm[i], 44 + i * 2);
  return buf;
}
