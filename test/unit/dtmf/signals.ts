// Test signal helpers for the DTMF tests: G.711 round trips, noise,
// deterministic randomness and music-like talk-off material.
import { alaw, mulaw } from "alawmulaw";
import { InbandDtmfDetector, type DetectedDigit, type InbandDtmfDetectorOptions } from "../../../src/dtmf/inband-detector.js";
import { dbm0ToPeak } from "../../../src/dtmf/levels.js";
import { concatPcm } from "../../support/pcm";

export const RATE = 8000;
export type Law = "mulaw" | "alaw";
export const LAWS: readonly Law[] = ["mulaw", "alaw"];

/** Encode and decode through G.711, as a call would. */
export function g711(pcm: Int16Array, law: Law): Int16Array {
  return law === "mulaw" ? mulaw.decode(mulaw.encode(pcm)) : alaw.decode(alaw.encode(pcm));
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): () => number {
  return () => {
    const u = rand() || 1e-12;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export function ms(n: number): number {
  return Math.round((n * RATE) / 1000);
}

export function silence(samples: number): Int16Array {
  return new Int16Array(samples);
}

export function concat(...parts: Int16Array[]): Int16Array {
  return concatPcm(parts);
}

export function toInt16(f: ArrayLike<number>): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(f[i])));
  return out;
}

/** Adds white Gaussian noise of the given mean power (Int16 units squared). */
export function addNoise(pcm: Int16Array, power: number, seed: number): Int16Array {
  const g = gaussian(rng(seed));
  const sd = Math.sqrt(power);
  const f = new Float64Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] + sd * g();
  return toInt16(f);
}

/** Scales a float signal so its mean power equals a sine at `dbm0`. */
export function atLevel(f: Float64Array, dbm0: number): Int16Array {
  let p = 0;
  for (const v of f) p += v * v;
  p /= Math.max(1, f.length);
  const target = dbm0ToPeak(dbm0) ** 2 / 2;
  const g = p > 0 ? Math.sqrt(target / p) : 0;
  return toInt16(f.map((v) => v * g));
}

/** Runs a detector over a signal in chunks of the given size(s). */
export function detect(pcm: Int16Array, chunk: number | number[] = 160, opts?: InbandDtmfDetectorOptions): DetectedDigit[] {
  const det = new InbandDtmfDetector(opts);
  const sizes = Array.isArray(chunk) ? chunk : [chunk];
  const out: DetectedDigit[] = [];
  for (let i = 0, j = 0; i < pcm.length; j++) {
    const n = sizes[j % sizes.length];
    out.push(...det.process(pcm.subarray(i, i + n)));
    i += n;
  }
  return out;
}

export function digitsOf(found: DetectedDigit[]): string {
  return found.map((d) => d.digit).join("");
}

// ---- music-like signals -------------------------------------------------

/** Equal-tempered pitch, A4 = 440 Hz. */
export function noteHz(midi: number): number {
  return 440 * Math.pow(2, (midi - 69) / 12);
}

/** Harmonic amplitude laws of a few instrument-like timbres. */
export const TIMBRES: Record<string, (k: number) => number> = {
  saw: (k) => 1 / k, // bowed strings, brass
  square: (k) => (k % 2 === 1 ? 1 / k : 0.1 / k), // clarinet-like
  mellow: (k) => Math.pow(0.55, k - 1), // flute/organ-like, weak harmonics
  bright: (k) => 1 / Math.sqrt(k), // reed, harpsichord
};

/**
 * Adds a note with harmonics (up to 3.8 kHz) and a piano-like envelope into
 * `out` at sample `at`.
 */
export function addNote(
  out: Float64Array,
  at: number,
  hz: number,
  samples: number,
  timbre: (k: number) => number,
  amp: number,
  decayPerSecond = 3,
  phaseSeed = 0,
): void {
  const rand = rng(phaseSeed + Math.round(hz * 100));
  const harmonics: { w: number; a: number; p: number }[] = [];
  for (let k = 1; k * hz < 3800; k++) {
    const a = timbre(k);
    if (a > 0) harmonics.push({ w: (2 * Math.PI * k * hz) / RATE, a: a * amp, p: 2 * Math.PI * rand() });
  }
  const attack = ms(10);
  for (let n = 0; n < samples && at + n < out.length; n++) {
    const env = Math.min(1, n / attack) * Math.exp((-decayPerSecond * n) / RATE) * Math.min(1, (samples - n) / ms(15));
    let v = 0;
    for (const h of harmonics) v += h.a * Math.sin(h.w * n + h.p);
    out[at + n] += env * v;
  }
}
