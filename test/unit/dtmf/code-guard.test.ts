import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  CodeGuard,
  ANONYMOUS_KEY,
  LOCKOUT_FORGET_MS,
  MAX_ONE_TIME_CODES,
  MAX_ONE_TIME_VALID_MS,
  MAX_NUMBER_KEY_LENGTH,
  type CodeGuardOptions,
} from "../../../src/dtmf/code-guard.js";
import { JsonFileLockoutStore, MAX_LOCKOUT_FILE_BYTES } from "../../../src/dtmf/lockout-store.js";

const MIN = 60_000;

class Clock {
  t = 1_700_000_000_000;
  now(): number {
    return this.t;
  }
}

describe("CodeGuard (keypad codes that resist guessing)", () => {
  let clock: Clock;
  let dir: string;
  beforeEach(() => {
    clock = new Clock();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "code-guard-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const guard = (o: CodeGuardOptions = {}) => new CodeGuard({ clock, lockoutBaseMs: MIN, ...o });

  describe("attempt limit and lock-out", () => {
    it("locks a number after maxWrongCodes wrong codes (default 3), not before", () => {
      const g = guard();
      assert.equal(g.maxWrongCodes, 3);
      assert.deepEqual(g.wrongCode("0612"), { failures: 1, lockedUntil: 0 });
      assert.deepEqual(g.wrongCode("0612"), { failures: 2, lockedUntil: 0 });
      assert.equal(g.lockedUntil("0612"), 0);
      const r = g.wrongCode("0612");
      assert.equal(r.lockedUntil, clock.t + MIN);
      assert.equal(g.lockedUntil("0612"), clock.t + MIN);
      assert.equal(g.lockedUntil("0613"), 0, "another number is not locked");
    });

    it("the lock-out ends after the back-off; the back-off doubles each time up to the cap", () => {
      const g = guard({ lockoutMaxMs: 5 * MIN });
      const lengths: number[] = [];
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 3; i++) g.wrongCode("42");
        const until = g.lockedUntil("42");
        assert.ok(until > 0, `locked in round ${round}`);
        lengths.push(until - clock.t);
        clock.t = until - 1;
        assert.ok(g.lockedUntil("42") > 0, "still locked one ms before the end");
        clock.t = until;
        assert.equal(g.lockedUntil("42"), 0, "free when the back-off is over");
      }
      assert.deepEqual(
        lengths,
        [1, 2, 4, 5, 5, 5].map((m) => m * MIN),
      );
    });

    it("the default cap is 24 h", () => {
      const g = guard();
      let last = 0;
      for (let round = 0; round < 15; round++) {
        for (let i = 0; i < 3; i++) g.wrongCode("42");
        last = g.lockedUntil("42") - clock.t;
        clock.t += last;
      }
      assert.equal(last, 24 * 3600_000);
    });

    it("a right code resets the counter and the back-off", () => {
      const g = guard();
      for (let i = 0; i < 3; i++) g.wrongCode("42");
      clock.t += MIN;
      g.wrongCode("42");
      g.wrongCode("42");
      g.success("42");
      assert.deepEqual(g.wrongCode("42"), { failures: 1, lockedUntil: 0 }, "counting starts again");
      g.wrongCode("42");
      assert.equal(g.wrongCode("42").lockedUntil - clock.t, MIN, "back to the first back-off");
    });

    it("anonymous and empty numbers share one bucket; numbers are bounded in length", () => {
      const g = guard();
      g.wrongCode("");
      g.wrongCode("anonymous");
      g.wrongCode(undefined);
      assert.ok(g.lockedUntil("  ") > 0);
      assert.equal(CodeGuard.keyOf("Anonymous"), ANONYMOUS_KEY);
      assert.equal(CodeGuard.keyOf("9".repeat(10_000)).length, MAX_NUMBER_KEY_LENGTH);
      assert.equal(g.size, 1);
    });

    it("lockoutBaseMs 0: counts but never locks", () => {
      const g = guard({ lockoutBaseMs: 0 });
      for (let i = 0; i < 10; i++) assert.equal(g.wrongCode("1").lockedUntil, 0);
    });

    it("a number quiet for LOCKOUT_FORGET_MS is forgotten", () => {
      const g = guard();
      g.wrongCode("42");
      g.wrongCode("42");
      clock.t += LOCKOUT_FORGET_MS;
      assert.equal(g.wrongCode("42").failures, 1);
    });

    it("unlock lifts one or every lock-out", () => {
      const g = guard();
      for (let i = 0; i < 3; i++) {
        g.wrongCode("1");
        g.wrongCode("2");
      }
      g.unlock("1");
      assert.equal(g.lockedUntil("1"), 0);
      assert.ok(g.lockedUntil("2") > 0);
      g.unlock();
      assert.equal(g.lockedUntil("2"), 0);
    });

    it("bounded: beyond maxEntries the oldest unlocked number is evicted, locked ones stay", () => {
      const g = guard({ maxEntries: 10 });
      for (let i = 0; i < 3; i++) g.wrongCode("locked");
      for (let n = 0; n < 1000; n++) {
        g.wrongCode(`n${n}`);
        clock.t += 1;
      }
      assert.equal(g.size, 10);
      assert.ok(g.lockedUntil("locked") > 0, "a flood of new numbers does not free a locked one");
      assert.equal(g.wrongCode("n999").failures, 2, "the newest is remembered");
      assert.equal(g.wrongCode("n0").failures, 1, "the oldest was evicted");
    });
  });

  describe("persistence", () => {
    it("a lock-out survives a restart (new guard on the same file), and so does the level", () => {
      const file = path.join(dir, "lock.json");
      const g1 = guard({ store: new JsonFileLockoutStore(file) });
      for (let i = 0; i < 3; i++) g1.wrongCode("42");
      const until = g1.lockedUntil("42");
      g1.wrongCode("7");
      const g2 = guard({ store: new JsonFileLockoutStore(file) });
      assert.equal(g2.lockedUntil("42"), until);
      assert.equal(g2.wrongCode("7").failures, 2, "the count of a number not yet locked survives too");
      clock.t = until;
      for (let i = 0; i < 3; i++) g2.wrongCode("42");
      assert.equal(g2.lockedUntil("42") - clock.t, 2 * MIN, "the back-off keeps growing after a restart");
      assert.deepEqual(fs.readdirSync(dir), ["lock.json"], "no temporary file is left");
    });

    it("a success is saved", () => {
      const file = path.join(dir, "lock.json");
      const g1 = guard({ store: new JsonFileLockoutStore(file) });
      g1.wrongCode("42");
      g1.success("42");
      assert.equal(guard({ store: new JsonFileLockoutStore(file) }).wrongCode("42").failures, 1);
    });

    for (const [what, content] of [
      ["not JSON", "{ nope"],
      ["JSON of the wrong shape", "[1,2,3]"],
      ["an empty file", ""],
      [
        "a file that is too large (even if valid)",
        JSON.stringify({ version: 1, entries: { x: { failures: 0, level: 0, lockedUntil: 0, lastAt: 1 } } }) + " ".repeat(MAX_LOCKOUT_FILE_BYTES),
      ],
    ] as const) {
      it(`${what}: starts empty with a warning, never throws, and writes a good file next time`, () => {
        const file = path.join(dir, "lock.json");
        fs.writeFileSync(file, content);
        const warnings: string[] = [];
        const g = guard({ store: new JsonFileLockoutStore(file, (w) => warnings.push(w)) });
        assert.equal(g.size, 0);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /no lock-outs/);
        for (let i = 0; i < 3; i++) g.wrongCode("42");
        assert.ok(guard({ store: new JsonFileLockoutStore(file) }).lockedUntil("42") > 0);
      });
    }

    it("bad rows are dropped, good rows kept; a lock-out beyond the cap is clamped", () => {
      const file = path.join(dir, "lock.json");
      fs.writeFileSync(
        file,
        JSON.stringify({
          version: 1,
          entries: {
            good: { failures: 1, level: 0, lockedUntil: 0, lastAt: clock.t },
            bad: { failures: "x", level: 0, lockedUntil: 0, lastAt: clock.t },
            neg: { failures: -1, level: 0, lockedUntil: 0, lastAt: clock.t },
            far: { failures: 0, level: 3, lockedUntil: clock.t + 1e12, lastAt: clock.t },
          },
        }),
      );
      const g = guard({ store: new JsonFileLockoutStore(file) });
      assert.equal(g.size, 2);
      assert.equal(g.lockedUntil("far"), clock.t + 24 * 3600_000);
    });

    it("written atomically: a write that fails leaves the previous file whole", () => {
      const file = path.join(dir, "lock.json");
      const warnings: string[] = [];
      const g = guard({ store: new JsonFileLockoutStore(file, (w) => warnings.push(w)) });
      for (let i = 0; i < 3; i++) g.wrongCode("42");
      const before = fs.readFileSync(file, "utf8");
      fs.mkdirSync(`${file}.${process.pid}.tmp`); // the temporary file cannot be written
      g.wrongCode("7");
      assert.equal(fs.readFileSync(file, "utf8"), before, "the file was not touched");
      assert.equal(warnings.length, 1);
      fs.rmdirSync(`${file}.${process.pid}.tmp`);
      g.wrongCode("7");
      assert.ok(fs.readFileSync(file, "utf8").includes('"7"'), "the next write goes through");
    });

    it("a missing file is no warning; an unwritable place warns once and does not throw", () => {
      const warnings: string[] = [];
      guard({ store: new JsonFileLockoutStore(path.join(dir, "none.json"), (w) => warnings.push(w)) });
      assert.equal(warnings.length, 0);
      const blocker = path.join(dir, "file");
      fs.writeFileSync(blocker, "x");
      const g = guard({ store: new JsonFileLockoutStore(path.join(blocker, "sub", "lock.json"), (w) => warnings.push(w)) });
      warnings.length = 0; // reading under a plain file warns too
      for (let i = 0; i < 5; i++) g.wrongCode("42");
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /cannot be saved/);
      assert.ok(g.lockedUntil("42") > 0, "still locked in memory");
    });
  });

  describe("one-time codes", () => {
    it("works once, for its action", () => {
      const g = guard();
      g.setOneTimeCode("4711", 2, MIN);
      assert.equal(g.useOneTimeCode("4711"), 2);
      assert.equal(g.useOneTimeCode("4711"), undefined, "single use");
    });

    it("expires after validFor", () => {
      const g = guard();
      g.setOneTimeCode("4711", 1, MIN);
      clock.t += MIN;
      assert.equal(g.useOneTimeCode("4711"), undefined);
      assert.equal(g.oneTimeCount, 0);
    });

    it("validFor ≤ 0 revokes; validFor is clamped to the maximum", () => {
      const g = guard();
      g.setOneTimeCode("1", 1, MIN);
      g.setOneTimeCode("1", 1, 0);
      assert.equal(g.useOneTimeCode("1"), undefined);
      g.setOneTimeCode("2", 1, 1e15);
      clock.t += MAX_ONE_TIME_VALID_MS;
      assert.equal(g.useOneTimeCode("2"), undefined);
    });

    it("malformed codes are refused", () => {
      const g = guard();
      for (const bad of ["", "12x", "1".repeat(33), "<script>"]) assert.throws(() => g.setOneTimeCode(bad, 1, MIN), /one-time code/);
      g.setOneTimeCode(" 12 ab ", 1, MIN);
      assert.equal(g.useOneTimeCode("12AB"), 1);
    });

    it("bounded: the code that expires first makes room", () => {
      const g = guard();
      g.setOneTimeCode("99", 1, MIN);
      for (let i = 0; i < MAX_ONE_TIME_CODES; i++) g.setOneTimeCode(String(1000 + i), 1, 2 * MIN);
      assert.equal(g.oneTimeCount, MAX_ONE_TIME_CODES);
      assert.equal(g.useOneTimeCode("99"), undefined, "the soonest-expiring was evicted");
      assert.equal(g.useOneTimeCode("1000"), 1);
    });
  });
});
