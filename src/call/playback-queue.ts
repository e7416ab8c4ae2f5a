// The audio a call plays, as a queue of 8 kHz clips cut into 20 ms frames for the
// RTP pacer. Cheap on the hot path: nextFrame() is a subarray, no copies.

import { EventEmitter } from "events";
import { SAMPLE_RATE, SAMPLES_PER_FRAME } from "../media/audio-format";
import type { FrameSource, OutgoingFrame } from "../media/rtp-session";

const FRAME = SAMPLES_PER_FRAME;

export interface PlaybackItem {
  id: number;
  pcm: Int16Array;
  /** What is played, for messages (text or file name). */
  label: string;
}

export interface PlaybackEvents {
  started: [item: PlaybackItem];
  finished: [item: PlaybackItem, interrupted: boolean];
  idle: [];
}

export class PlaybackQueue extends EventEmitter<PlaybackEvents> implements FrameSource {
  private readonly queue: PlaybackItem[] = [];
  private current?: PlaybackItem;
  private offset = 0;
  private nextId = 1;
  private readonly tail = new Int16Array(FRAME);

  get playing(): boolean {
    return !!this.current || this.queue.length > 0;
  }

  /** Queues a clip; with `interrupt`, stops what plays and drops what waits. */
  enqueue(pcm: Int16Array, label: string, interrupt = false): PlaybackItem {
    if (interrupt) this.stop();
    const item = { id: this.nextId++, pcm, label };
    this.queue.push(item);
    return item;
  }

  /** Stops the current clip and clears the queue (barge-in, hang-up). */
  stop(): void {
    const dropped = this.queue.splice(0);
    const cur = this.current;
    this.current = undefined;
    this.offset = 0;
    if (cur) this.emit("finished", cur, true);
    for (const item of dropped) this.emit("finished", item, true);
  }

  nextFrame(): OutgoingFrame | null {
    let talkspurtStart = false;
    if (!this.current) {
      const next = this.queue.shift();
      if (!next) return null;
      this.current = next;
      this.offset = 0;
      talkspurtStart = true;
      this.emit("started", next);
    }
    const item = this.current;
    const end = this.offset + FRAME;
    let pcm: Int16Array;
    if (end <= item.pcm.length) {
      pcm = item.pcm.subarray(this.offset, end);
    } else {
      this.tail.fill(0);
      this.tail.set(item.pcm.subarray(this.offset));
      pcm = this.tail;
    }
    this.offset = end;
    if (this.offset >= item.pcm.length) {
      this.current = undefined;
      // Announce after this frame is handed over, outside the pacer's tick.
      setImmediate(() => {
        this.emit("finished", item, false);
        if (!this.playing) this.emit("idle");
      });
    }
    return { kind: "audio", pcm, talkspurtStart };
  }
}

/** Silence of the given length, to space out repeated messages. */
export function silence(ms: number): Int16Array {
  return new Int16Array(Math.round((ms * SAMPLE_RATE) / 1000));
}
