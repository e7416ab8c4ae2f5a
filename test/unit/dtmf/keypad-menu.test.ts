import assert from "node:assert/strict";
import type { CallInfo, DtmfMethod } from "../../../src/types.js";
import { CodeGuard } from "../../../src/dtmf/code-guard.js";
import {
  KeypadMenu,
  KEY_MASK,
  ENDING_MESSAGE_MAX_MS,
  MAX_MENU_CODE_KEYS,
  DEFAULT_TOO_MANY_MESSAGE,
  DEFAULT_LOCKED_MESSAGE,
  normalizeCode,
  type KeypadCall,
  type KeypadMenuOptions,
  type KeypadMenuEvents,
} from "../../../src/dtmf/keypad-menu.js";
import { ManualClock } from "../../support/manual-clock";

class FakeClock extends ManualClock {}

class WallClock {
  t = 1_700_000_000_000;
  now(): number {
    return this.t;
  }
}

interface Said {
  text: string;
  language?: string;
  onFinished?: () => void;
}

/** A call as the menu sees it: records what is said and hung up; playback ends when the test says. */
class FakeCall implements KeypadCall {
  active = true;
  said: Said[] = [];
  hangups: string[] = [];
  stops = 0;
  failSay = false;
  private current?: Said;
  constructor(public info: CallInfo) {}
  get playing(): boolean {
    return !!this.current;
  }
  snapshot(): CallInfo {
    return { ...this.info };
  }
  stopPlayback(): void {
    this.stops += 1;
    this.finish();
  }
  say(text: string, language?: string, onFinished?: () => void): Promise<void> {
    if (this.failSay) return Promise.reject(new Error("no voice"));
    this.finish(); // interrupt: what played is cut
    const s: Said = { text, language, onFinished };
    this.said.push(s);
    this.current = s;
    return Promise.resolve();
  }
  /** The message playing ends (played out or cut). */
  finish(): void {
    const s = this.current;
    this.current = undefined;
    s?.onFinished?.();
  }
  hangup(reason: string): void {
    this.hangups.push(reason);
  }
  get texts(): string[] {
    return this.said.map((s) => s.text);
  }
}

function callInfo(id: string, number = "0612345678", direction: "inbound" | "outbound" = "inbound"): CallInfo {
  return {
    id,
    direction,
    state: "ANSWERED",
    startedAt: "2026-01-01T00:00:00.000Z",
    from: { uri: `sip:${number}@127.0.0.1`, number, name: "" },
    to: { uri: "sip:door@127.0.0.1", number: "door", name: "" },
  };
}

type Ev = { [K in keyof KeypadMenuEvents]: { type: K; e: KeypadMenuEvents[K][0] } }[keyof KeypadMenuEvents];

/** Lets say()'s promise callbacks run. */
const tick = () => new Promise<void>((r) => setImmediate(r));

function setup(opts: KeypadMenuOptions = {}) {
  const clock = new FakeClock();
  const wall = new WallClock();
  const guard = opts.guard ?? new CodeGuard({ clock: wall });
  const calls = new Map<string, FakeCall>();
  const menu = new KeypadMenu({ get: (id) => calls.get(id) }, { clock, guard, ...opts });
  const events: Ev[] = [];
  for (const type of ["key", "code", "action", "wrong", "too-many", "locked", "warning"] as const) {
    (menu as unknown as NodeJS.EventEmitter).on(type, (e: unknown) => {
      events.push({ type, e } as Ev);
    });
  }
  /** A new answered call. */
  const answer = (id = "c1", number?: string, direction?: "inbound" | "outbound") => {
    const c = new FakeCall(callInfo(id, number, direction));
    calls.set(id, c);
    menu.callState("ANSWERED", c.snapshot());
    return c;
  };
  const end = (c: FakeCall) => {
    c.active = false;
    menu.callState("ENDED", { ...c.snapshot(), state: "ENDED" });
  };
  /** Presses keys one by one (the same method, a little time apart). */
  const press = (c: FakeCall, keys: string, method: DtmfMethod = "rfc4733") => {
    for (const k of keys) {
      clock.advance(200);
      menu.key(k as never, method, c.snapshot());
    }
  };
  const of = <K extends keyof KeypadMenuEvents>(type: K) => events.filter((x) => x.type === type).map((x) => x.e as KeypadMenuEvents[K][0]);
  return { menu, clock, wall, guard, calls, events, answer, end, press, of };
}

const DOOR = { code: "1234#", message: "The door opens.", language: "en-GB", topic: "door" };
const LIGHT = { code: "5", message: "Light on.", topic: "light" };

describe("dtmf/keypad-menu", () => {
  describe("keys and codes", () => {
    it("reports every key with its method, the call, and how many keys the code has so far", () => {
      const t = setup({ actions: [DOOR] });
      const c = t.answer();
      t.press(c, "12", "info");
      assert.deepEqual(
        t.of("key").map((e) => [e.key, e.method, e.masked, e.pendingKeys, e.call.id]),
        [
          ["1", "info", false, 1, "c1"],
          ["2", "info", false, 2, "c1"],
        ],
      );
    });

    it("a terminated code that matches an action: accepted, the action speaks its message and fires on its own output", () => {
      const t = setup({ actions: [LIGHT, DOOR] });
      const c = t.answer();
      t.press(c, "1234#");
      assert.deepEqual(
        t.of("code").map((e) => [e.code, e.terminatedBy, e.accepted]),
        [["1234", "terminator", true]],
      );
      const [a] = t.of("action");
      assert.equal(a.index, 1);
      assert.equal(a.topic, "door");
      assert.equal(a.code, "1234");
      assert.equal(a.actionCode, "1234#");
      assert.equal(a.oneTime, false);
      assert.deepEqual(
        c.said.map((s) => [s.text, s.language]),
        [["The door opens.", "en-GB"]],
      );
      // The code comes before the action (the status says "accepted" before the action's output).
      assert.deepEqual(
        t.events.filter((x) => x.type !== "key").map((x) => x.type),
        ["code", "action"],
      );
    });

    it('an action without topic has the topic "action"', () => {
      const t = setup({ actions: [{ code: "9#" }] });
      const c = t.answer();
      t.press(c, "9#");
      assert.equal(t.of("action")[0].topic, "action");
      assert.equal(c.said.length, 0, "no message, nothing spoken");
    });

    it('a single-key action acts at once ("match"), unless a longer action starts with it', () => {
      const t = setup({ actions: [LIGHT, { code: "56#", topic: "long" }] });
      const c = t.answer();
      t.press(c, "5");
      assert.equal(t.of("action").length, 0, "5 could still become 56");
      t.press(c, "6#");
      assert.deepEqual(
        t.of("action").map((a) => a.topic),
        ["long"],
      );

      const u = setup({ actions: [LIGHT, DOOR] });
      const d = u.answer();
      u.press(d, "5");
      assert.deepEqual(
        u.of("code").map((e) => [e.code, e.terminatedBy, e.accepted]),
        [["5", "match", true]],
      );
      assert.deepEqual(
        u.of("action").map((a) => a.topic),
        ["light"],
      );
      assert.deepEqual(d.texts, ["Light on."]);
    });

    it("an action written with the terminator waits for it", () => {
      const t = setup({ actions: [{ code: "5#", topic: "five" }] });
      const c = t.answer();
      t.press(c, "5");
      assert.equal(t.of("action").length, 0);
      t.press(c, "#");
      assert.deepEqual(
        t.of("code").map((e) => e.terminatedBy),
        ["terminator"],
      );
      assert.equal(t.of("action").length, 1);
    });

    it("action codes ignore spaces and case; normalizeCode drops the terminator", () => {
      assert.equal(normalizeCode(" 12 a4# ", "#"), "12A4");
      assert.equal(normalizeCode("12*", "#"), "12*");
      assert.equal(normalizeCode("12#", ""), "12#");
      const t = setup({ actions: [{ code: " 1 a #", topic: "a" }] });
      const c = t.answer();
      t.press(c, "1A#");
      assert.equal(t.of("action").length, 1);
    });

    it("a code ends after the inter-digit timeout, not before", () => {
      const t = setup({ actions: [DOOR], interDigitTimeoutMs: 3000 });
      const c = t.answer();
      t.press(c, "12");
      t.clock.advance(2999);
      assert.equal(t.of("code").length, 0);
      t.clock.advance(1);
      assert.deepEqual(
        t.of("code").map((e) => [e.code, e.terminatedBy, e.accepted]),
        [["12", "timeout", false]],
      );
    });

    it("a code ends at maxLength keys; maxLength is bounded by MAX_MENU_CODE_KEYS", () => {
      const t = setup({ actions: [DOOR], maxLength: 4, terminator: "" });
      const c = t.answer();
      t.press(c, "1234");
      assert.deepEqual(
        t.of("code").map((e) => [e.code, e.terminatedBy]),
        [["1234", "maxlength"]],
      );
      for (const maxLength of [0, -3, 1000, NaN]) {
        const u = setup({ actions: [DOOR], maxLength, interDigitTimeoutMs: 0 });
        const d = u.answer();
        u.press(d, "1".repeat(MAX_MENU_CODE_KEYS - 1));
        assert.equal(u.of("code").length, 0, `maxLength ${maxLength}`);
        u.press(d, "1");
        assert.deepEqual(
          u.of("code").map((e) => [e.code.length, e.terminatedBy]),
          [[MAX_MENU_CODE_KEYS, "maxlength"]],
          `maxLength ${maxLength}`,
        );
        assert.equal(Math.max(...u.of("key").map((e) => e.pendingKeys)), MAX_MENU_CODE_KEYS);
      }
    });

    it("keys of an unknown or ended call are ignored", () => {
      const t = setup({ actions: [DOOR] });
      t.menu.key("1", "rfc4733", callInfo("nobody"));
      const c = t.answer();
      c.active = false;
      t.press(c, "1");
      assert.equal(t.events.length, 0);
      assert.equal(t.menu.callCount, 1, "only the answered call");
    });
  });

  describe("wrong codes", () => {
    it("a wrong code is reported invalid, counted, and answered with the invalid-code message", async () => {
      const t = setup({ actions: [DOOR], invalidMessage: "Wrong code." });
      const c = t.answer();
      t.press(c, "999#");
      assert.deepEqual(
        t.of("code").map((e) => [e.code, e.accepted]),
        [["999", false]],
      );
      assert.deepEqual(
        t.of("wrong").map((e) => [e.count, e.limit]),
        [[1, 3]],
      );
      assert.deepEqual(c.texts, ["Wrong code."]);
      await tick();
    });

    it("keys are dropped while the wrong-code reply plays, even with barge-in, and count again once it has ended", async () => {
      const t = setup({ actions: [DOOR], invalidMessage: "Wrong code." });
      const c = t.answer();
      t.press(c, "999#");
      await tick(); // the reply is queued
      t.press(c, "1234#");
      assert.equal(c.stops, 0, "the reply is not cut");
      assert.equal(t.of("key").length, 4, "the keys during the reply are not even reported");
      assert.equal(t.of("action").length, 0);
      c.finish();
      t.press(c, "1234#");
      assert.equal(t.of("action").length, 1);
    });

    it("the end key alone is invalid but no guess: the reply plays, nothing is counted", async () => {
      const t = setup({ actions: [DOOR], invalidMessage: "Wrong code." });
      const c = t.answer();
      t.press(c, "#");
      assert.deepEqual(
        t.of("code").map((e) => [e.code, e.accepted]),
        [["", false]],
      );
      assert.equal(t.of("wrong").length, 0);
      assert.deepEqual(c.texts, ["Wrong code."]);
      await tick();
      t.press(c, "1");
      assert.equal(t.of("key").length, 1, "dropped while the reply plays");
    });

    it("without an invalid-code message nothing is spoken and keys are not held back", () => {
      const t = setup({ actions: [DOOR] });
      const c = t.answer();
      t.press(c, "999#");
      assert.equal(t.of("wrong").length, 1);
      t.press(c, "1234#");
      assert.equal(t.of("action").length, 1);
    });

    it("a reply that cannot be spoken warns and releases the keys", async () => {
      const t = setup({ actions: [DOOR], invalidMessage: "Wrong code." });
      const c = t.answer();
      c.failSay = true;
      t.press(c, "999#");
      await tick();
      assert.deepEqual(t.of("warning"), ["could not speak into the call: no voice"]);
      t.press(c, "1234#");
      assert.equal(t.of("action").length, 1);
    });

    it("3 wrong codes in one call: too-many, the closing message, hang-up once it has been spoken; later keys are dropped", async () => {
      const t = setup({ actions: [DOOR] });
      const c = t.answer("c1", "0612");
      t.press(c, "111#");
      t.press(c, "222#");
      assert.equal(t.of("too-many").length, 0);
      t.press(c, "333#");
      const [tm] = t.of("too-many");
      assert.deepEqual([tm.count, tm.limit], [3, 3]);
      assert.ok(tm.lockedUntil > 0, "the third wrong code also locks the number (default lock-out)");
      assert.deepEqual(c.texts, [DEFAULT_TOO_MANY_MESSAGE]);
      await tick();
      assert.deepEqual(c.hangups, []);
      const before = t.events.length;
      t.press(c, "1234#");
      assert.equal(t.events.length, before, "nothing while the call ends, not even the right code");
      c.finish();
      assert.deepEqual(c.hangups, ["too many wrong codes"]);
      c.finish();
      t.clock.advance(ENDING_MESSAGE_MAX_MS);
      assert.deepEqual(c.hangups, ["too many wrong codes"], "hung up once");
    });

    it("the closing message is cut short: hang-up after ENDING_MESSAGE_MAX_MS at the latest", async () => {
      const guard = new CodeGuard({ clock: new WallClock(), maxWrongCodes: 1 });
      const t = setup({ actions: [DOOR], guard, tooManyMessage: "Bye." });
      const c = t.answer();
      t.press(c, "0#");
      await tick();
      t.clock.advance(ENDING_MESSAGE_MAX_MS - 1);
      assert.deepEqual(c.hangups, []);
      t.clock.advance(1);
      assert.deepEqual(c.hangups, ["too many wrong codes"]);
      c.finish(); // the call ends: the message stops after all
      assert.deepEqual(c.hangups, ["too many wrong codes"], "hung up once");
    });

    it("an empty closing message hangs up at once", () => {
      const guard = new CodeGuard({ clock: new WallClock(), maxWrongCodes: 1 });
      const t = setup({ actions: [DOOR], guard, tooManyMessage: "" });
      const c = t.answer();
      t.press(c, "0#");
      assert.deepEqual(c.hangups, ["too many wrong codes"]);
      assert.deepEqual(c.texts, []);
      assert.equal(t.clock.timers.size, 0);
    });

    it("the limit is per call even without a lock-out; the count of a number carries over calls through the guard", () => {
      const wall = new WallClock();
      const guard = new CodeGuard({ clock: wall, lockoutBaseMs: 0 });
      const t = setup({ actions: [DOOR], guard });
      const c = t.answer("c1", "0612");
      t.press(c, "1#2#3#");
      assert.deepEqual(
        t.of("too-many").map((e) => e.lockedUntil),
        [0],
        "lockoutBaseMs 0: no lock-out",
      );

      const g2 = new CodeGuard({ clock: wall, lockoutBaseMs: 60_000 });
      const u = setup({ actions: [DOOR], guard: g2 });
      const d1 = u.answer("c1", "0612");
      u.press(d1, "1#2#");
      u.end(d1);
      const d2 = u.answer("c2", "0612");
      u.press(d2, "3#");
      const [tm] = u.of("too-many");
      assert.equal(tm.count, 1, "one wrong code in this call");
      assert.equal(tm.lockedUntil, wall.t + 60_000, "the third wrong code of the number locks it");
      assert.deepEqual(d2.hangups, [], "the closing message first");
    });

    it("a right code starts the number's count again", () => {
      const wall = new WallClock();
      const guard = new CodeGuard({ clock: wall });
      const t = setup({ actions: [DOOR], guard });
      const c1 = t.answer("c1", "0612");
      t.press(c1, "1#2#");
      t.press(c1, "1234#");
      t.end(c1);
      const c2 = t.answer("c2", "0612");
      t.press(c2, "1#2#");
      assert.equal(t.of("too-many").length, 0);
      assert.equal(guard.lockedUntil("0612"), 0);
    });
  });

  describe("lock-out", () => {
    it("a locked-out caller is told and hung up as soon as the call is answered", () => {
      const wall = new WallClock();
      const guard = new CodeGuard({ clock: wall });
      for (let i = 0; i < 3; i++) guard.wrongCode("0612");
      const t = setup({ actions: [DOOR], guard });
      const c = t.answer("c1", "0612");
      const [l] = t.of("locked");
      assert.equal(l.lockedUntil, guard.lockedUntil("0612"));
      assert.equal(l.call.id, "c1");
      assert.deepEqual(c.texts, [DEFAULT_LOCKED_MESSAGE]);
      c.finish();
      return tick().then(() => {
        c.finish();
        assert.deepEqual(c.hangups, ["caller locked out"]);
        assert.equal(t.clock.timers.size, 0, "no menu repeat armed");
      });
    });

    it("while locked, not even the right code matches (the lock came from another call)", () => {
      const wall = new WallClock();
      const guard = new CodeGuard({ clock: wall });
      const t = setup({ actions: [DOOR, LIGHT], guard, lockedMessage: "" });
      const c = t.answer("c1", "0612");
      for (let i = 0; i < 3; i++) guard.wrongCode("0612");
      t.press(c, "1234#");
      assert.equal(t.of("action").length, 0);
      assert.equal(t.of("code").length, 0);
      assert.equal(t.of("locked").length, 1);
      assert.deepEqual(c.hangups, ["caller locked out"]);

      const c2 = t.answer("c2", "0699");
      for (let i = 0; i < 3; i++) guard.wrongCode("0699");
      t.press(c2, "5");
      assert.equal(t.of("action").length, 0, "a single-key action neither");
      assert.deepEqual(c2.hangups, ["caller locked out"]);
    });

    it("lock-outs are per caller number, inbound only; the number is normalized first", () => {
      const wall = new WallClock();
      const guard = new CodeGuard({ clock: wall });
      for (let i = 0; i < 3; i++) guard.wrongCode("0612");
      const t = setup({ actions: [DOOR], guard, normalizeNumber: (n) => n.replace(/[^0-9]/g, "") });
      const other = t.answer("c1", "0613");
      assert.equal(t.of("locked").length, 0);
      t.press(other, "1234#");
      assert.equal(t.of("action").length, 1);
      t.answer("c2", "06-12", "outbound");
      assert.equal(t.of("locked").length, 0, "a call we place is never locked out");
      t.answer("c3", "06-12");
      assert.equal(t.of("locked").length, 1);
    });

    it('unlock lifts one number or (undefined, null, "*") all of them', () => {
      const wall = new WallClock();
      const guard = new CodeGuard({ clock: wall });
      const t = setup({ actions: [DOOR], guard, normalizeNumber: (n) => n.replace(/[^0-9]/g, "") });
      const lock = (n: string) => {
        for (let i = 0; i < 3; i++) guard.wrongCode(n);
      };
      lock("0612");
      lock("0613");
      t.menu.unlock("06 12");
      assert.equal(guard.lockedUntil("0612"), 0);
      assert.ok(guard.lockedUntil("0613") > 0);
      for (const all of [undefined, null, "*"]) {
        lock("0613");
        t.menu.unlock(all);
        assert.equal(guard.lockedUntil("0613"), 0, String(all));
      }
    });
  });

  describe("hideCodes", () => {
    it("keys and codes leave as masks, the action's code not at all; the digits appear in no event", async () => {
      const t = setup({ actions: [DOOR, LIGHT], hideCodes: true, invalidMessage: "No." });
      const c = t.answer();
      t.press(c, "1234#");
      t.press(c, "5");
      t.press(c, "9876#");
      await tick();
      assert.deepEqual(
        t.of("key").map((e) => [e.key, e.masked]),
        [...Array(11)].map(() => [KEY_MASK, true]),
      );
      assert.deepEqual(
        t.of("code").map((e) => [e.code, e.masked]),
        [
          ["••••", true],
          ["•", true],
          ["••••", true],
        ],
      );
      assert.deepEqual(
        t.of("action").map((e) => [e.code, e.masked, "actionCode" in e ? e.actionCode : "absent"]),
        [
          ["••••", true, undefined],
          ["•", true, undefined],
        ],
      );
      const leaked = JSON.stringify(t.events.map((x) => (typeof x.e === "object" ? { ...x.e, call: undefined } : x.e)));
      for (const secret of ["1234", "9876", '"5"']) assert.ok(!leaked.includes(secret), `${secret} in ${leaked}`);
    });
  });

  describe("one-time codes", () => {
    it("a one-time code fires its action once, marked oneTime; then it is a wrong code", () => {
      const t = setup({ actions: [DOOR, LIGHT] });
      t.menu.setOneTimeCode("4711", t.menu.actionIndex("light"), 60_000);
      const c = t.answer();
      t.press(c, "4711#");
      assert.deepEqual(
        t.of("action").map((a) => [a.index, a.oneTime, a.code, a.actionCode]),
        [[1, true, "4711", "5"]],
      );
      assert.deepEqual(c.texts, ["Light on."]);
      t.press(c, "4711#");
      assert.equal(t.of("action").length, 1);
      assert.deepEqual(
        t.of("code").map((e) => e.accepted),
        [true, false],
      );
      assert.equal(t.of("wrong").length, 1);
    });

    it("actionIndex: the action's number (1 = first) or its topic, default the first; anything else throws", () => {
      const t = setup({ actions: [DOOR, LIGHT] });
      assert.equal(t.menu.actionIndex(undefined), 0);
      assert.equal(t.menu.actionIndex(null), 0);
      assert.equal(t.menu.actionIndex(""), 0);
      assert.equal(t.menu.actionIndex(2), 1);
      assert.equal(t.menu.actionIndex("2"), 1);
      assert.equal(t.menu.actionIndex("door"), 0);
      for (const bad of [0, 3, 1.5, "x", "-1", {}]) {
        assert.throws(() => t.menu.actionIndex(bad), /msg\.action must be 1 to 2 or an action's topic/, JSON.stringify(bad));
      }
      const none = setup();
      assert.throws(() => none.menu.actionIndex(undefined), /no action for the code to trigger/);
      assert.throws(() => t.menu.setOneTimeCode("1", 2, 1000), /no action 3/);
      assert.throws(() => t.menu.setOneTimeCode("1x", 0, 1000), /one-time code/);
    });

    it("clearOneTimeCodes revokes them", () => {
      const t = setup({ actions: [DOOR] });
      t.menu.setOneTimeCode("4711", 0, 60_000);
      t.menu.clearOneTimeCodes();
      const c = t.answer();
      t.press(c, "4711#");
      assert.equal(t.of("action").length, 0);
    });
  });

  describe("a menu without actions", () => {
    it("only reports keys and codes: never counts, locks out or hangs up; its invalid message does not hold keys back", async () => {
      const wall = new WallClock();
      const guard = new CodeGuard({ clock: wall, maxWrongCodes: 1 });
      for (let i = 0; i < 3; i++) guard.wrongCode("0612");
      const t = setup({ guard, invalidMessage: "Hm." });
      const c = t.answer("c1", "0612");
      for (let i = 0; i < 5; i++) t.press(c, "12#");
      await tick();
      assert.equal(t.of("locked").length, 0);
      assert.equal(t.of("wrong").length + t.of("too-many").length, 0);
      assert.equal(t.of("code").length, 5);
      assert.equal(t.of("key").length, 15);
      assert.deepEqual(c.hangups, []);
      assert.equal(c.stops, 4, "each code's message is cut by the next key (barge-in)");
    });
  });

  describe("barge-in", () => {
    it("a key during a message stops it and counts", () => {
      const t = setup({ actions: [LIGHT, DOOR] });
      const c = t.answer();
      t.press(c, "5");
      assert.ok(c.playing);
      t.press(c, "1");
      assert.equal(c.stops, 1);
      assert.equal(t.of("key").length, 2);
    });

    it("with bargeIn false, keys are ignored until the message ends", () => {
      const t = setup({ actions: [LIGHT, DOOR], bargeIn: false });
      const c = t.answer();
      t.press(c, "5");
      t.press(c, "5");
      assert.equal(c.stops, 0);
      assert.equal(t.of("key").length, 1);
      c.finish();
      t.press(c, "5");
      assert.equal(t.of("action").length, 2);
    });
  });

  describe("menu repeat", () => {
    it("speaks the menu after menuRepeatMs of silence, again and again; a key starts the wait again", () => {
      const t = setup({ actions: [DOOR], menuMessage: "Press 1234.", menuRepeatMs: 10_000 });
      const c = t.answer();
      t.clock.advance(9_999);
      assert.deepEqual(c.texts, []);
      t.clock.advance(1);
      assert.deepEqual(c.texts, ["Press 1234."]);
      c.finish();
      t.clock.advance(5_000);
      t.press(c, "1"); // at 15 200
      t.clock.advance(9_000);
      assert.equal(c.texts.length, 1, "the key moved the repeat");
      t.clock.advance(1_000);
      assert.equal(c.texts.length, 2);
      assert.equal(c.said[1].language, undefined);
    });

    it("not while a message plays; not without message or period; stops when the call ends", () => {
      const t = setup({ actions: [LIGHT], menuMessage: "Press 5.", menuRepeatMs: 10_000 });
      const c = t.answer();
      t.press(c, "5"); // "Light on." plays and is never finished
      t.clock.advance(30_000);
      assert.deepEqual(c.texts, ["Light on."]);
      t.end(c);
      assert.equal(t.clock.timers.size, 0);
      assert.equal(t.menu.callCount, 0);

      for (const o of [{ menuMessage: "Press 5." }, { menuRepeatMs: 10_000 }, { menuMessage: "Press 5.", menuRepeatMs: 0 }]) {
        const u = setup({ actions: [LIGHT], ...o });
        const d = u.answer();
        assert.equal(u.clock.timers.size, 0);
        u.clock.advance(60_000);
        assert.deepEqual(d.texts, []);
      }
    });
  });

  describe("life cycle", () => {
    it("ENDED and close() stop every timer and forget the calls", () => {
      const t = setup({ actions: [DOOR], menuMessage: "Menu.", menuRepeatMs: 1000, interDigitTimeoutMs: 3000 });
      const a = t.answer("a");
      t.answer("b");
      t.press(a, "12");
      assert.equal(t.menu.callCount, 2);
      assert.ok(t.clock.timers.size >= 2);
      t.end(a);
      assert.equal(t.menu.callCount, 1);
      t.menu.close();
      assert.equal(t.menu.callCount, 0);
      assert.equal(t.clock.timers.size, 0);
    });

    it("a call ended while its closing message plays leaves no timer behind", async () => {
      const guard = new CodeGuard({ clock: new WallClock(), maxWrongCodes: 1 });
      const t = setup({ actions: [DOOR], guard });
      const c = t.answer();
      t.press(c, "0#");
      await tick();
      assert.equal(t.clock.timers.size, 1, "the ENDING_MESSAGE_MAX_MS timer");
      t.end(c);
      assert.equal(t.clock.timers.size, 0);
    });
  });
});
