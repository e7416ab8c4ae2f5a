// DTMF tone synthesis as 8 kHz Int16 PCM, for in-band sending.
import { isDtmfDigit, type DtmfDigit } from "../types";
import type { OutgoingFrame } from "../media/rtp-session";
import { SAMPLE_RATE, SAMPLES_PER_FRAME } from "../media/audio-format";
import { DTMF_HIGH_HZ, DTMF_KEYPAD, DTMF_LOW_HZ } from "./inband-detector";
import { dbm0ToPeak } from "./levels";
import { fadeGain } from "../media/fade";

export interface DtmfToneLevel {
  /** Level of the low-group tone in dBm0. Default -10. */
  levelDbm0?: number;
  /** High-group level minus low-group level in dB. Default +2 (high group a little stronger, as is usual). */
  twistDb?: number;
  /** Raised-cosine fade in and out, ms, against clicks. Default 0 for single tones. */
  rampMs?: number;
}

/** The (low, high) frequency pair of a key. Accepts a-d in lower case. */
export function dtmfFrequencies(digit: string): { lowHz: number; highHz: number } {
  const d = normalizeDigit(digit);
  if (d === null) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  for (let r = 0; r < 4; r++) {
    const c = DTMF_KEYPAD[r].indexOf(d);
    if (c >= 0) return { lowHz: DTMF_LOW_HZ[r], highHz: DTMF_HIGH_HZ[c] };
  }
  throw new RangeError(`not a DTMF digit: ${digit}`); // unreachable
}

/** Upper-cases a-d; returns null for anything that is not a key. */
export function normalizeDigit(digit: string): DtmfDigit | null {
  if (digit.length !== 1) return null;
  const d = digit.toUpperCase();
  return isDtmfDigit(d) ? d : null;
}

export interface DualToneSpec {
  lowHz: number;
  highHz: number;
  samples: number;
  lowDbm0: number;
  highDbm0: number;
  /** Raised-cosine fade length at each end, samples. Default 0. */
  rampSamples?: number;
  /** Start phases in radians. Default 0. */
  lowPhase?: number;
  highPhase?: number;
}

/**
 * Two sine waves at explicit frequencies and levels (dBm0 each), optionally
 * faded. The building block for DTMF and for off-nominal test signals.
 */
export function generateDualTone(spec: DualToneSpec): Int16Array {
  const out = new Int16Array(Math.max(0, Math.round(spec.samples)));
  const a1 = dbm0ToPeak(spec.lowDbm0);
  const a2 = dbm0ToPeak(spec.highDbm0);
  const w1 = (2 * Math.PI * spec.lowHz) / SAMPLE_RATE;
  const w2 = (2 * Math.PI * spec.highHz) / SAMPLE_RATE;
  const p1 = spec.lowPhase ?? 0;
  const p2 = spec.highPhase ?? 0;
  const ramp = Math.min(Math.max(0, Math.round(spec.rampSamples ?? 0)), out.length >> 1);
  for (let n = 0; n < out.length; n++) {
    out[n] = clamp16(fadeGain(n, out.length, ramp) * (a1 * Math.sin(w1 * n + p1) + a2 * Math.sin(w2 * n + p2)));
  }
  return out;
}

/** One DTMF tone of the given duration. */
export function generateDtmfTone(digit: string, durationMs: number, opts: DtmfToneLevel = {}): Int16Array {
  const { lowHz, highHz } = dtmfFrequencies(digit);
  const low = opts.levelDbm0 ?? -10;
  const high = low + (opts.twistDb ?? 2);
  const samples = Math.round((durationMs * SAMPLE_RATE) / 1000);
  const rampSamples = ((opts.rampMs ?? 0) * SAMPLE_RATE) / 1000;
  return generateDualTone({ lowHz, highHz, samples, lowDbm0: low, highDbm0: high, rampSamples });
}

/** Adds `add` into `target` in place with saturation; returns target. */
export function mixPcm(target: Int16Array, add: Int16Array): Int16Array {
  const n = Math.min(target.length, add.length);
  for (let i = 0; i < n; i++) target[i] = clamp16(target[i] + add[i]);
  return target;
}

export interface DtmfToneSourceOptions extends DtmfToneLevel {
  /** Tone length per digit, ms. Default 100. */
  durationMs?: number;
  /** Silence between digits, ms. Default 80. */
  gapMs?: number;
  /** Samples per frame. Default 160 (20 ms). */
  frameSamples?: number;
}

/**
 * Plays a digit string as 20 ms PCM frames: tone, gap, tone, ... The last
 * frame is padded with silence. Usable directly as the media layer's
 * FrameSource, or mixed into other audio via nextPcm() + mixPcm().
 */
export class DtmfToneSource {
  private readonly pcm: Int16Array;
  private readonly frame: number;
  private pos = 0;

  constructor(digits: string, opts: DtmfToneSourceOptions = {}) {
    const keys = [...digits].map((ch) => {
      const d = normalizeDigit(ch);
      if (d === null) throw new RangeError(`not a DTMF digit: ${JSON.stringify(ch)}`);
      return d;
    });
    this.frame = opts.frameSamples ?? SAMPLES_PER_FRAME;
    if (!(this.frame > 0)) throw new RangeError("frameSamples must be positive");
    const tone = Math.round(((opts.durationMs ?? 100) * SAMPLE_RATE) / 1000);
    const gap = Math.round(((opts.gapMs ?? 80) * SAMPLE_RATE) / 1000);
    // A short default ramp keeps the sent tone free of clicks; detectors see the full duration.
    const level = { ...opts, rampMs: opts.rampMs ?? 2 };
    const total = keys.length === 0 ? 0 : keys.length * tone + (keys.length - 1) * gap;
    this.pcm = new Int16Array(Math.ceil(total / this.frame) * this.frame);
    keys.forEach((d, i) => {
      this.pcm.set(generateDtmfTone(d, (tone * 1000) / SAMPLE_RATE, level), i * (tone + gap));
    });
  }

  /** True once every frame has been handed out. */
  get done(): boolean {
    return this.pos >= this.pcm.length;
  }

  /** The next frame of samples, or null when finished. */
  nextPcm(): Int16Array | null {
    if (this.done) return null;
    const out = this.pcm.slice(this.pos, this.pos + this.frame);
    this.pos += this.frame;
    return out;
  }

  /** FrameSource interface of the RTP session. */
  nextFrame(): OutgoingFrame | null {
    const first = this.pos === 0;
    const pcm = this.nextPcm();
    return pcm === null ? null : { kind: "audio", pcm, talkspurtStart: first };
  }
}

function clamp16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}
