// The audio a call plays, as a queue of 8 kHz clips cut into 20 ms frames for the
// RTP pacer. Cheap on the hot path: nextFrame() is a subarray, no copies.

import { EventEmitter } from "events";
import { SAMPLE_RATE, SAMPLES_PER_FRAME } from "../media/audio-format";
import { concatPcm } from "../speech/pcm";
import type { FrameSource, OutgoingFrame } from "../media/rtp-session";

const FRAME = SAMPLES_PER_FRAME;

export interface PlaybackItem {
  id: number;
  /** The clip; for a streamed clip, the part that has arrived (all of it once it has finished). */
  pcm: Int16Array;
  /** What is played, for messages (text or file name). */
  label: string;
}

export interface PlaybackEvents {
  started: [item: PlaybackItem];
  finished: [item: PlaybackItem, interrupted: boolean];
  idle: [];
  /** Audio was queued (a clip, or a piece of a streamed one): a sender pulling ahead pulls now. */
  queued: [];
  /** What played was stopped: frames pulled ahead of the sender must be dropped. */
  interrupted: [];
}

/** The producer's side of a clip that arrives in pieces (streaming speech). */
export interface StreamedClip {
  readonly item: PlaybackItem;
  /** The clip was stopped or dropped: make no more pieces. */
  readonly stopped: boolean;
  append(pcm: Int16Array): void;
  /** No more pieces: the clip finishes when what arrived has played. */
  end(): void;
}

interface Entry {
  item: PlaybackItem;
  pieces: Int16Array[];
  /** More pieces may come. */
  open: boolean;
  stopped: boolean;
}

export class PlaybackQueue extends EventEmitter<PlaybackEvents> implements FrameSource {
  private readonly queue: Entry[] = [];
  private current?: Entry;
  /** Position in the current entry: piece index and sample offset in it. */
  private piece = 0;
  private offset = 0;
  private nextId = 1;
  private readonly tail = new Int16Array(FRAME);
  /** Frames of silence played because the next piece of a streamed clip was not ready. */
  underruns = 0;
  /**
   * Runs a clip's "finished" once its last frame has really been sent: a sender that pulls frames
   * ahead (the media worker) sets it to wait for that; alone, it runs after this frame is handed over.
   */
  whenPlayed: (fn: () => void) => void = (fn) => setImmediate(fn);

  /** Clips that have been handed out whole but are not sent yet (see whenPlayed). */
  private unheard = 0;

  /** Something plays, waits, or has been handed out and is not yet sent. */
  get playing(): boolean {
    return !!this.current || this.queue.length > 0 || this.unheard > 0;
  }

  /** Queues a clip; with `interrupt`, stops what plays and drops what waits. */
  enqueue(pcm: Int16Array, label: string, interrupt = false): PlaybackItem {
    return this.add([pcm], false, label, interrupt).item;
  }

  /** Queues a clip whose audio arrives in pieces; its first piece is given now. */
  enqueueStream(first: Int16Array, label: string, interrupt = false): StreamedClip {
    const entry = this.add([first], true, label, interrupt);
    return {
      item: entry.item,
      get stopped() {
        return entry.stopped;
      },
      append: (pcm) => {
        if (entry.open && !entry.stopped && pcm.length > 0) {
          entry.pieces.push(pcm);
          this.emit("queued");
        }
      },
      end: () => {
        if (!entry.open) return;
        entry.open = false;
        entry.item.pcm = concatPcm(entry.pieces);
        if (this.current === entry && this.piece >= entry.pieces.length) this.finishCurrent();
      },
    };
  }

  /** Stops the current clip and clears the queue (barge-in, hang-up). */
  stop(): void {
    const dropped = this.queue.splice(0);
    const cur = this.current;
    this.current = undefined;
    this.piece = 0;
    this.offset = 0;
    if (cur || dropped.length > 0) this.emit("interrupted");
    for (const e of cur ? [cur, ...dropped] : dropped) {
      e.stopped = true;
      this.emit("finished", e.item, true);
    }
  }

  nextFrame(): OutgoingFrame | null {
    let talkspurtStart = false;
    if (!this.current) {
      const next = this.queue.shift();
      if (!next) return null;
      this.current = next;
      this.piece = 0;
      this.offset = 0;
      talkspurtStart = true;
      this.emit("started", next.item);
    }
    const entry = this.current;
    const pieces = entry.pieces;
    let pcm: Int16Array;
    const here = pieces[this.piece];
    if (here && this.offset + FRAME <= here.length) {
      pcm = here.subarray(this.offset, this.offset + FRAME); // the common case: no copy
      this.offset += FRAME;
      if (this.offset >= here.length) {
        this.piece++;
        this.offset = 0;
      }
    } else {
      // A frame across pieces, the last partial frame, or a piece not made yet (silence).
      this.tail.fill(0);
      let filled = 0;
      while (filled < FRAME && this.piece < pieces.length) {
        const p = pieces[this.piece];
        const n = Math.min(FRAME - filled, p.length - this.offset);
        this.tail.set(p.subarray(this.offset, this.offset + n), filled);
        filled += n;
        this.offset += n;
        if (this.offset >= p.length) {
          this.piece++;
          this.offset = 0;
        }
      }
      if (filled < FRAME && entry.open) this.underruns++;
      pcm = this.tail;
    }
    if (!entry.open && this.piece >= pieces.length) this.finishCurrent();
    return { kind: "audio", pcm, talkspurtStart };
  }

  private add(pieces: Int16Array[], open: boolean, label: string, interrupt: boolean): Entry {
    if (interrupt) this.stop();
    const entry: Entry = { item: { id: this.nextId++, pcm: concatPcm(pieces), label }, pieces, open, stopped: false };
    this.queue.push(entry);
    this.emit("queued");
    return entry;
  }

  private finishCurrent(): void {
    const item = this.current!.item;
    this.current = undefined;
    this.unheard++;
    // Announce once this frame is sent (outside the pull).
    this.whenPlayed(() => {
      this.unheard--;
      this.emit("finished", item, false);
      if (!this.playing) this.emit("idle");
    });
  }
}

/** Silence of the given length, to space out repeated messages. */
export function silence(ms: number): Int16Array {
  return new Int16Array(Math.round((ms * SAMPLE_RATE) / 1000));
}
