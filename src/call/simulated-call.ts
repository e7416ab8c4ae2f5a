// The editor's call simulator: a virtual incoming call that takes the account's normal inbound path
// (limits, caller filter, greeting rows, claims, answer/reject by the flow) with no SIP and no RTP.
// SimulatedSession stands in for sip.js's Invitation where a Call needs one; SimulatedAudio pulls
// the call's outgoing audio (Call.nextFrame(), as the RTP path does) every 20 ms and hands it out
// in batches for the browser.

import { EventEmitter } from "events";
import { SessionState } from "sip.js";
import { systemClock, type Clock } from "../clock";
import { FRAME_MS, SAMPLES_PER_FRAME } from "../media/audio-format";
import type { FrameSource } from "../media/rtp-session";

/** Simulated calls at the same time per account (each is paced and streamed to the editor). */
export const SIMULATED_CALLS_MAX = 2;
/** A simulated call is hung up after this long, answered or not (ms). */
export const SIMULATED_CALL_MAX_MS = 10 * 60_000;
/** Frames per batch handed to the editor: 5 × 20 ms = 100 ms of audio (1600 bytes of 16-bit PCM). */
export const SIMULATED_BATCH_FRAMES = 5;
/** Frames caught up at most in one tick after the event loop stalled (the rest is dropped, not bursted). */
export const SIMULATED_CATCH_UP_FRAMES = 25;
/** Longest caller number and name a simulation takes (characters). */
export const SIMULATED_NUMBER_MAX = 32;
export const SIMULATED_NAME_MAX = 64;

type Listener = (state: SessionState) => void;

/**
 * The part of sip.js's Session (an Invitation) that Call, CallManager and CallDtmf use, for a call
 * with no SIP: accept() answers, bye()/reject()/dispose() end it; requests into the call (INFO,
 * re-INVITE, REFER) fail. `dialog` is undefined, so nothing SIP-level is patched.
 */
export class SimulatedSession {
  state: SessionState = SessionState.Initial;
  delegate: object | undefined = undefined;
  readonly dialog = undefined;
  private readonly listeners: Listener[] = [];
  readonly stateChange = {
    addListener: (fn: Listener) => void this.listeners.push(fn),
    removeListener: (fn: Listener) => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    },
  };

  private move(state: SessionState): void {
    if (this.state === state || this.state === SessionState.Terminated) return;
    this.state = state;
    for (const fn of [...this.listeners]) fn(state);
  }

  progress(): Promise<void> {
    return Promise.resolve();
  }
  accept(): Promise<void> {
    if (this.state !== SessionState.Initial) return Promise.reject(new Error(`simulated call is ${this.state}`));
    this.move(SessionState.Established);
    return Promise.resolve();
  }
  reject(): Promise<void> {
    this.move(SessionState.Terminated);
    return Promise.resolve();
  }
  bye(): Promise<void> {
    this.move(SessionState.Terminated);
    return Promise.resolve();
  }
  dispose(): Promise<void> {
    this.move(SessionState.Terminated);
    return Promise.resolve();
  }
  info(): Promise<never> {
    return Promise.reject(new Error("a simulated call has no SIP: SIP INFO cannot be sent"));
  }
  invite(): Promise<never> {
    return Promise.reject(new Error("a simulated call has no SIP: no re-INVITE"));
  }
  refer(): Promise<never> {
    return Promise.reject(new Error("a simulated call has no SIP: no transfer"));
  }
}

export interface SimulatedAudioEvents {
  /** SIMULATED_BATCH_FRAMES frames of 16-bit PCM at 8 kHz (silence where nothing plays). */
  audio: [pcm: Int16Array];
}

/**
 * The simulated call's "RTP": every FRAME_MS one frame from the call (audio frames as they are,
 * DTMF events as silence), in batches of SIMULATED_BATCH_FRAMES. Deadline-based (no drift); after a
 * stall at most SIMULATED_CATCH_UP_FRAMES are caught up.
 */
export class SimulatedAudio extends EventEmitter<SimulatedAudioEvents> {
  private timer: unknown;
  private nextAt = 0;
  private batch = new Int16Array(SIMULATED_BATCH_FRAMES * SAMPLES_PER_FRAME);
  private filled = 0;

  constructor(
    private readonly source: FrameSource,
    private readonly clock: Clock = systemClock,
  ) {
    super();
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.nextAt = this.clock.now();
    this.tick();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.filled = 0;
  }

  private tick(): void {
    const now = this.clock.now();
    let due = Math.floor((now - this.nextAt) / FRAME_MS) + 1;
    if (due > SIMULATED_CATCH_UP_FRAMES) {
      this.nextAt += (due - SIMULATED_CATCH_UP_FRAMES) * FRAME_MS;
      due = SIMULATED_CATCH_UP_FRAMES;
    }
    for (let i = 0; i < due; i++) {
      this.pull();
      this.nextAt += FRAME_MS;
    }
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(1, this.nextAt - this.clock.now()));
  }

  private pull(): void {
    let frame;
    try {
      frame = this.source.nextFrame();
    } catch {
      frame = null; // a failing source plays silence, as a real call would send nothing
    }
    if (frame?.kind === "audio") this.batch.set(frame.pcm.subarray(0, SAMPLES_PER_FRAME), this.filled * SAMPLES_PER_FRAME);
    else this.batch.fill(0, this.filled * SAMPLES_PER_FRAME, (this.filled + 1) * SAMPLES_PER_FRAME);
    this.filled++;
    if (this.filled < SIMULATED_BATCH_FRAMES) return;
    const out = this.batch;
    this.batch = new Int16Array(SIMULATED_BATCH_FRAMES * SAMPLES_PER_FRAME);
    this.filled = 0;
    try {
      this.emit("audio", out);
    } catch {
      // a failing listener must not stop the pacing (nor escape into the timer)
    }
  }
}

/** The caller of a simulation, checked: a dialable number (digits, + * #) and an optional printable name. */
export function simulatedCaller(from: unknown, name: unknown): { number: string; name?: string } {
  const number = typeof from === "string" ? from.trim() : "";
  if (!number) throw new Error("simulate: give the caller's number");
  if (number.length > SIMULATED_NUMBER_MAX || !/^\+?[0-9*#]+$/.test(number))
    throw new Error(`simulate: the caller's number must be digits (+, * and # allowed), at most ${SIMULATED_NUMBER_MAX}`);
  const n = typeof name === "string" ? name.replace(/\p{Cc}/gu, "").trim() : "";
  if (n.length > SIMULATED_NAME_MAX) throw new Error(`simulate: the caller's name is longer than ${SIMULATED_NAME_MAX} characters`);
  return n ? { number, name: n } : { number };
}
