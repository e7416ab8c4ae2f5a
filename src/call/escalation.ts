// Escalation ("call until someone confirms"): a list of numbers is called in turn, round after
// round; each answered call hears the message, repeated, until the confirm key or the end of the
// call. One result at the end: who confirmed and when, or nobody, with every attempt's outcome.
// Pure logic on an injected Clock, driving the Softphone facade through a small interface, so
// every call goes through the normal dial path (limits and rate limits apply).

import type { Clock } from "../clock";
import { wallClock } from "../clock";
import type { CallInfo, CallState, DtmfDigit } from "../types";
import { isDtmfDigit } from "../types";
import { primitiveText } from "../primitive-text";
import type { CallLimits } from "./call-manager";
import { randomUUID } from "crypto";

/** Numbers one alert may call at most. */
export const ALERT_MAX_NUMBERS = 20;
/** Rounds (attempts per number) at most. */
export const ALERT_MAX_ATTEMPTS = 10;
/** Longest total deadline of an alert (s): 6 hours. */
export const ALERT_MAX_DEADLINE_SECONDS = 6 * 3600;
/** Longest message (characters). */
export const ALERT_MAX_TEXT_CHARS = 1000;
/** Times the message is said in one call at most. */
export const ALERT_MAX_REPEATS = 20;
/** Longest pause between rounds, between repetitions, and ring time (s). */
export const ALERT_MAX_PAUSE_SECONDS = 3600;
/** Gap between the end of one attempt and the next call (ms): lets the last BYE go, spaces INVITEs. */
export const ALERT_NEXT_CALL_GAP_MS = 1000;
/** Bound for the thank-you message before the confirmed call is hung up (ms). */
export const ALERT_THANKS_MAX_MS = 30_000;

export const ALERT_DEFAULTS = {
  confirmKey: "1" as DtmfDigit,
  attempts: 2,
  pauseSeconds: 60,
  deadlineSeconds: 900,
  ringSeconds: 30,
  repeat: 5,
  repeatPauseSeconds: 2,
};

/** An alert as the flow gave it, checked (see checkAlertOptions). */
export interface AlertOptions {
  /** What is said in every answered call. */
  text: string;
  numbers: string[];
  confirmKey: DtmfDigit;
  /** Rounds: each number is called at most this often. */
  attempts: number;
  /** Between two rounds (s). */
  pauseSeconds: number;
  /** From the start; then the alert ends unconfirmed (s). */
  deadlineSeconds: number;
  /** Ring time of each call (s). */
  ringSeconds: number;
  /** Times the message is said per call; after the last one (and a pause) we hang up. */
  repeat: number;
  /** Silence between two repetitions (s). */
  repeatPauseSeconds: number;
  language?: string;
  /** Said after the confirm key, before hanging up. */
  thanks?: string;
}

export type AlertAttemptOutcome = "no-answer" | "busy" | "rejected" | "failed" | "hung-up" | "confirmed" | "cancelled";

export interface AlertAttempt {
  number: string;
  /** 1 = first round. */
  round: number;
  outcome: AlertAttemptOutcome;
  /** ISO times. */
  startedAt: string;
  endedAt: string;
  reason?: string;
  /** The call's id (absent when the call could not be placed). */
  callId?: string;
}

/** The one result of an alert (msg.payload of the "alert" message out). */
export interface AlertResult {
  confirmed: boolean;
  /** The number that confirmed. */
  by?: string;
  /** ISO time of the confirm key. */
  at?: string;
  /** Why it ended unconfirmed: "nobody confirmed", "deadline" or "cancelled". */
  reason?: string;
  attempts: AlertAttempt[];
}

/** What an alert needs of the Softphone facade (its methods, same names). */
export interface AlertPhone {
  dial(target: string, options: { ringTimeoutSeconds?: number; limits?: CallLimits; alertId?: string }): CallInfo;
  call(id: string): CallInfo | undefined;
  watchCall(
    id: string,
    watcher: { state?(state: CallState, call: CallInfo): void; dtmf?(digit: DtmfDigit, method: string, call: CallInfo): void },
  ): () => void;
  say(id: string, text: string, options: { language?: string; interrupt?: boolean }): Promise<{ finished: Promise<boolean> }>;
  hangup(id: string, end?: { reason?: string }): Promise<void>;
}

/**
 * Checks an alert given by a flow: the message text and msg.alert. Throws an error that says what
 * is wrong; fills in the defaults (ALERT_DEFAULTS) and checks every bound (ALERT_MAX_*).
 */
export function checkAlertOptions(text: unknown, raw: unknown): AlertOptions {
  const a = (raw !== null && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const t = typeof a.text === "string" && a.text.trim() ? a.text : text;
  if (typeof t !== "string" || !t.trim()) throw new Error("alert: msg.payload (or msg.alert.text) must be the message to say");
  if (t.length > ALERT_MAX_TEXT_CHARS) throw new Error(`alert: the message is longer than ${ALERT_MAX_TEXT_CHARS} characters`);
  if (!Array.isArray(a.numbers) || a.numbers.length === 0) throw new Error("alert: msg.alert.numbers must be a list of numbers to call");
  if (a.numbers.length > ALERT_MAX_NUMBERS) throw new Error(`alert: at most ${ALERT_MAX_NUMBERS} numbers`);
  const numbers = a.numbers.map((n, i) => {
    if ((typeof n !== "string" && typeof n !== "number") || !String(n).trim())
      throw new Error(`alert: msg.alert.numbers[${i}] must be a number or a SIP URI`);
    return String(n).trim();
  });
  const key =
    a.confirmKey === undefined || a.confirmKey === null || a.confirmKey === ""
      ? ALERT_DEFAULTS.confirmKey
      : (primitiveText(a.confirmKey) ?? "").toUpperCase();
  if (!isDtmfDigit(key)) throw new Error("alert: msg.alert.confirmKey must be one key: 0-9, *, #, A-D");
  const count = (name: string, def: number, min: number, max: number, integer = false): number => {
    const v = a[name];
    if (v === undefined || v === null || v === "") return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
      throw new Error(`alert: msg.alert.${name} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}`);
    return n;
  };
  const opts: AlertOptions = {
    text: t,
    numbers,
    confirmKey: key,
    attempts: count("attempts", ALERT_DEFAULTS.attempts, 1, ALERT_MAX_ATTEMPTS, true),
    pauseSeconds: count("pauseSeconds", ALERT_DEFAULTS.pauseSeconds, 0, ALERT_MAX_PAUSE_SECONDS),
    deadlineSeconds: count("deadlineSeconds", ALERT_DEFAULTS.deadlineSeconds, 1, ALERT_MAX_DEADLINE_SECONDS),
    ringSeconds: count("ringSeconds", ALERT_DEFAULTS.ringSeconds, 1, ALERT_MAX_PAUSE_SECONDS),
    repeat: count("repeat", ALERT_DEFAULTS.repeat, 1, ALERT_MAX_REPEATS, true),
    repeatPauseSeconds: count("repeatPauseSeconds", ALERT_DEFAULTS.repeatPauseSeconds, 0, ALERT_MAX_PAUSE_SECONDS),
  };
  if (typeof a.language === "string" && a.language.trim()) opts.language = a.language.trim();
  if (typeof a.thanks === "string" && a.thanks.trim()) opts.thanks = a.thanks.slice(0, ALERT_MAX_TEXT_CHARS);
  return opts;
}

/** The attempt in progress. */
interface Current {
  attempt: Omit<AlertAttempt, "outcome" | "endedAt">;
  callId?: string;
  unwatch?: () => void;
  answered: boolean;
  /** Times the message has been queued in this call. */
  said: number;
  timer?: unknown;
}

/**
 * One alert. start() dials the first number (its DIALING event comes while `dialingNow` is true,
 * so a listener can tell the alert's calls from others); `done` is called exactly once with the
 * result (confirmed, all rounds done, deadline, or cancel()). Never throws into the caller's event loop.
 */
export class Escalation {
  readonly attempts: AlertAttempt[] = [];
  private current?: Current;
  private round = 1;
  private index = 0;
  private finished = false;
  private waitTimer?: unknown;
  private deadlineTimer: unknown;
  private started = false;
  /** True while dial() runs: the DIALING event it emits belongs to this alert. */
  dialingNow = false;
  private readonly callIds = new Set<string>();

  /** This alert's id: in the result message and in msg.call.alertId of every message of its calls (sip-call's and sip-dtmf's). */
  readonly id = randomUUID();

  constructor(
    private readonly phone: AlertPhone,
    private readonly opts: AlertOptions,
    private readonly done: (result: AlertResult) => void,
    private readonly limits: CallLimits = {},
    private readonly clock: Clock = wallClock,
    private readonly log: (text: string) => void = () => undefined,
  ) {}

  /** Starts the deadline and dials the first number (once). */
  start(): this {
    if (this.started || this.finished) return this;
    this.started = true;
    this.deadlineTimer = this.clock.setTimeout(() => this.stop("deadline"), this.opts.deadlineSeconds * 1000);
    this.next();
    return this;
  }

  /** This alert's calls (to mark their messages). */
  owns(callId: string): boolean {
    return this.callIds.has(callId);
  }

  get running(): boolean {
    return !this.finished;
  }

  /** Stops it: the call in progress is hung up, the result says "cancelled". */
  cancel(): void {
    this.stop("cancelled");
  }

  private iso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Dials the next number, or waits for the next round, or ends: nobody confirmed. */
  private next(): void {
    if (this.finished) return;
    if (this.index >= this.opts.numbers.length) {
      this.index = 0;
      this.round++;
      if (this.round > this.opts.attempts) return this.finish({ confirmed: false, reason: "nobody confirmed" });
      this.waitTimer = this.clock.setTimeout(() => this.dial(), this.opts.pauseSeconds * 1000);
      return;
    }
    this.dial();
  }

  private dial(): void {
    this.waitTimer = undefined;
    if (this.finished) return;
    const number = this.opts.numbers[this.index++];
    const cur: Current = { attempt: { number, round: this.round, startedAt: this.iso() }, answered: false, said: 0 };
    this.current = cur;
    let info: CallInfo;
    this.dialingNow = true;
    try {
      info = this.phone.dial(number, { ringTimeoutSeconds: this.opts.ringSeconds, limits: this.limits, alertId: this.id });
    } catch (err) {
      this.endAttempt("failed", (err as Error)?.message ?? String(err));
      return;
    } finally {
      this.dialingNow = false;
    }
    cur.callId = info.id;
    cur.attempt.callId = info.id;
    this.callIds.add(info.id);
    cur.unwatch = this.phone.watchCall(info.id, {
      state: (state, call) => this.onState(cur, state, call),
      dtmf: (digit) => this.onKey(cur, digit),
    });
    // Ended before we could watch it (no ENDED event will come).
    if (!this.phone.call(info.id)) this.endAttempt("failed", "the call ended at once");
  }

  private onState(cur: Current, state: CallState, call: CallInfo): void {
    if (cur !== this.current) return;
    if (state === "ANSWERED" && !cur.answered) {
      cur.answered = true;
      this.sayAgain(cur);
    } else if (state === "ENDED") {
      this.endAttempt(...outcomeOf(call, cur.answered));
    }
  }

  /** Says the message once more, or hangs up after the last time (and its pause). */
  private sayAgain(cur: Current): void {
    if (cur !== this.current || !cur.callId) return;
    const id = cur.callId;
    if (cur.said >= this.opts.repeat) {
      void this.phone.hangup(id, { reason: "alert not confirmed" }).catch(() => undefined);
      return;
    }
    cur.said++;
    this.phone
      .say(id, this.opts.text, { language: this.opts.language })
      .then((h) => h.finished)
      .then((interrupted) => {
        if (cur !== this.current || interrupted) return;
        cur.timer = this.clock.setTimeout(() => this.sayAgain(cur), this.opts.repeatPauseSeconds * 1000);
      })
      .catch((err: Error) => {
        if (cur !== this.current) return;
        this.log(`alert: message not played: ${err?.message}`);
        void this.phone.hangup(id, { reason: "alert message not played" }).catch(() => undefined);
      });
  }

  private onKey(cur: Current, digit: DtmfDigit): void {
    if (cur !== this.current || !cur.answered || this.finished) return;
    // A wrong key is ignored: the message goes on.
    if (digit !== this.opts.confirmKey) return;
    const at = this.iso();
    const id = cur.callId!;
    this.record(cur, "confirmed", at);
    this.finish({ confirmed: true, by: cur.attempt.number, at });
    const hangup = () => void this.phone.hangup(id, { reason: "alert confirmed" }).catch(() => undefined);
    if (!this.opts.thanks) return hangup();
    // Thanks, then hang up once it has been said (bounded by ALERT_THANKS_MAX_MS).
    const bound = this.clock.setTimeout(hangup, ALERT_THANKS_MAX_MS);
    void this.phone
      .say(id, this.opts.thanks, { language: this.opts.language, interrupt: true })
      .then((h) => h.finished)
      .catch(() => true)
      .then(() => {
        this.clock.clearTimeout(bound);
        hangup();
      });
  }

  /** Records the attempt in progress and moves on after ALERT_NEXT_CALL_GAP_MS. */
  private endAttempt(outcome: AlertAttemptOutcome, reason?: string): void {
    const cur = this.current;
    if (!cur || this.finished) return;
    this.record(cur, outcome, this.iso(), reason);
    this.waitTimer = this.clock.setTimeout(() => this.next(), ALERT_NEXT_CALL_GAP_MS);
  }

  private record(cur: Current, outcome: AlertAttemptOutcome, endedAt: string, reason?: string): void {
    cur.unwatch?.();
    if (cur.timer !== undefined) this.clock.clearTimeout(cur.timer);
    this.current = undefined;
    const a: AlertAttempt = { number: cur.attempt.number, round: cur.attempt.round, outcome, startedAt: cur.attempt.startedAt, endedAt };
    if (reason) a.reason = reason;
    if (cur.callId) a.callId = cur.callId;
    this.attempts.push(a);
  }

  /** Deadline or cancel: the call in progress is hung up and recorded as cancelled. */
  private stop(why: "deadline" | "cancelled"): void {
    if (this.finished) return;
    const cur = this.current;
    if (cur) {
      this.record(cur, "cancelled", this.iso(), why);
      if (cur.callId) void this.phone.hangup(cur.callId, { reason: `alert ${why}` }).catch(() => undefined);
    }
    this.finish({ confirmed: false, reason: why });
  }

  private finish(r: Omit<AlertResult, "attempts">): void {
    if (this.finished) return;
    this.finished = true;
    if (this.deadlineTimer !== undefined) this.clock.clearTimeout(this.deadlineTimer);
    if (this.waitTimer !== undefined) this.clock.clearTimeout(this.waitTimer);
    const cur = this.current;
    if (cur?.timer !== undefined) this.clock.clearTimeout(cur.timer);
    try {
      this.done({ ...r, attempts: this.attempts.slice() });
    } catch (err) {
      this.log(`alert: the result listener failed: ${(err as Error)?.message}`);
    }
  }
}

/** An attempt's outcome from its ENDED call. */
function outcomeOf(call: CallInfo, answered: boolean): [AlertAttemptOutcome, string | undefined] {
  const reason = call.reason;
  if (answered || call.answeredAt) return ["hung-up", reason ?? (call.hungUpBy === "remote" ? "hung up by the callee" : undefined)];
  switch (call.outcome) {
    case "busy":
    case "no-answer":
    case "rejected":
      return [call.outcome, reason];
    case "cancelled":
      return ["no-answer", reason];
    default:
      return ["failed", reason ?? call.outcome];
  }
}
