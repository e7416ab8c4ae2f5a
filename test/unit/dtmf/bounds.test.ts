// Issue 8: state the remote side controls stays bounded under a flood (forged SSRCs, endless keys).
import assert from "node:assert/strict";
import { DTMF_DIGITS } from "../../../src/types.js";
import { MAX_RFC4733_STREAMS, Rfc4733Receiver } from "../../../src/dtmf/rfc4733.js";
import { DigitCollector, MAX_CODE_KEYS, MAX_RECENT_PRESSES } from "../../../src/dtmf/collector.js";

const event = (digit: number, end = false) => Buffer.from([digit, (end ? 0x80 : 0) | 10, 0, 160]);

describe("dtmf bounds (issue 8)", () => {
  it("the RFC 4733 receiver keeps at most MAX_RFC4733_STREAMS SSRCs under 100k forged ones", () => {
    const rx = new Rfc4733Receiver();
    let reported = 0;
    for (let i = 0; i < 100_000; i++) {
      if (rx.receive(event(i % 10), { ssrc: 0x10000 + i, seq: i & 0xffff, timestamp: i * 160, marker: true })) reported++;
      assert.ok(rx.streamCount <= MAX_RFC4733_STREAMS);
    }
    assert.equal(reported, 100_000, "each forged stream's first event is a new key: the bound is about memory");
    assert.equal(rx.streamCount, MAX_RFC4733_STREAMS);
  });

  it("a live stream keeps its duplicate suppression while other SSRCs come and go", () => {
    const rx = new Rfc4733Receiver();
    assert.ok(rx.receive(event(5), { ssrc: 1, seq: 1, timestamp: 1000, marker: true }));
    for (let i = 0; i < 1000; i++) {
      // The real stream is heard between forged ones, so it is never the least recently heard.
      rx.receive(event(1), { ssrc: 0x20000 + i, seq: i, timestamp: i, marker: true });
      assert.equal(rx.receive(event(5), { ssrc: 1, seq: 2 + i, timestamp: 1000, marker: false }), null, "same event: no second key");
    }
    assert.equal(rx.receive(event(5, true), { ssrc: 1, seq: 5000, timestamp: 1000, marker: false }), null);
  });

  it("the per-call key buffer (no terminator, no timeout, maxLength 0) stays within MAX_CODE_KEYS under 100k keys", () => {
    const c = new DigitCollector({
      terminator: "",
      interDigitTimeoutMs: 0,
      maxLength: 0,
      clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined },
    });
    let digits = 0;
    const codes: number[] = [];
    c.on("digit", () => digits++);
    c.on("code", (k) => codes.push(k.code.length));
    for (let i = 0; i < 100_000; i++) {
      c.add(DTMF_DIGITS[i % 10], "rfc4733", i); // one key per ms: every one is a new press
      assert.ok(c.pending.length < MAX_CODE_KEYS);
      assert.ok((c as unknown as { recent: unknown[] }).recent.length <= MAX_RECENT_PRESSES);
    }
    assert.equal(digits, 100_000);
    assert.ok(codes.length > 0 && codes.every((n) => n === MAX_CODE_KEYS), "an over-long entry ends as a code at the cap");
  });

  it("an explicit maxLength above MAX_CODE_KEYS is capped", () => {
    const c = new DigitCollector({ terminator: "#", interDigitTimeoutMs: 0, maxLength: 1_000_000 });
    const ends: string[] = [];
    c.on("code", (k) => ends.push(`${k.code.length}:${k.terminatedBy}`));
    for (let i = 0; i < MAX_CODE_KEYS; i++) c.add("1", "info", i * 1000);
    assert.deepEqual(ends, [`${MAX_CODE_KEYS}:maxlength`]);
    c.close();
  });
});
