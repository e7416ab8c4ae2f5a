// Per-call DTMF collection: merges the three transports (RFC 4733, SIP INFO,
// in-band tones) into one stream of key presses and assembles codes.
import { EventEmitter } from "events";
import { systemClock, type Clock } from "../clock";
import { DTMF_METHODS, type DtmfDigit, type DtmfMethod } from "../types";

export interface CollectedDigit {
  digit: DtmfDigit;
  method: DtmfMethod;
  /** Time of the key press in ms on the collector's clock. */
  atMs: number;
}

export type CodeEnd = "terminator" | "timeout" | "maxlength";

export interface CollectedCode {
  /** The keys entered, without the terminator. */
  code: string;
  terminatedBy: CodeEnd;
  digits: CollectedDigit[];
}

/** Keys of one code at most: a longer entry ends as "maxlength" (also when maxLength is 0 or larger). */
export const MAX_CODE_KEYS = 64;
/** Recent presses kept for de-duplication across methods (within 2 × dedupWindowMs anyway). */
export const MAX_RECENT_PRESSES = 32;

export interface DigitCollectorOptions {
  /** Methods to accept; others are ignored. Default all three. */
  methods?: readonly DtmfMethod[];
  /** Same key by another method within this many ms is one press. Default 250. */
  dedupWindowMs?: number;
  /** Keys that end a code (each character is one key); "" = none. Default "#". */
  terminator?: string;
  /** Ends a code this long after its last key; 0 = never. Default 5000. */
  interDigitTimeoutMs?: number;
  /** Ends a code when it has this many keys; 0 = no limit but MAX_CODE_KEYS. Default 0. */
  maxLength?: number;
  clock?: Clock;
}

interface Reported extends CollectedDigit {
  /** Other methods that already delivered their copy of this press. */
  matched: Set<DtmfMethod>;
}

type CollectorEvents = {
  digit: [CollectedDigit];
  code: [CollectedCode];
};

/**
 * Emits "digit" for every key press and "code" when a code is complete.
 *
 * De-duplication: gateways often send a key both as RFC 4733 events and as
 * in-band tone (or INFO). A key arriving by method M is dropped when the
 * same key was reported by a different method within `dedupWindowMs` and
 * that report has not yet absorbed a copy from M. Each report absorbs at
 * most one copy per method, so a key genuinely pressed twice in quick
 * succession still counts twice. The first arrival is reported at once.
 */
export class DigitCollector extends EventEmitter<CollectorEvents> {
  private readonly methods: ReadonlySet<DtmfMethod>;
  private readonly dedupWindowMs: number;
  private readonly terminators: Set<string>;
  private readonly timeoutMs: number;
  private readonly maxLength: number;
  private readonly clock: Clock;
  private recent: Reported[] = [];
  private buffer: CollectedDigit[] = [];
  private timer: unknown = null;
  private closed = false;

  constructor(opts: DigitCollectorOptions = {}) {
    super();
    // A simulated key exists only in a simulated call (call/simulated-call.ts): always taken.
    this.methods = new Set<DtmfMethod>([...(opts.methods ?? DTMF_METHODS), "simulated"]);
    this.dedupWindowMs = opts.dedupWindowMs ?? 250;
    this.terminators = new Set([...(opts.terminator ?? "#").toUpperCase()]);
    this.timeoutMs = opts.interDigitTimeoutMs ?? 5000;
    const maxLength = Math.floor(Number(opts.maxLength ?? 0)) || 0;
    this.maxLength = maxLength > 0 ? Math.min(maxLength, MAX_CODE_KEYS) : MAX_CODE_KEYS;
    this.clock = opts.clock ?? systemClock;
  }

  /** Keys collected towards the current code. */
  get pending(): string {
    return this.buffer.map((d) => d.digit).join("");
  }

  /**
   * Offers a key received by `method`. Returns true if it was reported as a
   * new press, false if ignored (method disabled, duplicate, closed).
   */
  add(digit: DtmfDigit, method: DtmfMethod, atMs?: number): boolean {
    if (this.closed || !this.methods.has(method)) return false;
    const at = atMs ?? this.clock.now();
    this.recent = this.recent.filter((r) => r.atMs >= at - 2 * this.dedupWindowMs);

    let twin: Reported | undefined;
    for (const r of this.recent) {
      if (r.digit !== digit || r.method === method || r.matched.has(method)) continue;
      if (Math.abs(at - r.atMs) > this.dedupWindowMs) continue;
      if (!twin || Math.abs(at - r.atMs) < Math.abs(at - twin.atMs)) twin = r;
    }
    if (twin) {
      twin.matched.add(method);
      return false;
    }

    const entry: CollectedDigit = { digit, method, atMs: at };
    this.recent.push({ ...entry, matched: new Set() });
    if (this.recent.length > MAX_RECENT_PRESSES) this.recent.splice(0, this.recent.length - MAX_RECENT_PRESSES);
    this.emit("digit", entry);
    if (!this.closed) this.collect(entry);
    return true;
  }

  /** Drops the code in progress without emitting it. */
  clear(): void {
    this.stopTimer();
    this.buffer = [];
  }

  /** Stops timers and ignores further input. */
  close(): void {
    this.closed = true;
    this.clear();
    this.recent = [];
  }

  private collect(entry: CollectedDigit): void {
    if (this.terminators.has(entry.digit)) {
      this.finish("terminator");
      return;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= this.maxLength) {
      this.finish("maxlength");
      return;
    }
    this.stopTimer();
    if (this.timeoutMs > 0) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = null;
        if (this.buffer.length > 0) this.finish("timeout");
      }, this.timeoutMs);
    }
  }

  private finish(terminatedBy: CodeEnd): void {
    this.stopTimer();
    const digits = this.buffer;
    this.buffer = [];
    this.emit("code", { code: digits.map((d) => d.digit).join(""), terminatedBy, digits });
  }

  private stopTimer(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
