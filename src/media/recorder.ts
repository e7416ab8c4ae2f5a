// Recording of what the remote side says: 8 kHz 16-bit mono PCM frames from the RTP receive
// path, collected until hang-up, silence, a length/size limit, a stop key or a stop command.
// Pure: no socket, no file; time comes from an injectable Clock (timers for max and silence, so a
// peer that stops sending RTP still ends by silence or max).

import { systemClock, type Clock } from "../clock";
import { FRAME_MS, SAMPLE_RATE } from "./audio-format";

/** Why a recording ended: the call ended, the caller went quiet, a limit, a stop key, the stop command. */
export type RecordingEndReason = "hangup" | "silence" | "max" | "key" | "stop";

/** Size of the canonical WAV header written in front of the PCM (encodeWav). */
export const WAV_HEADER_BYTES = 44;
/** Bytes of 16-bit mono PCM per millisecond at 8 kHz. */
const BYTES_PER_MS = (SAMPLE_RATE * 2) / 1000;
/** Hard cap on a recording's length, ms (30 minutes, ~28.8 MB of PCM held in memory). */
export const MAX_RECORDING_MS = 30 * 60 * 1000;
/** Hard cap on a recording's WAV size, bytes (header included): MAX_RECORDING_MS of audio. */
export const MAX_RECORDING_BYTES = WAV_HEADER_BYTES + MAX_RECORDING_MS * BYTES_PER_MS;
/** Length of a recording when no maxMs is given, ms (5 minutes). */
export const DEFAULT_RECORDING_MS = 5 * 60 * 1000;
/**
 * A 20 ms frame whose mean power is under this level (dBm0) is silence. Speech is around -20 dBm0,
 * a quiet line's noise under -55: -40 leaves room both ways.
 */
export const SILENCE_LEVEL_DBM0 = -40;
/** Shortest silence that may end a recording, ms (a pause between words is shorter). */
export const MIN_SILENCE_MS = 200;
/**
 * Longest hole in the received RTP timestamps that is filled with silence, ms, so the WAV keeps
 * the caller's timing across lost packets; a larger jump (a restarted stream) is not filled.
 */
export const MAX_GAP_FILL_MS = 1000;

/** Mean power (Int16 units²) of a 0 dBm0 sine: G.711's full scale is +3.14 dBm0 (see dtmf/levels.ts). */
const DBM0_POWER = (32768 * Math.pow(10, -3.14 / 20)) ** 2 / 2;
const SILENCE_POWER = DBM0_POWER * Math.pow(10, SILENCE_LEVEL_DBM0 / 10);
const MAX_GAP_FILL_SAMPLES = (SAMPLE_RATE * MAX_GAP_FILL_MS) / 1000;

export interface RecorderOptions {
  /** Longest recording, ms; default DEFAULT_RECORDING_MS, at most MAX_RECORDING_MS. */
  maxMs?: number;
  /** Largest WAV, bytes (44-byte header included); default and cap MAX_RECORDING_BYTES. */
  maxBytes?: number;
  /** End after this long without speech, counted from the first speech (never before it); 0/absent = off. */
  silenceMs?: number;
  /** Keys that end the recording (e.g. "#"); case-insensitive; none by default. */
  stopKeys?: string;
}

/** A finished recording, as PCM (the call layer makes the WAV and writes the file). */
export interface RecorderResult {
  pcm: Int16Array;
  durationMs: number;
  reason: RecordingEndReason;
  /** The stop key, with reason "key". */
  key?: string;
  startedAt: Date;
}

/** Where the RTP timestamp of a frame came from (gaps are filled only within one stream). */
export interface FrameTiming {
  ssrc: number;
  timestamp: number;
}

/** The limits actually applied, from user options (clamped to the hard caps). */
export function recorderLimits(o: RecorderOptions): { maxSamples: number; maxMs: number; silenceMs: number; stopKeys: string } {
  const finite = (v: number | undefined) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined);
  const maxMs = Math.min(finite(o.maxMs) ?? DEFAULT_RECORDING_MS, MAX_RECORDING_MS);
  const maxBytes = Math.min(finite(o.maxBytes) ?? MAX_RECORDING_BYTES, MAX_RECORDING_BYTES);
  const bySize = Math.max(0, Math.floor((maxBytes - WAV_HEADER_BYTES) / 2));
  const byLength = Math.floor((maxMs * SAMPLE_RATE) / 1000);
  const silence = finite(o.silenceMs);
  return {
    maxSamples: Math.min(bySize, byLength),
    maxMs,
    silenceMs: silence === undefined ? 0 : Math.min(Math.max(silence, MIN_SILENCE_MS), MAX_RECORDING_MS),
    stopKeys: String(o.stopKeys ?? "").toUpperCase(),
  };
}

export class Recorder {
  readonly finished: Promise<RecorderResult>;
  readonly startedAt: Date;
  private resolve!: (r: RecorderResult) => void;
  private readonly limits: ReturnType<typeof recorderLimits>;
  private readonly chunks: Int16Array[] = [];
  private samples = 0;
  private done = false;
  private maxTimer: unknown;
  private silenceTimer: unknown;
  private lastSpeechAt = -1;
  private expected?: FrameTiming;

  constructor(
    options: RecorderOptions = {},
    private readonly clock: Clock = systemClock,
    now: Date = new Date(),
  ) {
    this.startedAt = now;
    this.limits = recorderLimits(options);
    this.finished = new Promise((r) => (this.resolve = r));
    if (this.limits.maxSamples === 0) {
      this.end("max");
      return;
    }
    this.maxTimer = clock.setTimeout(() => this.end("max"), this.limits.maxMs);
  }

  get active(): boolean {
    return !this.done;
  }

  /** One received frame (any length; 160 samples from RTP), with its RTP timing when known. */
  push(pcm: Int16Array, timing?: FrameTiming): void {
    if (this.done || pcm.length === 0) return;
    if (timing) {
      const gap = this.gapBefore(timing, pcm.length);
      if (gap < 0) return; // a duplicate or a packet later than the one already written
      if (gap > 0) this.append(new Int16Array(gap));
      if (this.done) return;
    }
    this.append(pcm);
    if (this.done || !this.limits.silenceMs) return;
    let power = 0;
    for (let i = 0; i < pcm.length; i++) power += pcm[i] * pcm[i];
    if (power / pcm.length >= SILENCE_POWER) this.heardSpeech();
  }

  /** A key the caller pressed (any DTMF method); ends the recording when it is a stop key. */
  key(digit: string): void {
    const k = String(digit).toUpperCase();
    if (!this.done && k.length === 1 && this.limits.stopKeys.includes(k)) this.end("key", k);
  }

  /** Ends the recording (idempotent: the first reason wins). */
  end(reason: RecordingEndReason, key?: string): void {
    if (this.done) return;
    this.done = true;
    if (this.maxTimer !== undefined) this.clock.clearTimeout(this.maxTimer);
    if (this.silenceTimer !== undefined) this.clock.clearTimeout(this.silenceTimer);
    const pcm = new Int16Array(this.samples);
    let at = 0;
    for (const c of this.chunks) {
      pcm.set(c, at);
      at += c.length;
    }
    this.chunks.length = 0;
    const result: RecorderResult = { pcm, durationMs: Math.round((pcm.length * 1000) / SAMPLE_RATE), reason, startedAt: this.startedAt };
    if (key !== undefined) result.key = key;
    this.resolve(result);
  }

  /** Samples missing before this frame (0: in order; <0: not to be written). */
  private gapBefore(t: FrameTiming, length: number): number {
    const exp = this.expected;
    this.expected = { ssrc: t.ssrc, timestamp: (t.timestamp + length) >>> 0 };
    if (!exp || exp.ssrc !== t.ssrc) return 0;
    // RTP timestamps wrap at 2^32: the signed 32-bit difference.
    const diff = ((t.timestamp - exp.timestamp) << 0) | 0;
    if (diff < 0 && diff > -MAX_GAP_FILL_SAMPLES) {
      this.expected = exp; // keep waiting for what follows the last written frame
      return -1;
    }
    return diff > 0 && diff <= MAX_GAP_FILL_SAMPLES ? diff : 0;
  }

  private append(pcm: Int16Array): void {
    const room = this.limits.maxSamples - this.samples;
    const take = pcm.length <= room ? pcm : pcm.subarray(0, room);
    // Copy: the caller's buffer may be reused.
    this.chunks.push(Int16Array.from(take));
    this.samples += take.length;
    if (this.samples >= this.limits.maxSamples) this.end("max");
  }

  /** Speech: (re)starts the silence count; the timer re-arms itself rather than on every frame. */
  private heardSpeech(): void {
    this.lastSpeechAt = this.clock.now();
    if (this.silenceTimer === undefined) this.armSilence(this.limits.silenceMs);
  }

  private armSilence(ms: number): void {
    this.silenceTimer = this.clock.setTimeout(
      () => {
        this.silenceTimer = undefined;
        const quiet = this.clock.now() - this.lastSpeechAt;
        if (quiet >= this.limits.silenceMs) this.end("silence");
        else this.armSilence(this.limits.silenceMs - quiet);
      },
      Math.max(ms, FRAME_MS / 2),
    );
  }
}
