// Remote-controlled delays (Retry-After, Expires) must never overflow setTimeout
// (past 2^31-1 ms Node fires at once: a REGISTER storm) nor park us for ever.
import assert from "assert";
import { Backoff, MAX_RETRY_AFTER_SECONDS, MAX_TIMER_MS, safeDelayMs } from "../../../src/phone/backoff";
import { clampExpires, MAX_REGISTRATION_EXPIRES_SECONDS, refreshDelayMs } from "../../../src/phone/registration";

const fixed = { baseMs: 2000, networkCapMs: 8000, rejectedCapMs: 300_000, jitter: 0.2, random: () => 0.5 };

describe("registration back-off limits", () => {
  it("a huge Retry-After is clamped to MAX_RETRY_AFTER_SECONDS", () => {
    const b = new Backoff(fixed);
    assert.strictEqual(b.next("network", 3_000_000), MAX_RETRY_AFTER_SECONDS * 1000);
    assert.ok(MAX_RETRY_AFTER_SECONDS * 1000 <= MAX_TIMER_MS);
  });

  it("a reasonable Retry-After is honoured; garbage is ignored", () => {
    assert.strictEqual(new Backoff(fixed).next("network", 30), 30_000);
    assert.strictEqual(new Backoff(fixed).next("network", NaN), 2000);
    assert.strictEqual(new Backoff(fixed).next("network", -5), 2000);
    assert.strictEqual(new Backoff(fixed).next("network", Infinity), 2000);
  });

  it("safeDelayMs keeps every delay inside setTimeout's range", () => {
    assert.strictEqual(safeDelayMs(1e15), MAX_TIMER_MS);
    assert.strictEqual(safeDelayMs(Infinity), MAX_TIMER_MS);
    assert.strictEqual(safeDelayMs(NaN), 0);
    assert.strictEqual(safeDelayMs(-3), 0);
    assert.strictEqual(safeDelayMs(1500.4), 1500);
  });

  it("a granted lifetime from the wire is clamped, and the refresh delay never overflows", () => {
    assert.strictEqual(clampExpires(3_000_000, 600), MAX_REGISTRATION_EXPIRES_SECONDS);
    assert.strictEqual(clampExpires(NaN, 600), 600);
    assert.strictEqual(clampExpires(0, 600), 600);
    assert.strictEqual(clampExpires(3600, 600), 3600);
    assert.ok(refreshDelayMs(3_000_000) <= MAX_TIMER_MS, "refresh delay within setTimeout's range");
    assert.ok(refreshDelayMs(1e12) <= MAX_TIMER_MS);
  });
});
