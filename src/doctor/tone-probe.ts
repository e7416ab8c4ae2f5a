// The test call's probe tones: a sine burst to send, and a detector that says when a 20 ms frame
// of received audio is that tone (Goertzel power at the frequency against the frame's energy).
// The frequencies sit on the detector's bins (multiples of 50 Hz at 160 samples) and are not DTMF
// frequencies, so the in-band key detector stays quiet.
import { SAMPLE_RATE } from "../media/audio-format";

/** The tone the calling leg sends (Hz). */
export const PROBE_TONE_OUT_HZ = 1000;
/** The tone the answering leg sends back (Hz). */
export const PROBE_TONE_BACK_HZ = 1400;
/** Length of a probe burst (ms). */
export const PROBE_TONE_MS = 600;
/** Amplitude of a probe burst (about −12 dBFS). */
const PROBE_AMPLITUDE = 8000;
/** Share of a frame's energy that must be at the frequency. */
const TONE_SHARE = 0.6;
/** Quietest frame that counts (RMS of 16-bit samples). */
const TONE_MIN_RMS = 300;
/** Frames in a row before a tone counts as heard (60 ms: a click does not). */
const TONE_MIN_FRAMES = 3;

export function probeTone(hz: number, ms = PROBE_TONE_MS): Int16Array {
  const n = Math.round((SAMPLE_RATE * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(PROBE_AMPLITUDE * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE));
  return out;
}

/** Share of the frame's energy at `hz` (0..1) and the frame's RMS. */
export function toneShare(pcm: Int16Array, hz: number): { share: number; rms: number } {
  const n = pcm.length;
  if (n === 0) return { share: 0, rms: 0 };
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const x = pcm[i];
    energy += x * x;
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return { share: energy > 0 ? power / ((energy * n) / 2) : 0, rms: Math.sqrt(energy / n) };
}

/** Feed it received frames with their arrival time; `heardAt` is set to the first frame of a run of TONE_MIN_FRAMES. */
export class ToneDetector {
  private run = 0;
  private runStart = 0;
  heardAt?: number;
  constructor(private readonly hz: number) {}
  push(pcm: Int16Array, at: number): boolean {
    if (this.heardAt !== undefined) return true;
    const { share, rms } = toneShare(pcm, this.hz);
    if (share >= TONE_SHARE && rms >= TONE_MIN_RMS) {
      if (this.run++ === 0) this.runStart = at;
    } else this.run = 0;
    if (this.run >= TONE_MIN_FRAMES) this.heardAt = this.runStart;
    return this.heardAt !== undefined;
  }
}
