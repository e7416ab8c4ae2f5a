import assert from "assert";
import {
  UdpReliability,
  TimerApi,
  T1,
  T2,
  TIMER_64T1,
  INVITE_SERVER_TX_MS,
  MAX_SERVER_TRANSACTIONS,
  MAX_CLIENT_TRANSACTIONS,
} from "../../../src/sip/udp-reliability";
import { parseWireMessage } from "../../../src/sip/wire-message";

/** Timers we advance by hand. */
class FakeTimers implements TimerApi {
  now = 0;
  private seq = 0;
  private pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = [...this.pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > end) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
  get count(): number {
    return this.pending.size;
  }
}

const req = (method: string, branch: string, cseqMethod = method) =>
  parseWireMessage(
    `${method} sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch};rport\r\nCall-ID: c1\r\nCSeq: 1 ${cseqMethod}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nContent-Length: 0\r\n\r\n`,
  )!;
const resp = (code: number, branch: string, method: string) =>
  parseWireMessage(
    `SIP/2.0 ${code} Whatever\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch};rport=5070\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>;tag=2\r\nContent-Length: 0\r\n\r\n`,
  )!;

describe("UDP reliability (RFC 3261 §17 timers below sip.js)", () => {
  const dest = { address: "127.0.0.1", port: 5060 };
  let timers: FakeTimers;
  let sent: string[];
  let rel: UdpReliability;
  beforeEach(() => {
    timers = new FakeTimers();
    sent = [];
    rel = new UdpReliability((raw) => sent.push(raw), timers);
  });
  afterEach(() => {
    rel.close();
    assert.strictEqual(timers.count, 0, "no timer left behind");
  });

  it("Timer E: a non-INVITE request is retransmitted at 500, 1000, 2000, 4000, 4000… ms until a final", () => {
    rel.outgoingRequest(req("REGISTER", "z9hG4bK1"), dest);
    const times: number[] = [];
    for (let t = 0; t < 12_000; t += 10) {
      const before = sent.length;
      timers.advance(10);
      if (sent.length > before) times.push(timers.now);
    }
    assert.deepStrictEqual(times, [500, 1500, 3500, 7500, 11500]);
    assert.strictEqual(rel.incomingResponse(resp(200, "z9hG4bK1", "REGISTER")), true);
    timers.advance(20_000);
    assert.strictEqual(sent.length, 5, "no retransmission after the final response");
  });

  it("Timer E continues at T2 after a provisional response (§17.1.2.2)", () => {
    rel.outgoingRequest(req("OPTIONS", "b2"), dest);
    timers.advance(T1); // first retransmission at 500; the next is due at 1500
    rel.incomingResponse(resp(100, "b2", "OPTIONS"));
    const times: number[] = [];
    for (let t = 0; t < 10_000; t += 10) {
      const before = sent.length;
      timers.advance(10);
      if (sent.length > before) times.push(timers.now);
    }
    assert.deepStrictEqual(times, [1500, 1500 + T2, 1500 + 2 * T2]);
  });

  it("Timer A doubles without cap and stops on any provisional response to INVITE", () => {
    rel.outgoingRequest(req("INVITE", "inv1"), dest);
    timers.advance(500 + 1000 + 2000 + 4000 + 8000);
    assert.strictEqual(sent.length, 5);
    rel.incomingResponse(resp(180, "inv1", "INVITE"));
    timers.advance(60_000);
    assert.strictEqual(sent.length, 5);
  });

  it("re-sends the cached ACK when a non-2xx final to our INVITE is retransmitted, and absorbs it", () => {
    rel.outgoingRequest(req("INVITE", "inv2"), dest);
    assert.strictEqual(rel.incomingResponse(resp(486, "inv2", "INVITE")), true);
    const ack = req("ACK", "inv2", "ACK");
    rel.outgoingRequest(ack, dest);
    assert.strictEqual(rel.incomingResponse(resp(486, "inv2", "INVITE")), false, "retransmission absorbed");
    assert.strictEqual(sent[sent.length - 1], ack.raw);
    assert.strictEqual(rel.counters.reAcks, 1);
  });

  it("answers a retransmitted non-INVITE request with the cached final response", () => {
    const bye = req("BYE", "srv1");
    const source = { address: "127.0.0.1", port: 6000 };
    assert.strictEqual(rel.incomingRequest(bye, source), true);
    assert.strictEqual(rel.incomingRequest(bye, source), false, "before the answer: absorbed");
    const ok = resp(200, "srv1", "BYE");
    rel.outgoingResponse(ok);
    assert.strictEqual(rel.incomingRequest(bye, source), false);
    assert.strictEqual(sent[sent.length - 1], ok.raw);
    assert.deepStrictEqual(rel.sourceOf(ok), source);
  });

  it("Timer G: a non-2xx final to an INVITE is retransmitted until the ACK", () => {
    const inv = req("INVITE", "srv2");
    rel.incomingRequest(inv, dest);
    rel.outgoingResponse(resp(486, "srv2", "INVITE"));
    timers.advance(T1 + 2 * T1);
    assert.strictEqual(sent.length, 2);
    rel.incomingRequest(req("ACK", "srv2", "ACK"), dest);
    timers.advance(30_000);
    assert.strictEqual(sent.length, 2);
  });

  it("an unanswered non-INVITE server transaction is forgotten at 64·T1, an INVITE when it can no longer ring", () => {
    const src = { address: "127.0.0.2", port: 5060 };
    rel.incomingRequest(req("OPTIONS", "u1"), src);
    rel.incomingRequest(req("INVITE", "u2"), src);
    assert.deepStrictEqual(rel.pending(), { clients: 0, servers: 2 });
    timers.advance(TIMER_64T1);
    assert.deepStrictEqual(rel.pending(), { clients: 0, servers: 1 }, "OPTIONS record gone at 64·T1");
    timers.advance(INVITE_SERVER_TX_MS - TIMER_64T1);
    assert.deepStrictEqual(rel.pending(), { clients: 0, servers: 0 }, "INVITE record gone");
    assert.ok(INVITE_SERVER_TX_MS < 5 * 60 * 1000);
  });

  it("server and client transaction records are bounded in count (oldest forgotten first)", () => {
    const src = { address: "127.0.0.2", port: 5060 };
    for (let i = 0; i < MAX_SERVER_TRANSACTIONS + 100; i++) rel.incomingRequest(req("MESSAGE", `junk${i}`), src);
    for (let i = 0; i < MAX_CLIENT_TRANSACTIONS + 100; i++) rel.outgoingRequest(req("OPTIONS", `out${i}`), dest);
    assert.deepStrictEqual(rel.pending(), { clients: MAX_CLIENT_TRANSACTIONS, servers: MAX_SERVER_TRANSACTIONS });
    assert.strictEqual(rel.isRetransmission(req("MESSAGE", "junk0")), false, "oldest forgotten");
    assert.strictEqual(rel.isRetransmission(req("MESSAGE", `junk${MAX_SERVER_TRANSACTIONS + 99}`)), true);
  });
});
