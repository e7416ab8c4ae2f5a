// One session's frames to send in the media worker: the main thread's look-ahead, played in order.
//
// The slots of a batch (protocol.ts) are copied as they are into a ring of bytes, so a frame waiting
// here is not a JavaScript object. Frames wait up to MEDIA_LOOKAHEAD_MS (300 ms): as objects, 1000
// calls kept ~15 000 of them alive across young-generation collections, and promoting them made the
// worker's old generation grow and collect about once a second, stalling the pacer.
import type { FrameSource, OutgoingFrame } from "../rtp-session";
import { FRAME_SLOT_BYTES, frameAt } from "./protocol";

/** Slots a ring starts with: the look-ahead (15 frames) and a report's lag fit without growing. */
export const FRAME_RING_INITIAL_SLOTS = 32;

export class FrameRing implements FrameSource {
  private slots: Uint8Array;
  private capacity: number;
  private head = 0;
  private size = 0;
  /** Frames played or flushed so far (the index of the next one). */
  played = 0;
  /** Something was played or flushed since the last report. */
  changed = false;

  /** `maxFrames`: most frames held; more are dropped (the main thread keeps far fewer ahead). */
  constructor(private readonly maxFrames: number) {
    this.capacity = Math.max(1, Math.min(FRAME_RING_INITIAL_SLOTS, maxFrames));
    this.slots = new Uint8Array(this.capacity * FRAME_SLOT_BYTES);
  }

  get length(): number {
    return this.size;
  }

  /** Appends `count` slots from `batch` at byte `offset`, numbered from `first`. */
  push(first: number, batch: Uint8Array, offset: number, count: number): void {
    // After a flush the main thread numbers on from its flush point: frames below what was dropped are stale.
    const stale = Math.max(0, Math.min(count, this.played + this.size - first));
    const take = Math.min(count - stale, this.maxFrames - this.size);
    if (take <= 0) return;
    if (this.size + take > this.capacity) this.grow(this.size + take);
    let from = offset + stale * FRAME_SLOT_BYTES;
    let left = take;
    while (left > 0) {
      const tail = (this.head + this.size) % this.capacity;
      const n = Math.min(left, this.capacity - tail);
      this.slots.set(batch.subarray(from, from + n * FRAME_SLOT_BYTES), tail * FRAME_SLOT_BYTES);
      from += n * FRAME_SLOT_BYTES;
      this.size += n;
      left -= n;
    }
  }

  /** Drops every frame held; the next one expected is `upTo` (or later). */
  flush(upTo: number): void {
    this.head = 0;
    this.size = 0;
    if (upTo > this.played) this.played = upTo;
    this.changed = true;
  }

  /** The next frame: a view into the ring, valid until the next push (RtpSession sends it at once). */
  nextFrame(): OutgoingFrame | null {
    if (this.size === 0) return null;
    const at = this.head * FRAME_SLOT_BYTES;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    this.played++;
    this.changed = true;
    return frameAt(this.slots, at);
  }

  private grow(needed: number): void {
    let capacity = this.capacity;
    while (capacity < needed) capacity *= 2;
    capacity = Math.max(this.capacity, Math.min(capacity, this.maxFrames));
    const slots = new Uint8Array(capacity * FRAME_SLOT_BYTES);
    // Unrolled in order: the oldest frame first.
    for (let i = 0; i < this.size; i++) {
      const at = ((this.head + i) % this.capacity) * FRAME_SLOT_BYTES;
      slots.set(this.slots.subarray(at, at + FRAME_SLOT_BYTES), i * FRAME_SLOT_BYTES);
    }
    this.slots = slots;
    this.capacity = capacity;
    this.head = 0;
  }
}
