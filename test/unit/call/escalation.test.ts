// Escalation on a manual clock, driving a stand-in for the Softphone facade: who is called when,
// what is said, what ends an attempt, and the one result.
import assert from "assert";
import { ManualClock } from "../../support/manual-clock";
import {
  AlertOptions,
  AlertPhone,
  AlertResult,
  checkAlertOptions,
  Escalation,
  ALERT_MAX_NUMBERS,
  ALERT_NEXT_CALL_GAP_MS,
} from "../../../src/call/escalation";
import type { CallInfo, CallState, DtmfDigit } from "../../../src/types";

const flush = () => new Promise((r) => setImmediate(r));

interface FakeCall {
  info: CallInfo;
  watcher?: Parameters<AlertPhone["watchCall"]>[1];
  said: string[];
  /** Settles the last say()'s finished promise. */
  finishSay?: (interrupted: boolean) => void;
  hungUp?: string;
}

class FakePhone implements AlertPhone {
  calls: FakeCall[] = [];
  failDial = false;
  dial(target: string): CallInfo {
    if (this.failDial) throw new Error("maximum number of calls reached");
    const info: CallInfo = {
      id: `c${this.calls.length + 1}`,
      direction: "outbound",
      state: "DIALING",
      from: { number: "alice", name: "", uri: "" },
      to: { number: target, name: "", uri: "" },
      startedAt: "",
    };
    this.calls.push({ info, said: [] });
    return info;
  }
  call(id: string): CallInfo | undefined {
    const c = this.calls.find((x) => x.info.id === id);
    return c && c.info.state !== "ENDED" ? c.info : undefined;
  }
  watchCall(id: string, watcher: FakeCall["watcher"]): () => void {
    const c = this.calls.find((x) => x.info.id === id)!;
    c.watcher = watcher;
    return () => (c.watcher = undefined);
  }
  say(id: string, text: string): Promise<{ finished: Promise<boolean> }> {
    const c = this.calls.find((x) => x.info.id === id)!;
    c.said.push(text);
    return Promise.resolve({ finished: new Promise<boolean>((r) => (c.finishSay = r)) });
  }
  hangup(id: string, end: { reason?: string } = {}): Promise<void> {
    const c = this.calls.find((x) => x.info.id === id)!;
    c.hungUp = end.reason ?? "";
    this.end(c, { outcome: c.info.answeredAt ? "completed" : "cancelled", hungUpBy: "local", reason: end.reason });
    return Promise.resolve();
  }
  // ---- the peer's side ----
  last(): FakeCall {
    return this.calls[this.calls.length - 1];
  }
  fire(c: FakeCall, state: CallState, patch: Partial<CallInfo> = {}): void {
    Object.assign(c.info, patch, { state });
    c.watcher?.state?.(state, { ...c.info });
  }
  answer(c = this.last()): void {
    this.fire(c, "ANSWERED", { answeredAt: "x" });
  }
  end(c: FakeCall, patch: Partial<CallInfo>): void {
    if (c.info.state === "ENDED") return;
    this.fire(c, "ENDED", patch);
  }
  key(digit: DtmfDigit, c = this.last()): void {
    c.watcher?.dtmf?.(digit, "rfc4733", { ...c.info });
  }
}

const options = (o: Partial<AlertOptions> = {}): AlertOptions => ({
  ...checkAlertOptions("Fire in the basement", { numbers: ["bob", "carol", "dave"], attempts: 2, pauseSeconds: 60, deadlineSeconds: 900 }),
  ...o,
});

describe("call/escalation: call until someone confirms", () => {
  let clock: ManualClock;
  let phone: FakePhone;
  let results: AlertResult[];
  const start = (o: Partial<AlertOptions> = {}) => new Escalation(phone, options(o), (r) => results.push(r), { maxCalls: 2 }, clock).start();

  beforeEach(() => {
    clock = new ManualClock();
    clock.t = Date.parse("2026-12-04T10:00:00Z");
    phone = new FakePhone();
    results = [];
  });

  it("calls each number in turn; the third confirms: one result with every attempt", async () => {
    const alert = start();
    assert.deepStrictEqual(
      phone.calls.map((c) => c.info.to.number),
      ["bob"],
    );
    assert.ok(alert.owns("c1"));
    // bob does not answer (ring timeout)
    clock.advance(30_000);
    phone.end(phone.last(), { outcome: "no-answer", reason: "ring timeout" });
    assert.strictEqual(phone.calls.length, 1, "the next call waits for the gap");
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    // carol answers, hears the message, hangs up without a key
    assert.strictEqual(phone.last().info.to.number, "carol");
    phone.answer();
    await flush();
    assert.deepStrictEqual(phone.last().said, ["Fire in the basement"]);
    phone.key("5"); // a wrong key is ignored
    phone.end(phone.last(), { outcome: "completed", hungUpBy: "remote" });
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    // dave answers and presses 1
    assert.strictEqual(phone.last().info.to.number, "dave");
    phone.answer();
    await flush();
    clock.advance(4000);
    phone.key("1");
    assert.strictEqual(results.length, 1);
    const r = results[0];
    assert.strictEqual(r.confirmed, true);
    assert.strictEqual(r.by, "dave");
    assert.strictEqual(r.at, "2026-12-04T10:00:36.000Z");
    assert.deepStrictEqual(
      r.attempts.map((a) => [a.number, a.round, a.outcome, a.reason]),
      [
        ["bob", 1, "no-answer", "ring timeout"],
        ["carol", 1, "hung-up", "hung up by the callee"],
        ["dave", 1, "confirmed", undefined],
      ],
    );
    assert.strictEqual(r.attempts[0].startedAt, "2026-12-04T10:00:00.000Z");
    assert.strictEqual(r.attempts[0].endedAt, "2026-12-04T10:00:30.000Z");
    assert.strictEqual(phone.last().hungUp, "alert confirmed", "the confirmed call is hung up");
    assert.strictEqual(alert.running, false);
    clock.advance(3_600_000);
    assert.strictEqual(phone.calls.length, 3, "nobody else is called");
    assert.strictEqual(clock.timers.size, 0, "no timer left");
  });

  it("repeats the message with a pause, and hangs up after the last repetition", async () => {
    start({ numbers: ["bob"], attempts: 1, repeat: 3, repeatPauseSeconds: 2 });
    phone.answer();
    await flush();
    const c = phone.last();
    for (let i = 1; i <= 3; i++) {
      assert.strictEqual(c.said.length, i);
      c.finishSay!(false);
      await flush();
      clock.advance(1999);
      assert.strictEqual(c.said.length, i, "not before the pause");
      clock.advance(1);
    }
    assert.strictEqual(c.said.length, 3);
    assert.strictEqual(c.hungUp, "alert not confirmed");
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    assert.deepStrictEqual(
      results.map((r) => [r.confirmed, r.reason, r.attempts.map((a) => [a.outcome, a.reason])]),
      [[false, "nobody confirmed", [["hung-up", "alert not confirmed"]]]],
    );
  });

  it("rounds: after the last number it waits pauseSeconds, then calls the list again; then nobody confirmed", () => {
    start({ numbers: ["bob", "carol"], attempts: 2, pauseSeconds: 60 });
    phone.end(phone.last(), { outcome: "busy", statusCode: 486 });
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    phone.end(phone.last(), { outcome: "rejected", statusCode: 603 });
    clock.advance(ALERT_NEXT_CALL_GAP_MS + 59_999);
    assert.strictEqual(phone.calls.length, 2, "the pause between rounds");
    clock.advance(1);
    assert.strictEqual(phone.last().info.to.number, "bob");
    phone.end(phone.last(), { outcome: "failed", reason: "503 Service Unavailable" });
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    phone.end(phone.last(), { outcome: "no-answer" });
    assert.strictEqual(results.length, 0);
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    assert.strictEqual(results.length, 1);
    assert.strictEqual(results[0].confirmed, false);
    assert.deepStrictEqual(
      results[0].attempts.map((a) => `${a.number}/${a.round}/${a.outcome}`),
      ["bob/1/busy", "carol/1/rejected", "bob/2/failed", "carol/2/no-answer"],
    );
    assert.strictEqual(phone.calls.length, 4);
  });

  it("the deadline ends it: the call in progress is hung up and recorded as cancelled", () => {
    start({ deadlineSeconds: 45 });
    phone.end(phone.last(), { outcome: "no-answer" });
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    clock.advance(44_000);
    assert.strictEqual(results.length, 1);
    assert.strictEqual(results[0].reason, "deadline");
    assert.deepStrictEqual(
      results[0].attempts.map((a) => [a.number, a.outcome, a.reason]),
      [
        ["bob", "no-answer", undefined],
        ["carol", "cancelled", "deadline"],
      ],
    );
    assert.strictEqual(phone.last().hungUp, "alert deadline");
    assert.strictEqual(clock.timers.size, 0);
  });

  it("cancel() stops it at once with one result; a key after it changes nothing", async () => {
    const alert = start();
    phone.answer();
    await flush();
    alert.cancel();
    alert.cancel();
    phone.key("1");
    assert.strictEqual(results.length, 1);
    assert.deepStrictEqual([results[0].confirmed, results[0].reason, results[0].attempts[0].outcome], [false, "cancelled", "cancelled"]);
    assert.strictEqual(phone.last().hungUp, "alert cancelled");
  });

  it("a call that cannot be placed is a failed attempt, and the next number is tried", () => {
    phone.failDial = true;
    start({ numbers: ["bob", "carol"], attempts: 1 });
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    assert.strictEqual(results.length, 0);
    clock.advance(ALERT_NEXT_CALL_GAP_MS);
    assert.deepStrictEqual(
      results[0].attempts.map((a) => [a.number, a.outcome, a.reason]),
      [
        ["bob", "failed", "maximum number of calls reached"],
        ["carol", "failed", "maximum number of calls reached"],
      ],
    );
  });

  it("the confirm key before the answer does not count; a thank-you is said before hanging up", async () => {
    start({ numbers: ["bob"], thanks: "Thank you" });
    phone.key("1");
    assert.strictEqual(results.length, 0);
    phone.answer();
    await flush();
    phone.key("1");
    assert.strictEqual(results[0].confirmed, true);
    await flush();
    const c = phone.last();
    assert.deepStrictEqual(c.said, ["Fire in the basement", "Thank you"]);
    assert.strictEqual(c.hungUp, undefined, "not before the thanks are said");
    c.finishSay!(false);
    await flush();
    await flush();
    assert.strictEqual(c.hungUp, "alert confirmed");
    assert.strictEqual(clock.timers.size, 0);
  });
});

describe("call/escalation: checkAlertOptions", () => {
  it("fills in the defaults", () => {
    const o = checkAlertOptions("Hello", { numbers: ["101", 102] });
    assert.deepStrictEqual(o, {
      text: "Hello",
      numbers: ["101", "102"],
      confirmKey: "1",
      attempts: 2,
      pauseSeconds: 60,
      deadlineSeconds: 900,
      ringSeconds: 30,
      repeat: 5,
      repeatPauseSeconds: 2,
    });
    assert.strictEqual(checkAlertOptions(undefined, { numbers: ["1"], text: "from alert", confirmKey: "#" }).text, "from alert");
  });

  const bad: Array<[unknown, unknown, RegExp]> = [
    ["", { numbers: ["1"] }, /msg.payload \(or msg.alert.text\)/],
    ["x", undefined, /numbers must be a list/],
    ["x", { numbers: [] }, /numbers must be a list/],
    ["x", { numbers: Array.from({ length: ALERT_MAX_NUMBERS + 1 }, (_, i) => String(i)) }, /at most 20 numbers/],
    ["x", { numbers: ["1", {}] }, /numbers\[1\]/],
    ["x", { numbers: ["1"], confirmKey: "12" }, /confirmKey must be one key/],
    ["x", { numbers: ["1"], attempts: 0 }, /attempts must be a whole number from 1 to 10/],
    ["x", { numbers: ["1"], attempts: 1.5 }, /attempts/],
    ["x", { numbers: ["1"], deadlineSeconds: 999_999 }, /deadlineSeconds must be a number from 1 to 21600/],
    ["x", { numbers: ["1"], pauseSeconds: "soon" }, /pauseSeconds/],
    ["x", { numbers: ["1"], repeat: 21 }, /repeat/],
    ["x".repeat(1001), { numbers: ["1"] }, /longer than 1000/],
  ];
  for (const [text, alert, err] of bad)
    it(`refuses ${JSON.stringify(alert)?.slice(0, 60)} / ${String(text).slice(0, 10)}`, () =>
      assert.throws(() => checkAlertOptions(text, alert), err));
});
