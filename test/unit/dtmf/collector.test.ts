import assert from "node:assert/strict";
import type { DtmfDigit, DtmfMethod } from "../../../src/types.js";
import { DigitCollector, type CollectedCode, type CollectedDigit, type DigitCollectorOptions } from "../../../src/dtmf/collector.js";
import { ManualClock } from "../../support/manual-clock";

class FakeClock extends ManualClock {}

function setup(opts: Omit<DigitCollectorOptions, "clock"> = {}) {
  const clock = new FakeClock();
  const c = new DigitCollector({ ...opts, clock });
  const digits: CollectedDigit[] = [];
  const codes: CollectedCode[] = [];
  c.on("digit", (d) => digits.push(d));
  c.on("code", (k) => codes.push(k));
  /** Adds a key at an absolute time, advancing the clock to it. */
  const at = (ms: number, digit: DtmfDigit, method: DtmfMethod) => {
    clock.advance(ms - clock.t);
    return c.add(digit, method);
  };
  return { c, clock, digits, codes, at };
}

const keys = (ds: CollectedDigit[]) => ds.map((d) => d.digit).join("");

describe("dtmf/collector", () => {
  describe("de-duplication across methods", () => {
    it("reports a key sent both in-band and as RFC 4733 once, by the first method", () => {
      for (const [first, second] of [
        ["inband", "rfc4733"],
        ["rfc4733", "inband"],
        ["info", "rfc4733"],
      ] as [DtmfMethod, DtmfMethod][]) {
        const { digits, at } = setup();
        assert.equal(at(1000, "5", first), true);
        assert.equal(at(1040, "5", second), false);
        assert.deepEqual(digits, [{ digit: "5", method: first, atMs: 1000 }]);
      }
    });

    it("reports a key again after the window", () => {
      const { digits, at } = setup({ dedupWindowMs: 250 });
      at(1000, "5", "inband");
      at(1300, "5", "rfc4733");
      assert.equal(keys(digits), "55");
      assert.deepEqual(
        digits.map((d) => d.method),
        ["inband", "rfc4733"],
      );
    });

    it("keeps fast repeated presses sent by two methods (180 ms apart)", () => {
      const { digits, at } = setup({ dedupWindowMs: 250 });
      // RFC 4733 arrives at key down, the in-band tone is recognised ~40 ms later.
      at(0, "5", "rfc4733");
      at(40, "5", "inband");
      at(180, "5", "rfc4733");
      at(220, "5", "inband");
      at(360, "5", "rfc4733");
      at(400, "5", "inband");
      assert.equal(keys(digits), "555");
      assert.ok(digits.every((d) => d.method === "rfc4733"));
    });

    it("pairs a late copy with the nearest press when one copy was lost", () => {
      const { digits, at } = setup({ dedupWindowMs: 250 });
      at(0, "7", "rfc4733");
      at(180, "7", "rfc4733"); // the in-band copy of the first press was missed
      at(220, "7", "inband"); // belongs to the press at 180
      at(400, "7", "inband"); // a third press seen only in-band
      assert.equal(keys(digits), "777");
      assert.deepEqual(
        digits.map((d) => d.atMs),
        [0, 180, 400],
      );
    });

    it("merges one press arriving by all three methods", () => {
      const { digits, at } = setup();
      at(0, "#", "info");
      at(10, "#", "rfc4733");
      at(45, "#", "inband");
      assert.equal(keys(digits), "#");
    });

    it("never merges different keys or two presses by the same method", () => {
      const { digits, at } = setup();
      at(0, "1", "rfc4733");
      at(20, "2", "inband");
      at(100, "1", "rfc4733");
      assert.equal(keys(digits), "121");
    });

    it("uses the caller's timestamps when given, in either order", () => {
      const { c, digits } = setup();
      assert.equal(c.add("9", "inband", 5040), true);
      assert.equal(c.add("9", "rfc4733", 5000), false);
      assert.equal(c.add("9", "rfc4733", 5600), true);
      assert.equal(keys(digits), "99");
    });
  });

  describe("methods", () => {
    it("ignores keys from disabled methods", () => {
      const rtp = setup({ methods: ["rfc4733"] });
      assert.equal(rtp.at(0, "1", "inband"), false);
      assert.equal(rtp.at(500, "2", "rfc4733"), true);
      assert.equal(keys(rtp.digits), "2");
      const tones = setup({ methods: ["inband"] });
      assert.equal(tones.at(1000, "3", "rfc4733"), false);
      assert.equal(tones.at(1500, "4", "inband"), true);
      assert.equal(keys(tones.digits), "4");
    });
  });

  describe("codes", () => {
    it("ends a code with the terminator, which is not part of it", () => {
      const { digits, codes, at } = setup();
      at(0, "1", "rfc4733");
      at(300, "2", "rfc4733");
      at(600, "#", "rfc4733");
      assert.equal(keys(digits), "12#");
      assert.equal(codes.length, 1);
      assert.equal(codes[0].code, "12");
      assert.equal(codes[0].terminatedBy, "terminator");
      assert.deepEqual(
        codes[0].digits.map((d) => [d.digit, d.atMs]),
        [
          ["1", 0],
          ["2", 300],
        ],
      );
    });

    it("emits an empty code for a lone terminator and supports other or no terminators", () => {
      const a = setup();
      a.at(0, "#", "info");
      assert.deepEqual(
        a.codes.map((k) => [k.code, k.terminatedBy]),
        [["", "terminator"]],
      );

      const b = setup({ terminator: "*" });
      b.at(0, "#", "info");
      b.at(300, "*", "info");
      assert.equal(b.codes[0].code, "#");

      const c = setup({ terminator: "", interDigitTimeoutMs: 0 });
      for (const [i, k] of [..."12#*"].entries()) c.at(i * 300, k as DtmfDigit, "info");
      assert.equal(c.codes.length, 0);
      assert.equal(c.c.pending, "12#*");
    });

    it("ends a code after the inter-digit timeout, restarted by each key", () => {
      const { clock, codes, at } = setup({ interDigitTimeoutMs: 3000 });
      at(0, "4", "inband");
      at(2500, "2", "inband");
      clock.advance(2999);
      assert.equal(codes.length, 0);
      clock.advance(1);
      assert.deepEqual(
        codes.map((k) => [k.code, k.terminatedBy]),
        [["42", "timeout"]],
      );
      clock.advance(10_000);
      assert.equal(codes.length, 1);
      assert.equal(clock.timers.size, 0);
    });

    it("ends a code at the maximum length", () => {
      const { c, codes, clock, at } = setup({ maxLength: 4 });
      for (const [i, k] of [..."123456"].entries()) at(i * 300, k as DtmfDigit, "rfc4733");
      assert.deepEqual(
        codes.map((k) => [k.code, k.terminatedBy]),
        [["1234", "maxlength"]],
      );
      assert.equal(c.pending, "56");
      clock.advance(5000);
      assert.deepEqual(
        codes.map((k) => [k.code, k.terminatedBy]),
        [
          ["1234", "maxlength"],
          ["56", "timeout"],
        ],
      );
    });

    it("a duplicate does not count towards a code", () => {
      const { codes, at } = setup({ maxLength: 2 });
      at(0, "8", "rfc4733");
      at(40, "8", "inband");
      at(300, "9", "rfc4733");
      assert.deepEqual(
        codes.map((k) => k.code),
        ["89"],
      );
    });

    it("clear() drops the code in progress", () => {
      const { c, clock, codes, at } = setup();
      at(0, "1", "info");
      c.clear();
      clock.advance(10_000);
      assert.equal(codes.length, 0);
      at(20_000, "2", "info");
      at(20_300, "#", "info");
      assert.equal(codes[0].code, "2");
    });
  });

  describe("close()", () => {
    it("clears timers and ignores later keys", () => {
      const { c, clock, digits, codes, at } = setup();
      at(0, "1", "info");
      assert.equal(clock.timers.size, 1);
      c.close();
      assert.equal(clock.timers.size, 0);
      assert.equal(at(100, "2", "info"), false);
      clock.advance(10_000);
      assert.equal(keys(digits), "1");
      assert.equal(codes.length, 0);
    });

    it("with the real clock, leaves no timer behind (mocha runs without --exit)", () => {
      const c = new DigitCollector({ interDigitTimeoutMs: 60_000 });
      assert.equal(c.add("1", "info"), true);
      assert.equal(c.pending, "1");
      c.close();
      assert.equal(c.pending, "");
    });

    it("may be called from a digit listener", () => {
      const { c, clock, codes, at } = setup({ maxLength: 1 });
      c.on("digit", () => c.close());
      at(0, "3", "info");
      assert.equal(codes.length, 0);
      assert.equal(clock.timers.size, 0);
    });
  });
});
