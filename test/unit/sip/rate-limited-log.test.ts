import assert from "assert";
import { RateLimitedLog } from "../../../src/sip/rate-limited-log";

describe("rate-limited log", () => {
  it("writes at most N lines a window, then says how many it suppressed", () => {
    let now = 0;
    const lines: string[] = [];
    const log = new RateLimitedLog((t) => lines.push(t), { linesPerWindow: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 1000; i++) log.log(`drop ${i}`);
    assert.deepStrictEqual(lines, ["drop 0", "drop 1", "drop 2"]);
    assert.strictEqual(log.totalSuppressed, 997);
    now = 59_999;
    log.log("still suppressed");
    assert.strictEqual(lines.length, 3);
    now = 60_000;
    log.log("next window");
    assert.strictEqual(lines[3], "(998 similar message(s) suppressed) next window");
  });

  it("a throwing sink does not throw into the caller", () => {
    const log = new RateLimitedLog(() => {
      throw new Error("sink");
    });
    assert.doesNotThrow(() => log.log("x"));
  });
});
