// RFC 4733 telephone-event payloads (DTMF events 0-15): codec, a receiver
// that reports every key press exactly once, and a sender that plays a digit
// string as a sequence of event frames for the RTP session.
import { DTMF_DIGITS, type DtmfDigit } from "../types";
import { FRAME_MS, SAMPLE_RATE } from "../media/audio-format";
import type { FrameSource, OutgoingFrame, RtpPacketInfo } from "../media/rtp-session";

/** RFC 4733 section 3.2: events 0-9, *, #, A-D are DTMF_DIGITS in order. */
export function eventToDigit(event: number): DtmfDigit | undefined {
  return DTMF_DIGITS[event];
}

/** Event code of a key; a-d are accepted in lower case. */
export function digitToEvent(digit: string): number {
  const i = DTMF_DIGITS.indexOf(digit.toUpperCase() as DtmfDigit);
  if (digit.length !== 1 || i < 0) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return i;
}

export interface TelephoneEvent {
  /** 0-255; 0-15 are DTMF keys. */
  event: number;
  /** E bit: this packet ends the event. */
  end: boolean;
  /** Power level as -dBm0, 0-63. */
  volume: number;
  /** Duration so far in timestamp units (1/8000 s), 0-65535. */
  duration: number;
}

/** The 4-byte payload (RFC 4733 section 2.3). */
export function encodeTelephoneEvent(ev: TelephoneEvent): Buffer {
  if (!Number.isInteger(ev.event) || ev.event < 0 || ev.event > 255) throw new RangeError(`event out of range: ${ev.event}`);
  if (!Number.isInteger(ev.volume) || ev.volume < 0 || ev.volume > 63) throw new RangeError(`volume out of range: ${ev.volume}`);
  if (!Number.isInteger(ev.duration) || ev.duration < 0 || ev.duration > 0xffff) throw new RangeError(`duration out of range: ${ev.duration}`);
  const b = Buffer.alloc(4);
  b[0] = ev.event;
  b[1] = (ev.end ? 0x80 : 0) | ev.volume; // R bit stays 0
  b.writeUInt16BE(ev.duration, 2);
  return b;
}

/** Decodes the first event of a payload; null if shorter than 4 bytes. */
export function decodeTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (payload.length < 4) return null;
  return {
    event: payload[0],
    end: (payload[1] & 0x80) !== 0,
    volume: payload[1] & 0x3f,
    duration: (payload[2] << 8) | payload[3],
  };
}

export interface ReceivedDtmfEvent {
  digit: DtmfDigit;
  event: number;
  ssrc: number;
  /** RTP timestamp of the event start (shared by all its packets). */
  timestamp: number;
  /** -dBm0 from the first packet seen. */
  volume: number;
  /** False when the first packet seen was not the marked start packet (start lost or reordered). */
  startSeen: boolean;
}

export interface Rfc4733ReceiverOptions {
  /** Events remembered per SSRC for duplicate suppression. Default 32, at most MAX_RFC4733_HISTORY. */
  historySize?: number;
}

/**
 * SSRCs whose duplicate-suppression state is kept; the least recently heard is forgotten first.
 * A call has one or two (audio and events); the cap bounds what forged SSRCs can allocate.
 */
export const MAX_RFC4733_STREAMS = 8;
/** Upper bound of historySize. */
export const MAX_RFC4733_HISTORY = 256;

interface SsrcState {
  /** Recently reported events, oldest first; keys are timestamp * 256 + event. */
  recent: number[];
  seen: Set<number>;
  /** The newest event, to recognise RFC 4733 section 2.5.1.3 long-event segments. */
  last: { timestamp: number; event: number; maxDuration: number; ended: boolean } | null;
}

/**
 * Turns telephone-event packets into key presses. An event is identified by
 * (SSRC, RTP timestamp, event code): it is reported on the first packet that
 * arrives for it, whatever its kind (start, continuation, or any of the
 * three end packets), so lost start or end packets neither hide nor repeat
 * it, and the same key pressed twice (two timestamps) is two events.
 * Identity by exact key also makes timestamp and sequence wrap-around and
 * reordering harmless.
 */
export class Rfc4733Receiver {
  private readonly historySize: number;
  private readonly streams = new Map<number, SsrcState>();

  constructor(opts: Rfc4733ReceiverOptions = {}) {
    this.historySize = Math.min(MAX_RFC4733_HISTORY, Math.max(1, Math.floor(opts.historySize ?? 32) || 1));
  }

  /** Feeds one telephone-event payload; returns the key press if this packet is its first. */
  receive(payload: Uint8Array, info: RtpPacketInfo): ReceivedDtmfEvent | null {
    const ev = decodeTelephoneEvent(payload);
    if (ev === null) return null;
    const ssrc = info.ssrc >>> 0;
    const timestamp = info.timestamp >>> 0;
    let st = this.streams.get(ssrc);
    if (st) {
      // Most recently heard last: Map iteration order is the eviction order.
      this.streams.delete(ssrc);
    } else {
      st = { recent: [], seen: new Set(), last: null };
      while (this.streams.size >= MAX_RFC4733_STREAMS) this.streams.delete(this.streams.keys().next().value as number);
    }
    this.streams.set(ssrc, st);

    const key = timestamp * 256 + ev.event;
    const last = st.last;
    if (last && last.timestamp === timestamp && last.event === ev.event) {
      last.maxDuration = Math.max(last.maxDuration, ev.duration);
      last.ended ||= ev.end;
    }
    if (st.seen.has(key)) return null;

    // An event longer than 0xFFFF units continues in a new segment whose
    // timestamp is the old one plus the old duration, without marker.
    if (
      last &&
      !last.ended &&
      !info.marker &&
      last.event === ev.event &&
      last.maxDuration >= 0xffff - 1600 &&
      (timestamp - last.timestamp) >>> 0 <= 0x10000
    ) {
      this.remember(st, key);
      st.last = { timestamp, event: ev.event, maxDuration: ev.duration, ended: ev.end };
      return null;
    }

    this.remember(st, key);
    st.last = { timestamp, event: ev.event, maxDuration: ev.duration, ended: ev.end };
    const digit = eventToDigit(ev.event);
    if (digit === undefined) return null; // flash, tones etc.: not keys
    return { digit, event: ev.event, ssrc, timestamp, volume: ev.volume, startSeen: info.marker };
  }

  /** SSRCs currently remembered (at most MAX_RFC4733_STREAMS). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Forgets all streams (e.g. after a re-INVITE to a new peer). */
  reset(): void {
    this.streams.clear();
  }

  private remember(st: SsrcState, key: number): void {
    st.recent.push(key);
    st.seen.add(key);
    while (st.recent.length > this.historySize) st.seen.delete(st.recent.shift() as number);
  }
}

export interface Rfc4733SenderOptions {
  /** Event length per digit, ms. Default 100. */
  durationMs?: number;
  /** Pause from one event's end to the next event's start, ms. Default 80. */
  gapMs?: number;
  /** Volume field, -dBm0. Default 10. */
  volume?: number;
  /** Interval between nextFrame() calls (the RTP packet time), ms. Default 20. */
  frameMs?: number;
  /** Times the end packet is sent. Default 3 (RFC 4733 section 2.5.1.4). */
  endRepeats?: number;
  /** RTP clock rate of telephone-event. Default 8000. */
  clockRate?: number;
}

/**
 * Pull-based RFC 4733 sender. Each nextFrame() is one packet time: event
 * packets with growing duration, the final one with the E bit sent
 * `endRepeats` times, then null (the RTP session sends audio or silence)
 * until the next digit is due. The RTP session stamps every packet of an
 * event with the event's start timestamp and marks the eventStart packet.
 */
export class Rfc4733Sender implements FrameSource {
  private readonly frames: (OutgoingFrame | null)[] = [];
  private pos = 0;

  constructor(digits: string, opts: Rfc4733SenderOptions = {}) {
    const clock = opts.clockRate ?? SAMPLE_RATE;
    const frameMs = opts.frameMs ?? FRAME_MS;
    const step = Math.round((frameMs * clock) / 1000);
    const duration = Math.round(((opts.durationMs ?? 100) * clock) / 1000);
    const gap = Math.round(((opts.gapMs ?? 80) * clock) / 1000);
    const volume = opts.volume ?? 10;
    const repeats = Math.max(1, opts.endRepeats ?? 3);
    if (!(step > 0)) throw new RangeError("frameMs must be positive");
    if (duration < 1 || duration > 0xffff) throw new RangeError(`durationMs must give 1-65535 timestamp units, got ${duration}`);

    const events = [...digits].map(digitToEvent);
    events.forEach((event, i) => {
      const first = this.frames.length;
      // Packet k covers the event up to (k + 1) packet times, RFC 4733 2.5.1.2.
      for (let d = step; d < duration; d += step) {
        this.frames.push(eventFrame({ event, end: false, volume, duration: d }, this.frames.length === first));
      }
      for (let r = 0; r < repeats; r++) {
        this.frames.push(eventFrame({ event, end: true, volume, duration }, this.frames.length === first));
      }
      if (i < events.length - 1) {
        // The next start is due (duration + gap) after this start, but never
        // before the end retransmissions are out.
        const due = first + Math.ceil((duration + gap) / step);
        while (this.frames.length < due) this.frames.push(null);
      }
    });
  }

  /** True once every packet has been handed out. */
  get done(): boolean {
    return this.pos >= this.frames.length;
  }

  nextFrame(): OutgoingFrame | null {
    return this.pos < this.frames.length ? this.frames[this.pos++] : null;
  }
}

function eventFrame(ev: TelephoneEvent, eventStart: boolean): OutgoingFrame {
  return { kind: "event", payload: encodeTelephoneEvent(ev), eventStart };
}
