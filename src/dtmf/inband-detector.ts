// In-band DTMF detection on 8 kHz Int16 PCM (decoded G.711), aimed at the
// ITU-T Q.24 acceptance figures: frequency +-1.5 % accepted / +-3.5 %
// rejected, twist +4 dB (high group stronger) / -8 dB (low group stronger),
// tones >= 40 ms detected / < 20 ms rejected, -25 dBm0 per tone detected,
// 15 dB SNR, and no talk-off on speech or music.
//
// Method, per 5 ms hop over a 20 ms Hann-windowed block:
//  1. a cheap silence gate and a stationarity check: the block's four 5 ms
//     sub-blocks must carry similar energy. This is what makes "the tone fills
//     the whole block" true, so counting positive blocks measures duration.
//  2. a windowed DFT at the 8 DTMF frequencies; the strongest bin of each
//     group is the candidate.
//  3. for each candidate the true frequency is measured with the
//     time-derivative-window (reassignment) estimator, independent of
//     amplitude, and checked against the +-2.5 % decision point (midway
//     between Q.24's must-accept and must-reject figures).
//  4. levels (corrected for the window's roll-off at the measured offset)
//     and twist, then three talk-off guards: both tones together must hold
//     at least `minToneRatio` of the block's power (speech and music spread
//     energy over many harmonics); the low tone's 3rd and the high tone's
//     2nd harmonic must be weak (`maxHarmonicDb`; catches nearly pure
//     high-register notes); and the two frequencies must not stand in a
//     simple harmonic ratio (2:1, 3:2, 5:3, 4:3) that no valid pair has.
//  5. a digit is reported after `minOnHops` consecutive positive blocks
//     (about 35 ms of tone) and re-armed after `minOffHops` blocks without it
//     (about 30 ms of pause), so each tone yields one digit.
//
// Cost: a 160-point, 8-bin DFT every 40 samples when the gates pass. Two
// shortcuts that change no verdict (options.shortcuts) halve that on speech:
// the high group's bins only when the low group's strongest one can still
// belong to a valid pair, and only every other hop while no tone is in view.
// Figures: bench/dtmf/inband-cpu.ts and BENCHMARKS.md.
import type { DtmfDigit } from "../types";
import { SAMPLE_RATE } from "../media/audio-format";
import { dbm0ToPower, powerToDbm0 } from "./levels";

export const DTMF_LOW_HZ: readonly number[] = [697, 770, 852, 941];
export const DTMF_HIGH_HZ: readonly number[] = [1209, 1336, 1477, 1633];
/** KEYPAD[low][high] */
export const DTMF_KEYPAD: readonly (readonly DtmfDigit[])[] = [
  ["1", "2", "3", "A"],
  ["4", "5", "6", "B"],
  ["7", "8", "9", "C"],
  ["*", "0", "#", "D"],
];

/** Analysis block: 20 ms gives 50 Hz bins, so the Hann main lobe separates the groups cleanly. */
const WIN = (20 * SAMPLE_RATE) / 1000;
/** Hop and stationarity sub-block: 5 ms sets the timing resolution. */
const HOP = 40;
const SUBS = WIN / HOP;
const FREQS = [...DTMF_LOW_HZ, ...DTMF_HIGH_HZ];
const NF = FREQS.length;

// Shared read-only tables (one set per process, not per call).
const HANN = new Float64Array(WIN);
const HANN_D = new Float64Array(WIN); // d/dn of HANN, for the frequency estimator
const COS = new Float64Array(NF * WIN);
const SIN = new Float64Array(NF * WIN);
const OMEGA = new Float64Array(NF);
let HANN_SUM = 0;
let HANN_SQ_SUM = 0;
for (let n = 0; n < WIN; n++) {
  // Periodic Hann: zero at n = 0 and n = WIN, which the derivative estimator relies on.
  HANN[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / WIN);
  HANN_D[n] = (Math.PI / WIN) * Math.sin((2 * Math.PI * n) / WIN);
  HANN_SUM += HANN[n];
  HANN_SQ_SUM += HANN[n] * HANN[n];
}
for (let k = 0; k < NF; k++) {
  OMEGA[k] = (2 * Math.PI * FREQS[k]) / SAMPLE_RATE;
  for (let n = 0; n < WIN; n++) {
    COS[k * WIN + n] = Math.cos(OMEGA[k] * n);
    SIN[k * WIN + n] = Math.sin(OMEGA[k] * n);
  }
}

/** Hann window magnitude response at an offset of `delta` rad/sample, normalised to 1 at 0. */
function hannGain(delta: number): number {
  const x = (delta * WIN) / (2 * Math.PI); // offset in bins
  if (Math.abs(x) < 1e-9) return 1;
  const d = 1 - x * x;
  if (Math.abs(d) < 1e-9) return 0.5;
  return Math.sin(Math.PI * x) / (Math.PI * x) / d;
}

export interface InbandDtmfDetectorOptions {
  /** Weakest tone accepted, per frequency, in dBm0 (see levels.ts). Default -30. */
  minLevelDbm0?: number;
  /** Largest relative frequency error accepted. Default 0.025 (Q.24: accept 1.5 %, reject 3.5 %). */
  maxFrequencyDeviation?: number;
  /** Normal twist limit: how much stronger the high-group tone may be, dB. Default 5 (Q.24 asks for 4). */
  maxNormalTwistDb?: number;
  /** Reverse twist limit: how much stronger the low-group tone may be, dB. Default 9 (Q.24 asks for 8). */
  maxReverseTwistDb?: number;
  /** Share of the block's power the two tones must hold (talk-off guard). Default 0.85 (~7.5 dB SNR). */
  minToneRatio?: number;
  /** Largest 3rd harmonic (low tone) / 2nd harmonic (high tone) relative to its tone, dB. Default -14. */
  maxHarmonicDb?: number;
  /** Consecutive positive 5 ms hops before a digit is reported. Default 4 (accepts >= ~35 ms). */
  minOnHops?: number;
  /** Consecutive hops without the digit before the same key can be reported again. Default 8 (~30 ms pause). */
  minOffHops?: number;
  /**
   * Skip work that cannot change a verdict (default true; false gives the same digits, slower, and
   * tests compare the two): a block is rejected before the high group's DFT when its strongest low
   * bin is too weak for any pair the later checks accept (see groupShare); and while no tone is in
   * view only every other hop is analysed, the skipped one being analysed after all when the next
   * one finds a tone (a run needs two positive hops at least, see analyze).
   */
  shortcuts?: boolean;
}

export interface DetectedDigit {
  digit: DtmfDigit;
  /** Estimated first sample of the tone, counted from construction or reset(). */
  onsetSample: number;
  /** Sample count at which the digit was recognised. */
  detectedAtSample: number;
  /** Measured frequencies in Hz. */
  lowHz: number;
  highHz: number;
  /** Measured levels in dBm0. */
  lowDbm0: number;
  highDbm0: number;
  /** highDbm0 - lowDbm0. */
  twistDb: number;
}

interface Measurement {
  lowHz: number;
  highHz: number;
  lowPower: number;
  highPower: number;
}

export class InbandDtmfDetector {
  private readonly minPower: number;
  private readonly maxDev: number;
  private readonly maxNormalTwist: number;
  private readonly maxReverseTwist: number;
  private readonly minRatio: number;
  private readonly maxHarmonic: number;
  private readonly minOn: number;
  private readonly minOff: number;
  /** Least share of the block's power the strongest low / high bin holds in any accepted block (groupShare). */
  private readonly lowShare: number;
  private readonly highShare: number;

  /** The last WIN + HOP samples: the current block, and the one a hop before it (see analyze). */
  private readonly buf = new Float64Array(WIN + HOP);
  private readonly blockNow = this.buf.subarray(HOP);
  private readonly blockBefore = this.buf.subarray(0, WIN);
  /** The block classify() and its helpers read. */
  private block = this.blockNow;
  private readonly skipIdleHops: boolean;
  /** The previous hop was skipped (idle): it is analysed after all if this one finds a tone. */
  private skipped = false;
  private readonly xw = new Float64Array(WIN);
  private readonly re = new Float64Array(NF);
  private readonly im = new Float64Array(NF);
  /** Ring of recent sub-block energies; 8 > SUBS + 1 so the one before the block is kept. */
  private readonly subE = new Float64Array(8);
  /** Samples in buf; it starts with one hop of silence so both blocks exist from the first analysis. */
  private fill = HOP;
  private subAcc = 0;
  private subCount = 0;
  private samples = 0;

  private meas: Measurement = { lowHz: 0, highHz: 0, lowPower: 0, highPower: 0 };
  private runDigit: DtmfDigit | null = null;
  private runLen = 0;
  private runOnset = 0;
  /** Digit last reported and not yet followed by a long enough pause. */
  private holding: DtmfDigit | null = null;
  private offCount = 0;

  constructor(opts: InbandDtmfDetectorOptions = {}) {
    this.minPower = dbm0ToPower(opts.minLevelDbm0 ?? -30);
    this.maxDev = opts.maxFrequencyDeviation ?? 0.025;
    this.maxNormalTwist = opts.maxNormalTwistDb ?? 5;
    this.maxReverseTwist = opts.maxReverseTwistDb ?? 9;
    this.minRatio = opts.minToneRatio ?? 0.85;
    this.maxHarmonic = Math.pow(10, (opts.maxHarmonicDb ?? -14) / 10);
    this.minOn = Math.max(1, Math.round(opts.minOnHops ?? 4));
    this.minOff = Math.max(1, Math.round(opts.minOffHops ?? 8));
    const normalTwist = Math.pow(10, this.maxNormalTwist / 10);
    const reverseTwist = Math.pow(10, this.maxReverseTwist / 10);
    const shortcuts = opts.shortcuts ?? true;
    this.lowShare = shortcuts ? groupShare(this.minRatio / (1 + normalTwist), this.maxDev, DTMF_LOW_HZ) : 0;
    this.highShare = shortcuts ? groupShare(this.minRatio / (1 + reverseTwist), this.maxDev, DTMF_HIGH_HZ) : 0;
    // With minOn 1 a single positive hop is a digit: none may be skipped.
    this.skipIdleHops = shortcuts && this.minOn >= 2;
  }

  /** Feeds any number of samples; returns the digits recognised in them (usually none). */
  process(pcm: Int16Array): DetectedDigit[] {
    const out: DetectedDigit[] = [];
    const buf = this.buf;
    let i = 0;
    while (i < pcm.length) {
      // Copy up to the next hop boundary, accumulating the sub-block energy.
      const take = Math.min(pcm.length - i, HOP - (this.fill % HOP));
      let acc = this.subAcc;
      let f = this.fill;
      for (const end = i + take; i < end; i++) {
        const x = pcm[i];
        buf[f++] = x;
        acc += x * x;
      }
      this.fill = f;
      this.subAcc = acc;
      this.samples += take;
      if (f % HOP !== 0) continue;

      this.subE[this.subCount++ & 7] = acc;
      this.subAcc = 0;
      if (f === WIN + HOP) {
        const found = this.analyze();
        if (found) out.push(found);
        buf.copyWithin(0, HOP);
        this.fill = WIN;
      }
    }
    return out;
  }

  /** Forgets all state; sample offsets restart at 0. */
  reset(): void {
    this.buf.fill(0);
    this.subE.fill(0);
    this.fill = HOP;
    this.skipped = false;
    this.subAcc = 0;
    this.subCount = 0;
    this.samples = 0;
    this.runDigit = null;
    this.runLen = 0;
    this.runOnset = 0;
    this.holding = null;
    this.offCount = 0;
  }

  private analyze(): DetectedDigit | null {
    const start = this.samples - WIN;
    const idle = this.runDigit === null && this.holding === null;
    if (this.skipIdleHops && idle && !this.skipped) {
      // Idle, a lone positive hop changes nothing: only a run of two or more can become a digit.
      this.skipped = true;
      return null;
    }
    const skippedBefore = this.skipped;
    this.skipped = false;
    const r = this.classify(0);

    if (r !== null && r === this.runDigit) {
      this.runLen++;
    } else if (r !== null) {
      this.runDigit = r;
      this.runLen = 1;
      this.runOnset = this.estimateOnset(start, 0);
      // The hop skipped just before may have held the same tone: as if it had been analysed.
      if (skippedBefore) {
        const found = this.meas;
        if (this.classify(1) === r) {
          this.runLen = 2;
          this.runOnset = this.estimateOnset(start - HOP, 1);
        }
        this.meas = found;
      }
    } else {
      this.runDigit = null;
      this.runLen = 0;
    }

    if (this.holding !== null) {
      if (r === this.holding) this.offCount = 0;
      else if (++this.offCount >= this.minOff) this.holding = null;
    }
    if (this.runDigit === null || this.holding !== null || this.runLen < this.minOn) return null;

    this.holding = this.runDigit;
    this.offCount = 0;
    const m = this.meas;
    const lowDbm0 = powerToDbm0(m.lowPower);
    const highDbm0 = powerToDbm0(m.highPower);
    return {
      digit: this.runDigit,
      onsetSample: this.runOnset,
      detectedAtSample: this.samples,
      lowHz: m.lowHz,
      highHz: m.highHz,
      lowDbm0,
      highDbm0,
      twistDb: highDbm0 - lowDbm0,
    };
  }

  /** The first block of a run starts within a hop of the tone; sub-block energies refine that. */
  private estimateOnset(start: number, back: number): number {
    const c = this.subCount - back;
    const e = this.subE;
    const first = e[(c - SUBS) & 7];
    const rest = (e[(c - 3) & 7] + e[(c - 2) & 7] + e[(c - 1) & 7]) / 3;
    if (rest <= 0) return start;
    // A partly filled first sub-block means the tone began inside the block;
    // energy in the sub-block before it means it began earlier.
    const lateBy = Math.max(0, 1 - first / rest);
    const earlyBy = c > SUBS ? Math.min(1, e[(c - SUBS - 1) & 7] / rest) : 0;
    return Math.max(0, Math.round(start + (lateBy - earlyBy) * HOP));
  }

  /** Decides whether the current block (back 0) or the one a hop before it (back 1) holds a valid DTMF tone pair. */
  private classify(back: number): DtmfDigit | null {
    this.block = back === 0 ? this.blockNow : this.blockBefore;
    const c = this.subCount - back;
    const e = this.subE;
    let sum = 0;
    let min = Infinity;
    for (let j = 1; j <= SUBS; j++) {
      const v = e[(c - j) & 7];
      sum += v;
      if (v < min) min = v;
    }
    if (sum / WIN < this.minPower) return null; // silence gate
    if (min < (0.5 * sum) / SUBS) return null; // the tone must fill the whole block

    const buf = this.block;
    const xw = this.xw;
    let pw = 0;
    for (let n = 0; n < WIN; n++) {
      const v = buf[n] * HANN[n];
      xw[n] = v;
      pw += v * v;
    }
    const totalPower = pw / HANN_SQ_SUM;

    // One group at a time: most speech fails the low group's share of the power (see groupShare),
    // and then the high group's four bins are never computed.
    this.dft(0);
    const lo = strongest(this.re, this.im, 0);
    if (binPower(this.re, this.im, lo) < this.lowShare * totalPower) return null;
    this.dft(4);
    const hi = strongest(this.re, this.im, 4);
    if (binPower(this.re, this.im, hi) < this.highShare * totalPower) return null;

    const low = this.measureTone(lo);
    if (low === null) return null;
    const high = this.measureTone(hi);
    if (high === null) return null;
    if (low.power < this.minPower || high.power < this.minPower) return null;
    const twist = 10 * Math.log10(high.power / low.power);
    if (twist > this.maxNormalTwist || twist < -this.maxReverseTwist) return null;
    if (low.power + high.power < this.minRatio * totalPower) return null;
    if (harmonicallyRelated(high.hz / low.hz)) return null;
    // Harmonic guard: notes and voices carry overtones, DTMF generators
    // hardly any (well below the -14 dB allowed here). The low
    // tone's 3rd and the high tone's 2nd harmonic lie clear of both groups;
    // the low tone's 2nd would sit in the high group's leakage.
    if (harmonicPower(this.block, 3 * low.hz) > this.maxHarmonic * low.power) return null;
    if (harmonicPower(this.block, 2 * high.hz) > this.maxHarmonic * high.power) return null;

    this.meas = { lowHz: low.hz, highHz: high.hz, lowPower: low.power, highPower: high.power };
    return DTMF_KEYPAD[lo][hi - 4];
  }

  /** The windowed DFT of the block at the four frequencies of a group (from = 0: low, 4: high). */
  private dft(from: number): void {
    const xw = this.xw;
    for (let k = from; k < from + 4; k++) {
      let cr = 0;
      let ci = 0;
      const base = k * WIN;
      for (let n = 0; n < WIN; n++) {
        cr += xw[n] * COS[base + n];
        ci += xw[n] * SIN[base + n];
      }
      this.re[k] = cr;
      this.im[k] = ci;
    }
  }

  /** Frequency and offset-corrected power of the tone near bin k, or null if off frequency. */
  private measureTone(k: number): { hz: number; power: number } | null {
    const c = this.re[k];
    const s = this.im[k];
    const mag2 = c * c + s * s;
    if (mag2 === 0) return null;
    // X = C - jS with window w, Xd the same with w'. For a tone offset by
    // delta rad/sample, Xd / X = -j * delta (summation by parts, w(0) = w(N) = 0).
    const buf = this.block;
    let cd = 0;
    let sd = 0;
    const base = k * WIN;
    for (let n = 0; n < WIN; n++) {
      const v = buf[n] * HANN_D[n];
      cd += v * COS[base + n];
      sd += v * SIN[base + n];
    }
    const delta = -(cd * s - sd * c) / mag2;
    if (Math.abs(delta) > this.maxDev * OMEGA[k]) return null;
    const amp = (2 * Math.sqrt(mag2)) / (HANN_SUM * hannGain(delta));
    return { hz: ((OMEGA[k] + delta) * SAMPLE_RATE) / (2 * Math.PI), power: (amp * amp) / 2 };
  }
}

// Frequency ratios of low-order harmonic pairs (2f/f, 3f/2f, 5f/3f, 4f/3f)
// that a single voice or instrument can put on both groups at once. No
// nominal DTMF pair is within 3.5 % of them, and any pair with both tones
// within Q.24's 1.5 % stays >= 0.45 % outside these bands, so rejecting them
// costs no digit that must be accepted. Measured ratios are good to ~0.1 %.
const HARMONIC_RATIOS: readonly (readonly [number, number])[] = [
  [2, 0.0065],
  [3 / 2, 0.009],
  [5 / 3, 0.004],
  [4 / 3, 0.0025],
];

function harmonicallyRelated(ratio: number): boolean {
  for (const [r, tol] of HARMONIC_RATIOS) if (Math.abs(ratio / r - 1) <= tol) return true;
  return false;
}

/** Power of a sine at `hz` in the Hann-windowed block (a one-bin DFT by rotation). */
function harmonicPower(buf: Float64Array, hz: number): number {
  if (hz >= SAMPLE_RATE / 2) return 0;
  const w = (2 * Math.PI * hz) / SAMPLE_RATE;
  const cw = Math.cos(w);
  const sw = Math.sin(w);
  let c = 1;
  let s = 0;
  let re = 0;
  let im = 0;
  for (let n = 0; n < WIN; n++) {
    const v = buf[n] * HANN[n];
    re += v * c;
    im += v * s;
    const c2 = c * cw - s * sw;
    s = s * cw + c * sw;
    c = c2;
  }
  const amp = (2 * Math.sqrt(re * re + im * im)) / HANN_SUM;
  return (amp * amp) / 2;
}

/**
 * A cheap early reject, implied by the later checks so it changes no verdict. An accepted block has
 * low + high >= minRatio * total with high <= normalTwist * low, so low >= minRatio * total / (1 +
 * normalTwist) (the high group likewise with the reverse twist); and the strongest bin's uncorrected
 * power is at least the tone's power times the Hann gain at the largest frequency offset accepted.
 * `tonePart` is that minimum share of the tone; the result is the minimum share of the bin (0: no gate).
 */
function groupShare(tonePart: number, maxDev: number, group: readonly number[]): number {
  const worstOffsetBins = (maxDev * Math.max(...group) * WIN) / SAMPLE_RATE;
  // The main lobe falls monotonically up to 2 bins; beyond, the gain may be anything: no gate.
  if (!(worstOffsetBins < 2) || !(tonePart > 0)) return 0;
  const gain = hannGain((2 * Math.PI * worstOffsetBins) / WIN);
  // A little below the bound, so rounding can never reject a block the full checks accept.
  return 0.99 * tonePart * gain * gain;
}

/** Bin k's power as measureTone reports it, without the frequency-offset correction. */
function binPower(re: Float64Array, im: Float64Array, k: number): number {
  const amp = (2 * Math.sqrt(re[k] * re[k] + im[k] * im[k])) / HANN_SUM;
  return (amp * amp) / 2;
}

function strongest(re: Float64Array, im: Float64Array, from: number): number {
  let best = from;
  let bestP = -1;
  for (let k = from; k < from + 4; k++) {
    const p = re[k] * re[k] + im[k] * im[k];
    if (p > bestP) {
      bestP = p;
      best = k;
    }
  }
  return best;
}
