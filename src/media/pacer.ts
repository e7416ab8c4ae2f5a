// One drift-free 20 ms clock for every RTP stream of the process.
//
// Frame k is due at start + k * frameMs on a monotonic clock. Each wake-up
// ticks every stream once per due frame, so timer lateness never accumulates.
// After a stall longer than the catch-up limit we skip ahead instead of
// bursting, and tell the streams how many frames they skipped so their RTP
// timestamps still follow wall time (the peer then sees a gap, not a burst).

import { systemClock, type Clock } from "../clock";
import { FRAME_MS } from "./audio-format";

export interface PacedStream {
  /**
   * Called once per due frame. `skippedFrames` is > 0 only on the first tick
   * after a resync and counts the frames that were dropped instead of sent.
   */
  tick(skippedFrames: number): void;
}

export interface PacerOptions {
  /** Default systemClock (monotonic). */
  clock?: Clock;
  /** Frame period, default 20 ms. */
  frameMs?: number;
  /** Most frames ticked back to back after a late wake-up before resyncing; default 5 (100 ms). */
  maxCatchUpFrames?: number;
  /**
   * A frame due within this many ms counts as due now (default 1). Node's timers
   * run on a cached millisecond loop clock and often fire a fraction of a ms
   * early; without this every such wake-up would be a wasted re-arm plus ~1 ms of jitter.
   */
  earlyToleranceMs?: number;
  /** Called when a stream's tick throws; the other streams keep running. */
  onError?: (error: unknown, stream: PacedStream) => void;
}

export interface PacerStats {
  streams: number;
  wakeups: number;
  /** Frame slots ticked (each slot ticks every stream once). */
  frames: number;
  skippedFrames: number;
  resyncs: number;
  errors: number;
}

export class Pacer {
  private readonly clock: Clock;
  private readonly frameMs: number;
  private readonly maxCatchUpFrames: number;
  private readonly earlyToleranceMs: number;
  private readonly onError?: (error: unknown, stream: PacedStream) => void;

  private readonly streams = new Set<PacedStream>();
  private snapshot: PacedStream[] = [];
  private timer: unknown = null;
  private startMs = 0;
  /** Index of the next frame to tick. */
  private nextFrame = 0;
  /** True inside wake(): registrations then join the running grid instead of restarting it. */
  private waking = false;
  private counters = { wakeups: 0, frames: 0, skippedFrames: 0, resyncs: 0, errors: 0 };

  constructor(options: PacerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.frameMs = options.frameMs ?? FRAME_MS;
    this.maxCatchUpFrames = Math.max(1, options.maxCatchUpFrames ?? 5);
    this.earlyToleranceMs = Math.max(0, options.earlyToleranceMs ?? 1);
    this.onError = options.onError;
  }

  get size(): number {
    return this.streams.size;
  }

  /** True while a timer is armed (i.e. at least one stream is registered). */
  get running(): boolean {
    return this.timer !== null;
  }

  has(stream: PacedStream): boolean {
    return this.streams.has(stream);
  }

  /** Adds a stream; it is ticked from the next due frame on. Starts the clock if idle. */
  register(stream: PacedStream): void {
    if (this.streams.has(stream)) return;
    this.streams.add(stream);
    this.snapshot = [...this.streams];
    if (this.timer === null && !this.waking) {
      this.startMs = this.clock.now();
      this.nextFrame = 0;
      this.arm();
    }
  }

  /** Removes a stream; the timer stops when none is left so the process can exit. */
  unregister(stream: PacedStream): void {
    if (!this.streams.delete(stream)) return;
    this.snapshot = [...this.streams];
    if (this.streams.size === 0) this.stop();
  }

  stats(): PacerStats {
    return { streams: this.streams.size, ...this.counters };
  }

  private stop(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private arm(): void {
    const delay = this.startMs + this.nextFrame * this.frameMs - this.clock.now();
    this.timer = this.clock.setTimeout(() => this.wake(), Math.max(0, delay));
  }

  private wake(): void {
    this.timer = null;
    if (this.streams.size === 0) return;
    this.counters.wakeups++;
    const lastDue = Math.floor((this.clock.now() + this.earlyToleranceMs - this.startMs) / this.frameMs);
    let due = lastDue - this.nextFrame + 1;
    let skipped = 0;
    if (due > this.maxCatchUpFrames) {
      // Stalled: send only the current frame; the rest become a timestamp gap.
      skipped = due - 1;
      this.nextFrame += skipped;
      this.counters.skippedFrames += skipped;
      this.counters.resyncs++;
      due = 1;
    }
    this.waking = true;
    try {
      for (let i = 0; i < due; i++) {
        this.tickAll(i === 0 ? skipped : 0);
        this.nextFrame++;
        this.counters.frames++;
      }
    } finally {
      this.waking = false;
    }
    // A tick may have unregistered the last stream.
    if (this.streams.size > 0 && this.timer === null) this.arm();
  }

  private tickAll(skipped: number): void {
    for (const stream of this.snapshot) {
      if (!this.streams.has(stream)) continue; // unregistered earlier in this loop
      try {
        stream.tick(skipped);
      } catch (error) {
        this.counters.errors++;
        this.onError?.(error, stream);
      }
    }
  }
}

/** The process-wide pacer all RTP sessions share by default. */
export const defaultPacer = new Pacer();
