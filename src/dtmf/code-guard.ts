// Keypad codes that resist guessing: wrong codes counted per caller number, a
// lock-out with a growing back-off (persisted, so hanging up or restarting
// does not reset it), and one-time codes set by the flow.
// Node-RED-free; the wall clock is injected (lock-outs outlive the process).

import { wallClock, type Clock } from "../clock";
import { isDtmfDigit } from "../types";
import type { LockoutStore } from "./lockout-store";

/** Wrong codes per call (and per number between lock-outs) before the caller is cut off. */
export const DEFAULT_MAX_WRONG_CODES = 3;
/** First lock-out; each further one doubles it. */
export const DEFAULT_LOCKOUT_BASE_MS = 60_000;
/** The back-off never grows beyond this. */
export const LOCKOUT_MAX_MS = 24 * 3600_000;
/** A number with no wrong code for this long after its lock-out ended starts again from zero. */
export const LOCKOUT_FORGET_MS = 24 * 3600_000;
/** Numbers remembered; beyond this the oldest unlocked (then oldest) entry is evicted. */
export const MAX_LOCKOUT_ENTRIES = 1000;
/** Caller numbers come from the network: longer ones are cut to this many characters. */
export const MAX_NUMBER_KEY_LENGTH = 64;
/** One-time codes held at once; a new one evicts the one that expires first. */
export const MAX_ONE_TIME_CODES = 100;
/** msg.validFor when the message gives none. */
export const DEFAULT_ONE_TIME_VALID_MS = 10 * 60_000;
/** msg.validFor is clamped to this. */
export const MAX_ONE_TIME_VALID_MS = 30 * 24 * 3600_000;
/** One-time code length (keys 0-9, *, #, A-D), as for action codes. */
export const MAX_ONE_TIME_CODE_LENGTH = 32;
/** Callers without a usable number share this bucket. */
export const ANONYMOUS_KEY = "anonymous";

export interface LockoutEntry {
  /** Wrong codes since the last lock-out (or since the first wrong code). */
  failures: number;
  /** Lock-outs so far: the next lasts base · 2^level (capped). */
  level: number;
  /** Epoch ms; 0 = not locked. */
  lockedUntil: number;
  /** Epoch ms of the last wrong code. */
  lastAt: number;
}

export interface CodeGuardOptions {
  /** Default DEFAULT_MAX_WRONG_CODES; at least 1. */
  maxWrongCodes?: number;
  /** First lock-out in ms; 0 = no lock-out (the per-call limit still applies). */
  lockoutBaseMs?: number;
  lockoutMaxMs?: number;
  maxEntries?: number;
  clock?: Pick<Clock, "now">;
  /** Where lock-outs persist; none = memory only. */
  store?: LockoutStore;
}

export interface WrongCodeResult {
  /** Wrong codes counted for this number since its last lock-out. */
  failures: number;
  /** Epoch ms until which the number is locked; 0 = not locked. */
  lockedUntil: number;
}

interface OneTimeCode {
  action: number;
  expiresAt: number;
}

export class CodeGuard {
  readonly maxWrongCodes: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxEntries: number;
  private readonly clock: Pick<Clock, "now">;
  private readonly store?: LockoutStore;
  private readonly entries = new Map<string, LockoutEntry>();
  private readonly oneTime = new Map<string, OneTimeCode>();

  constructor(opts: CodeGuardOptions = {}) {
    this.maxWrongCodes = Math.max(1, Math.floor(finite(opts.maxWrongCodes, DEFAULT_MAX_WRONG_CODES)));
    this.baseMs = Math.max(0, finite(opts.lockoutBaseMs, DEFAULT_LOCKOUT_BASE_MS));
    this.maxMs = Math.max(this.baseMs, finite(opts.lockoutMaxMs, LOCKOUT_MAX_MS));
    this.maxEntries = Math.max(1, Math.floor(finite(opts.maxEntries, MAX_LOCKOUT_ENTRIES)));
    this.clock = opts.clock ?? wallClock;
    this.store = opts.store;
    this.load();
  }

  /** The bucket a caller number falls into: trimmed, lower case, bounded; no number = ANONYMOUS_KEY. */
  static keyOf(number: unknown): string {
    const n = typeof number === "string" ? number.trim().toLowerCase().slice(0, MAX_NUMBER_KEY_LENGTH) : "";
    if (!n || n === "anonymous" || n === "unknown" || n === "restricted" || n === "private") return ANONYMOUS_KEY;
    return n;
  }

  /** Epoch ms until which this number is locked out; 0 = it may enter codes. */
  lockedUntil(number: unknown): number {
    const e = this.live(CodeGuard.keyOf(number));
    return e && e.lockedUntil > this.clock.now() ? e.lockedUntil : 0;
  }

  /** Counts a wrong code; the maxWrongCodes-th since the last lock-out locks the number. */
  wrongCode(number: unknown): WrongCodeResult {
    const key = CodeGuard.keyOf(number);
    const now = this.clock.now();
    const e = this.live(key) ?? { failures: 0, level: 0, lockedUntil: 0, lastAt: now };
    e.failures += 1;
    e.lastAt = now;
    if (e.failures >= this.maxWrongCodes && this.baseMs > 0) {
      const ms = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(e.level, 40));
      e.lockedUntil = Math.max(e.lockedUntil, now + ms);
      e.level += 1;
      e.failures = 0;
    }
    this.entries.delete(key); // re-insert: Map order = least recently touched first
    this.entries.set(key, e);
    this.evict();
    this.save();
    return { failures: e.failures, lockedUntil: e.lockedUntil > now ? e.lockedUntil : 0 };
  }

  /** A right code: the number starts again from zero. */
  success(number: unknown): void {
    if (this.entries.delete(CodeGuard.keyOf(number))) this.save();
  }

  /** Lifts the lock-out of one number, or of every number. */
  unlock(number?: unknown): void {
    if (number === undefined) this.entries.clear();
    else this.entries.delete(CodeGuard.keyOf(number));
    this.save();
  }

  /** Numbers remembered (for tests and status). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Adds (or replaces) a one-time code that fires `action` once, within `validForMs`.
   * Throws on a malformed code. validForMs ≤ 0 revokes the code.
   */
  setOneTimeCode(code: string, action: number, validForMs = DEFAULT_ONE_TIME_VALID_MS): void {
    const c = String(code).replace(/\s/g, "").toUpperCase();
    if (!c || c.length > MAX_ONE_TIME_CODE_LENGTH || ![...c].every(isDtmfDigit)) {
      throw new Error(`a one-time code is 1 to ${MAX_ONE_TIME_CODE_LENGTH} keys of 0-9, *, #, A-D`);
    }
    this.oneTime.delete(c);
    if (!(validForMs > 0)) return;
    const now = this.clock.now();
    this.pruneOneTime(now);
    while (this.oneTime.size >= MAX_ONE_TIME_CODES) {
      let first: string | undefined;
      for (const [k, v] of this.oneTime) if (first === undefined || v.expiresAt < this.oneTime.get(first)!.expiresAt) first = k;
      this.oneTime.delete(first!);
    }
    this.oneTime.set(c, { action, expiresAt: now + Math.min(validForMs, MAX_ONE_TIME_VALID_MS) });
  }

  /** The action of a valid one-time code, consumed; undefined if there is none. */
  useOneTimeCode(code: string): number | undefined {
    const now = this.clock.now();
    this.pruneOneTime(now);
    const c = code.toUpperCase();
    const t = this.oneTime.get(c);
    if (!t) return undefined;
    this.oneTime.delete(c);
    return t.action;
  }

  clearOneTimeCodes(): void {
    this.oneTime.clear();
  }

  get oneTimeCount(): number {
    this.pruneOneTime(this.clock.now());
    return this.oneTime.size;
  }

  /** The entry of a key, unless it has been forgotten. */
  private live(key: string): LockoutEntry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (Math.max(e.lastAt, e.lockedUntil) + LOCKOUT_FORGET_MS <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private evict(): void {
    if (this.entries.size <= this.maxEntries) return;
    const now = this.clock.now();
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries) return;
      if (e.lockedUntil <= now) this.entries.delete(k);
    }
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(k);
    }
  }

  private pruneOneTime(now: number): void {
    for (const [k, v] of this.oneTime) if (v.expiresAt <= now) this.oneTime.delete(k);
  }

  private load(): void {
    if (!this.store) return;
    const raw = this.store.load();
    const now = this.clock.now();
    const rows = Object.entries(raw).sort((a, b) => a[1].lastAt - b[1].lastAt);
    for (const [k, e] of rows) {
      const key = CodeGuard.keyOf(k);
      // A lock-out longer than the cap comes from a clock that went back or an edited file.
      this.entries.set(key, { ...e, lockedUntil: Math.min(e.lockedUntil, now + this.maxMs) });
      this.live(key);
    }
    this.evict();
  }

  private save(): void {
    this.store?.save(Object.fromEntries(this.entries));
  }
}

function finite(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}
