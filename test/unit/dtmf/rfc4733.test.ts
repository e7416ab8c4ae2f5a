import assert from "node:assert/strict";
import { DTMF_DIGITS } from "../../../src/types.js";
import type { FrameSource, OutgoingFrame, RtpPacketInfo } from "../../../src/media/rtp-session.js";
import {
  Rfc4733Receiver,
  Rfc4733Sender,
  decodeTelephoneEvent,
  digitToEvent,
  encodeTelephoneEvent,
  eventToDigit,
  type ReceivedDtmfEvent,
} from "../../../src/dtmf/rfc4733.js";

interface Pkt {
  payload: Buffer;
  info: RtpPacketInfo;
}

/** Builds RTP packets the way a sender would, sharing one SSRC/sequence space with audio. */
class Stream {
  constructor(
    public ssrc: number,
    public seq = 1000,
  ) {}

  /** An audio packet: only advances the sequence number (the DTMF layer never sees it). */
  audio(): void {
    this.seq = (this.seq + 1) & 0xffff;
  }

  ev(event: number, timestamp: number, duration: number, end = false, marker = false): Pkt {
    const info = { ssrc: this.ssrc, seq: this.seq, timestamp: timestamp >>> 0, marker };
    this.seq = (this.seq + 1) & 0xffff;
    return { payload: encodeTelephoneEvent({ event, end, volume: 10, duration }), info };
  }

  /** A complete event: marked start, continuations every 160, end x3. */
  event(event: number, timestamp: number, duration = 800): Pkt[] {
    const out: Pkt[] = [];
    for (let d = 160; d < duration; d += 160) out.push(this.ev(event, timestamp, d, false, d === 160));
    for (let r = 0; r < 3; r++) out.push(this.ev(event, timestamp, duration, true, out.length === 0));
    return out;
  }
}

function feed(rx: Rfc4733Receiver, pkts: Pkt[]): ReceivedDtmfEvent[] {
  const out: ReceivedDtmfEvent[] = [];
  for (const p of pkts) {
    const r = rx.receive(p.payload, p.info);
    if (r) out.push(r);
  }
  return out;
}

const digitsOf = (evs: ReceivedDtmfEvent[]) => evs.map((e) => e.digit).join("");

describe("dtmf/rfc4733", () => {
  describe("payload codec", () => {
    it("encodes the RFC 4733 layout and decodes it back", () => {
      const b = encodeTelephoneEvent({ event: 11, end: true, volume: 10, duration: 800 });
      assert.deepEqual([...b], [0x0b, 0x8a, 0x03, 0x20]);
      assert.deepEqual(decodeTelephoneEvent(b), { event: 11, end: true, volume: 10, duration: 800 });
      assert.deepEqual(decodeTelephoneEvent(Buffer.from([0x05, 0x3f, 0xff, 0xff])), { event: 5, end: false, volume: 63, duration: 0xffff });
      // The R bit is ignored.
      assert.equal(decodeTelephoneEvent(Buffer.from([1, 0x40 | 7, 0, 160]))?.volume, 7);
      assert.equal(decodeTelephoneEvent(Buffer.from([1, 2, 3])), null);
      assert.throws(() => encodeTelephoneEvent({ event: 1, end: false, volume: 64, duration: 0 }), RangeError);
      assert.throws(() => encodeTelephoneEvent({ event: 1, end: false, volume: 0, duration: 0x10000 }), RangeError);
    });

    it("maps events 0-15 to keys and back", () => {
      DTMF_DIGITS.forEach((d) => assert.equal(eventToDigit(digitToEvent(d)), d));
      assert.equal(digitToEvent("*"), 10);
      assert.equal(digitToEvent("#"), 11);
      assert.equal(digitToEvent("a"), 12);
      assert.equal(digitToEvent("D"), 15);
      assert.equal(eventToDigit(16), undefined);
      assert.throws(() => digitToEvent("E"), RangeError);
      assert.throws(() => digitToEvent("12"), RangeError);
    });
  });

  describe("receiver", () => {
    it("reports a normal event once, on its first packet", () => {
      const rx = new Rfc4733Receiver();
      const pkts = new Stream(0x1234).event(5, 16000);
      const first = rx.receive(pkts[0].payload, pkts[0].info);
      assert.deepEqual(first, { digit: "5", event: 5, ssrc: 0x1234, timestamp: 16000, volume: 10, startSeen: true });
      assert.deepEqual(feed(rx, pkts.slice(1)), []);
    });

    it("reports once when the start packet is lost", () => {
      const rx = new Rfc4733Receiver();
      const evs = feed(rx, new Stream(1).event(9, 500).slice(1));
      assert.equal(digitsOf(evs), "9");
      assert.equal(evs[0].startSeen, false);
    });

    it("reports once when only one of the end packets arrives", () => {
      const rx = new Rfc4733Receiver();
      const pkts = new Stream(1).event(0, 500);
      assert.equal(digitsOf(feed(rx, pkts.slice(-1))), "0");
    });

    it("reports events whose end packets are lost, including the same key again", () => {
      const rx = new Rfc4733Receiver();
      const s = new Stream(7);
      const a = s.event(3, 8000).slice(0, 3); // no end
      const b = s.event(3, 9600).slice(0, 2); // same key, new press, no end
      const c = s.event(4, 11200);
      assert.equal(digitsOf(feed(rx, [...a, ...b, ...c])), "334");
    });

    it("reports the same key pressed twice as two events", () => {
      const rx = new Rfc4733Receiver();
      const s = new Stream(7);
      assert.equal(digitsOf(feed(rx, [...s.event(1, 1000), ...s.event(1, 2440), ...s.event(1, 3880)])), "111");
    });

    it("handles events interleaved with audio in one SSRC and sequence space", () => {
      const rx = new Rfc4733Receiver();
      const s = new Stream(0xabcdef01);
      const pkts: Pkt[] = [];
      for (const [i, k] of [1, 2, 11, 2].entries()) {
        for (let a = 0; a < 5; a++) s.audio();
        pkts.push(...s.event(k, 160 * 50 * (i + 1)));
      }
      assert.equal(digitsOf(feed(rx, pkts)), "12#2");
    });

    it("keeps separate SSRCs apart, even with equal timestamps", () => {
      const rx = new Rfc4733Receiver();
      const a = new Stream(1).event(6, 4000);
      const b = new Stream(2).event(6, 4000);
      const mixed = a.flatMap((p, i) => [p, b[i]]);
      const evs = feed(rx, mixed);
      assert.equal(digitsOf(evs), "66");
      assert.deepEqual(
        evs.map((e) => e.ssrc),
        [1, 2],
      );
    });

    it("survives sequence and timestamp wrap-around", () => {
      const rx = new Rfc4733Receiver();
      const s = new Stream(5, 0xfffd);
      const t0 = 0xffffffff - 500;
      const p1 = s.event(7, t0); // seq wraps inside this event
      const p2 = s.event(8, t0 + 1440); // timestamp has wrapped to 939
      assert.equal(p2[0].info.timestamp, 939);
      assert.equal(digitsOf(feed(rx, [...p1, ...p2, p1[6], p2[6]])), "78");
    });

    it("ignores reordered and late duplicates of reported events", () => {
      const rx = new Rfc4733Receiver();
      const s = new Stream(3);
      const a = s.event(1, 1000);
      const b = s.event(2, 2440);
      // a's continuation overtakes its start; a's end repeats arrive after b started.
      const order = [a[1], a[0], a[2], a[3], b[0], a[4], b[1], a[5], a[6], b[2], b[3], b[4], b[5], b[6], b[6]];
      assert.equal(digitsOf(feed(rx, order)), "12");
    });

    it("reports a late event that was never seen before", () => {
      const rx = new Rfc4733Receiver();
      const s = new Stream(3);
      const a = s.event(1, 1000);
      const b = s.event(2, 2440);
      assert.equal(digitsOf(feed(rx, [...b, a[6]])), "21");
    });

    it("ignores non-key events and short payloads", () => {
      const rx = new Rfc4733Receiver();
      const s = new Stream(3);
      assert.equal(digitsOf(feed(rx, s.event(16, 1000))), ""); // hook flash
      assert.equal(rx.receive(Buffer.from([5, 0]), { ssrc: 3, seq: 1, timestamp: 5, marker: true }), null);
      assert.equal(digitsOf(feed(rx, s.event(5, 3000))), "5");
    });

    it("treats the segments of an event longer than 8 s as one event", () => {
      const rx = new Rfc4733Receiver();
      const s = new Stream(4);
      const pkts: Pkt[] = [];
      for (let d = 160; d < 0xffff; d += 160 * 25) pkts.push(s.ev(2, 1000, d, false, d === 160));
      pkts.push(s.ev(2, 1000, 0xffff));
      // Second segment: timestamp advanced by the first segment's duration, no marker.
      for (let d = 160; d < 8000; d += 160 * 25) pkts.push(s.ev(2, 1000 + 0xffff, d));
      pkts.push(...[0, 1, 2].map(() => s.ev(2, 1000 + 0xffff, 8000, true)));
      pkts.push(...s.event(2, 1000 + 0xffff + 8000 + 640));
      assert.equal(digitsOf(feed(rx, pkts)), "22");
    });

    it("reset() forgets history", () => {
      const rx = new Rfc4733Receiver();
      const pkts = new Stream(8).event(4, 100);
      assert.equal(digitsOf(feed(rx, pkts)), "4");
      rx.reset();
      assert.equal(digitsOf(feed(rx, pkts)), "4");
    });
  });

  describe("sender", () => {
    const pull = (src: FrameSource, n: number) => Array.from({ length: n }, () => src.nextFrame());
    const describeFrame = (f: OutgoingFrame | null) => {
      if (f === null) return "-";
      assert.equal(f.kind, "event");
      if (f.kind !== "event") return "audio";
      const e = decodeTelephoneEvent(f.payload)!;
      return `${eventToDigit(e.event)}${f.eventStart ? "M" : ""}${e.end ? "E" : ""}:${e.duration}`;
    };

    it("sends one 100 ms digit as growing durations and three end packets", () => {
      const tx = new Rfc4733Sender("5");
      assert.deepEqual(pull(tx, 9).map(describeFrame), ["5M:160", "5:320", "5:480", "5:640", "5E:800", "5E:800", "5E:800", "-", "-"]);
      assert.equal(tx.done, true);
    });

    it("spaces digits by duration + gap and leaves the gap to audio", () => {
      const tx = new Rfc4733Sender("1#", { durationMs: 100, gapMs: 80, volume: 6 });
      const frames = pull(tx, 17);
      assert.deepEqual(frames.map(describeFrame), [
        ...["1M:160", "1:320", "1:480", "1:640", "1E:800", "1E:800", "1E:800", "-", "-"],
        ...["#M:160", "#:320", "#:480", "#:640", "#E:800", "#E:800", "#E:800", "-"],
      ]);
      assert.equal(decodeTelephoneEvent((frames[0] as { payload: Buffer }).payload)?.volume, 6);
    });

    it("handles short events, odd durations and gaps shorter than the end repeats", () => {
      assert.deepEqual(pull(new Rfc4733Sender("7", { durationMs: 20 }), 4).map(describeFrame), ["7ME:160", "7E:160", "7E:160", "-"]);
      assert.deepEqual(pull(new Rfc4733Sender("8", { durationMs: 50 }), 5).map(describeFrame), ["8M:160", "8:320", "8E:400", "8E:400", "8E:400"]);
      assert.deepEqual(pull(new Rfc4733Sender("90", { durationMs: 40, gapMs: 0 }), 9).map(describeFrame), [
        ...["9M:160", "9E:320", "9E:320", "9E:320"],
        ...["0M:160", "0E:320", "0E:320", "0E:320", "-"],
      ]);
      assert.deepEqual(pull(new Rfc4733Sender("", {}), 1), [null]);
    });

    it("rejects bad digits and durations", () => {
      assert.throws(() => new Rfc4733Sender("12x"), RangeError);
      assert.throws(() => new Rfc4733Sender("1", { durationMs: 9000 }), RangeError);
    });

    it("round-trips through RTP-session stamping into the receiver, also with losses", () => {
      const keys = "0123456789*#ABCD1155";
      for (const lossEvery of [0, 2, 3, 5]) {
        const tx = new Rfc4733Sender(keys, { durationMs: 60, gapMs: 40 });
        const rx = new Rfc4733Receiver();
        const got: string[] = [];
        let ts = 90000;
        let eventTs = 0;
        let seq = 65000;
        for (let tick = 0; !tx.done; tick++, ts += 160) {
          const f = tx.nextFrame();
          seq = (seq + 1) & 0xffff; // audio or event, one packet per tick
          if (f === null || f.kind !== "event") continue;
          if (f.eventStart) eventTs = ts; // what the RTP session does
          if (lossEvery > 0 && tick % lossEvery === 1) continue;
          const r = rx.receive(f.payload, { ssrc: 42, seq, timestamp: eventTs, marker: f.eventStart });
          if (r) got.push(r.digit);
        }
        assert.equal(got.join(""), keys, `loss every ${lossEvery}`);
      }
    });
  });
});
