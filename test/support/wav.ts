// Minimal PCM WAV reading/writing and signal measurements for audio checks.

import * as fs from "node:fs";

export interface Wav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Interleaved 16-bit samples (other formats are converted: 8-bit unsigned, 32-bit float). */
  samples: Int16Array;
  /** Duration in seconds. */
  duration: number;
}

/**
 * Reads a RIFF/WAVE file with PCM 8/16-bit or 32-bit float data. Tolerates a
 * data chunk whose size was never finalised (0 or larger than the file), as
 * left by a recorder that is still writing.
 */
export function readWav(file: string): Wav {
  const buf = fs.readFileSync(file);
  if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error(`${file}: not a RIFF/WAVE file`);
  }
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === "fmt ") {
      fmt = {
        format: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      data = buf.subarray(body, body + size);
      break;
    }
    off = body + size + (size % 2);
  }
  if (!fmt) throw new Error(`${file}: no fmt chunk`);
  if (!data) data = Buffer.alloc(0);
  let samples: Int16Array;
  if (fmt.bits === 16) {
    samples = new Int16Array(Math.floor(data.length / 2));
    for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(i * 2);
  } else if (fmt.bits === 8) {
    samples = new Int16Array(data.length);
    for (let i = 0; i < data.length; i++) samples[i] = (data[i] - 128) << 8;
  } else if (fmt.bits === 32 && fmt.format === 3) {
    samples = new Int16Array(Math.floor(data.length / 4));
    for (let i = 0; i < samples.length; i++) {
      samples[i] = Math.max(-32768, Math.min(32767, Math.round(data.readFloatLE(i * 4) * 32767)));
    }
  } else {
    throw new Error(`${file}: unsupported WAV format ${fmt.format}/${fmt.bits} bit`);
  }
  return {
    sampleRate: fmt.rate,
    channels: fmt.channels,
    bitsPerSample: fmt.bits,
    samples,
    duration: samples.length / fmt.channels / fmt.rate,
  };
}

/** Writes mono or interleaved 16-bit PCM samples as a WAV file. */
export function writeWav(file: string, samples: Int16Array, sampleRate = 8000, channels = 1): void {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i], i * 2);
  const hdr = Buffer.alloc(44);
  hdr.write("RIFF", 0, "ascii");
  hdr.writeUInt32LE(36 + data.length, 4);
  hdr.write("WAVE", 8, "ascii");
  hdr.write("fmt ", 12, "ascii");
  hdr.writeUInt32LE(16, 16);
  hdr.writeUInt16LE(1, 20);
  hdr.writeUInt16LE(channels, 22);
  hdr.writeUInt32LE(sampleRate, 24);
  hdr.writeUInt32LE(sampleRate * channels * 2, 28);
  hdr.writeUInt16LE(channels * 2, 32);
  hdr.writeUInt16LE(16, 34);
  hdr.write("data", 36, "ascii");
  hdr.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([hdr, data]));
}

/** A sine tone as 16-bit samples (amplitude 0..1 of full scale). */
export function tone(hz: number, seconds: number, sampleRate = 8000, amplitude = 0.5): Int16Array {
  const n = Math.round(seconds * sampleRate);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(Math.sin((2 * Math.PI * hz * i) / sampleRate) * amplitude * 32767);
  return out;
}

export interface SignalStats {
  /** Root mean square, 0..32767. */
  rms: number;
  peak: number;
  /** Samples analysed. */
  count: number;
  /** Frequency estimated from zero crossings in active frames (meaningful for a pure tone). */
  zeroCrossingHz: number;
  /** Fraction of 20 ms frames whose RMS exceeds `silenceRms`. */
  activeFraction: number;
}

/** Measures a (mono or first-channel) signal. */
export function analyze(samples: Int16Array, sampleRate = 8000, channels = 1, silenceRms = 300): SignalStats {
  const mono: number[] = [];
  for (let i = 0; i < samples.length; i += channels) mono.push(samples[i]);
  let sum = 0;
  let peak = 0;
  for (const v of mono) {
    sum += v * v;
    if (Math.abs(v) > peak) peak = Math.abs(v);
  }
  // Frame-wise activity; zero crossings are only counted in active frames so
  // that leading/trailing silence (dither, comfort noise) does not skew them.
  const frame = Math.max(1, Math.round(sampleRate * 0.02));
  let frames = 0;
  let active = 0;
  let crossings = 0;
  for (let i = 0; i + frame <= mono.length; i += frame) {
    let s = 0;
    for (let j = i; j < i + frame; j++) s += mono[j] * mono[j];
    frames++;
    if (Math.sqrt(s / frame) > silenceRms) {
      active++;
      for (let j = i + 1; j < i + frame; j++) if (mono[j - 1] < 0 !== mono[j] < 0) crossings++;
    }
  }
  const activeSeconds = (active * frame) / sampleRate;
  return {
    rms: mono.length ? Math.sqrt(sum / mono.length) : 0,
    peak,
    count: mono.length,
    zeroCrossingHz: activeSeconds > 0 ? crossings / 2 / activeSeconds : 0,
    activeFraction: frames ? active / frames : 0,
  };
}

/** readWav + analyze. */
export function analyzeWav(file: string, silenceRms = 300): SignalStats & { duration: number; sampleRate: number } {
  const w = readWav(file);
  return { ...analyze(w.samples, w.sampleRate, w.channels, silenceRms), duration: w.duration, sampleRate: w.sampleRate };
}
