// Ringback tone (the "it is ringing" sound a caller hears), generated as 8 kHz PCM in 20 ms
// frames, for early media while an incoming call waits to be answered. Pure: no timers; the
// RTP pacer pulls frames. Frequencies and cadences per ITU-T E.180 Supplement 2.

import { SAMPLE_RATE, SAMPLES_PER_FRAME } from "./audio-format";
import type { FrameSource, OutgoingFrame } from "./rtp-session";
import { dbm0ToPeak } from "../dtmf/levels";
import { fadeGain } from "./fade";

/** A country's ringing tone: "eu" (CEPT), "us" (North America), "uk" (United Kingdom). */
export type RingbackPlan = "eu" | "us" | "uk";
export const RINGBACK_PLANS: readonly RingbackPlan[] = ["eu", "us", "uk"];

export interface RingbackSpec {
  /** Frequencies summed while the tone is on (Hz). */
  frequencies: readonly number[];
  /** Level of each frequency (dBm0). */
  levelDbm0: number;
  /** On, off, on, off... (ms); one period, repeated. */
  cadenceMs: readonly number[];
}

/** The tone plans: CEPT 425 Hz 1 s on / 4 s off; US 440+480 Hz 2 s / 4 s; UK 400+450 Hz 0.4/0.2/0.4 s on / 2 s off. */
export const RINGBACK_SPECS: Readonly<Record<RingbackPlan, RingbackSpec>> = {
  eu: { frequencies: [425], levelDbm0: -13, cadenceMs: [1000, 4000] },
  us: { frequencies: [440, 480], levelDbm0: -19, cadenceMs: [2000, 4000] },
  uk: { frequencies: [400, 450], levelDbm0: -19, cadenceMs: [400, 200, 400, 2000] },
};

/** Fade at each edge of a burst, against clicks (ms). */
const RAMP_MS = 4;

export function isRingbackPlan(value: unknown): value is RingbackPlan {
  return typeof value === "string" && (RINGBACK_PLANS as readonly string[]).includes(value);
}

/** One period of a plan's tone and silence, its length a whole number of 20 ms frames. */
export function ringbackPeriod(plan: RingbackPlan): Int16Array {
  const spec = RINGBACK_SPECS[plan];
  const total = spec.cadenceMs.reduce((a, b) => a + b, 0);
  const frames = Math.ceil((total * SAMPLE_RATE) / 1000 / SAMPLES_PER_FRAME);
  const out = new Int16Array(frames * SAMPLES_PER_FRAME);
  const peak = dbm0ToPeak(spec.levelDbm0);
  const ramp = Math.round((RAMP_MS * SAMPLE_RATE) / 1000);
  let start = 0;
  spec.cadenceMs.forEach((ms, i) => {
    const len = Math.round((ms * SAMPLE_RATE) / 1000);
    if (i % 2 === 0) {
      for (let n = 0; n < len; n++) {
        const g = fadeGain(n, len, ramp);
        let v = 0;
        // Phase from the period's start: the tone is continuous across bursts, as from an oscillator.
        for (const hz of spec.frequencies) v += Math.sin((2 * Math.PI * hz * (start + n)) / SAMPLE_RATE);
        out[start + n] = Math.round(g * peak * v);
      }
    }
    start += len;
  });
  return out;
}

/**
 * The ringback tone as an endless frame source (a call's frame override). While `paused()`
 * says so (something else plays, e.g. an announcement) it yields nothing and the other source
 * is heard; the cadence goes on meanwhile.
 */
export class RingbackSource implements FrameSource {
  private readonly period: Int16Array;
  private pos = 0;

  constructor(
    plan: RingbackPlan,
    private readonly paused: () => boolean = () => false,
  ) {
    this.period = ringbackPeriod(plan);
  }

  nextFrame(): OutgoingFrame | null {
    const at = this.pos;
    this.pos = (this.pos + SAMPLES_PER_FRAME) % this.period.length;
    if (this.paused()) return null;
    return { kind: "audio", pcm: this.period.subarray(at, at + SAMPLES_PER_FRAME), talkspurtStart: at === 0 };
  }
}
