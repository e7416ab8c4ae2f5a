// One text being synthesised piece by piece, read by any number of listeners: a call that
// streams it, and others that asked for the same text meanwhile and want it whole. The job
// always runs to its end even when a listener stops reading (barge-in), so the whole message
// reaches the cache and its next use costs nothing.
import { concatPcm } from "./pcm";

export class SynthesisJob {
  private readonly parts: Int16Array[] = [];
  private finished = false;
  private failure?: Error;
  private waiting: Array<() => void> = [];
  private wholeAudio?: Int16Array;

  /** A job that is already complete (a cache hit). */
  static done(pcm: Int16Array): SynthesisJob {
    const job = new SynthesisJob();
    job.push(pcm);
    job.finish();
    return job;
  }

  push(pcm: Int16Array): void {
    this.parts.push(pcm);
    this.wake();
  }

  finish(): void {
    this.finished = true;
    this.wake();
  }

  fail(e: Error): void {
    if (this.finished) return; // every piece was delivered; a later error (the cache) is not theirs
    this.failure = e;
    this.wake();
  }

  /** The pieces in order, each a fresh copy the reader owns; throws what the synthesis threw. */
  async *pieces(): AsyncGenerator<Int16Array> {
    for (let i = 0; ;) {
      if (i < this.parts.length) {
        yield this.parts[i++].slice();
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.finished) return;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** The whole audio once every piece is made (shared: copy before changing it). */
  async whole(): Promise<Int16Array> {
    while (!this.finished && !this.failure) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failure) throw this.failure;
    this.wholeAudio ??= concatPcm(this.parts);
    return this.wholeAudio;
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const resolve of w) resolve();
  }
}
