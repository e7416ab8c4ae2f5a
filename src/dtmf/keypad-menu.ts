// A keypad menu over the keys of a call: codes assembled from keys, an action table
// (code → spoken message + its own output), the invalid-code reply, a menu repeated
// after silence, barge-in, and codes that resist guessing (CodeGuard: a limit of wrong
// codes per call, a lock-out per caller number, a wrong-code reply that keys cannot cut,
// one-time codes). Node-RED-free: calls are reached through the small KeypadCalls port,
// results leave as typed events, timers run on an injectable clock.

import { EventEmitter } from "events";
import type { CallInfo, CallState, DtmfDigit, DtmfMethod } from "../types";
import { DigitCollector, type CodeEnd } from "./collector";
import { systemClock, type Clock } from "../clock";
import { CodeGuard } from "./code-guard";
import { primitiveText } from "../primitive-text";

/** The closing message (too many codes, locked out) may play this long before the call is hung up anyway. */
export const ENDING_MESSAGE_MAX_MS = 60_000;
/** Spoken when the option is not given (flows written by hand); "" = silent. */
export const DEFAULT_TOO_MANY_MESSAGE = "Too many wrong codes. Goodbye.";
export const DEFAULT_LOCKED_MESSAGE = "Too many wrong codes. Please try again later. Goodbye.";
/** Keys in one code at most (the editor allows 1 to 32): the per-call key buffer is bounded. */
export const MAX_MENU_CODE_KEYS = 32;
/** Keys in one code when maxLength is not given. */
export const DEFAULT_MENU_CODE_KEYS = 10;
/** A code ends this long after its last key when interDigitTimeoutMs is not given. */
export const DEFAULT_INTER_DIGIT_TIMEOUT_MS = 3000;
/** What a key looks like in the status and, with hideCodes, in events. */
export const KEY_MASK = "•";

export interface KeypadAction {
  /** Keys; ending in the terminator ("1234#") waits for it, otherwise ("1") acts as soon as pressed. */
  code: string;
  /** Spoken into the call when the action fires. */
  message?: string;
  language?: string;
  /** The action's topic; "action" when empty. */
  topic?: string;
}

/** One live call as the menu sees it. */
export interface KeypadCall {
  /** Not ENDED. */
  readonly active: boolean;
  /** A message is playing or queued. */
  readonly playing: boolean;
  snapshot(): CallInfo;
  /** Stops what plays (barge-in). */
  stopPlayback(): void;
  /**
   * Speaks `text`, cutting what plays. Resolves once queued, rejects if it cannot be spoken.
   * `onFinished` runs once when that message stops playing (played out, cut, or call ended).
   */
  say(text: string, language?: string, onFinished?: () => void): Promise<void>;
  /** Ends the call; never throws. */
  hangup(reason: string): void;
}

export interface KeypadCalls {
  /** The call with this id, undefined when unknown (or no account online). */
  get(callId: string): KeypadCall | undefined;
}

export interface KeypadMenuOptions {
  actions?: readonly KeypadAction[];
  /** Keys that end a code (trimmed); "" = none. Default "#". */
  terminator?: string;
  /** Default DEFAULT_INTER_DIGIT_TIMEOUT_MS; 0 = never. */
  interDigitTimeoutMs?: number;
  /** 1 to MAX_MENU_CODE_KEYS; anything else = MAX_MENU_CODE_KEYS. Default DEFAULT_MENU_CODE_KEYS. */
  maxLength?: number;
  /** Spoken after a wrong code; none = silent. */
  invalidMessage?: string;
  /** A key pressed during a message stops it and counts (default); false = keys are ignored until it ends. */
  bargeIn?: boolean;
  /** Spoken again after menuRepeatMs without a key or message. */
  menuMessage?: string;
  /** 0 (default) = no repeat. */
  menuRepeatMs?: number;
  /** Default DEFAULT_TOO_MANY_MESSAGE; "" = hang up silently. */
  tooManyMessage?: string;
  /** Default DEFAULT_LOCKED_MESSAGE; "" = hang up silently. */
  lockedMessage?: string;
  /** Keys and codes leave as KEY_MASK, action codes not at all. */
  hideCodes?: boolean;
  /** Wrong codes, lock-outs, one-time codes. Default: a memory-only CodeGuard. */
  guard?: CodeGuard;
  /** The caller number as lock-outs key it (e.g. digits only). Default: as received. */
  normalizeNumber?: (raw: string) => string;
  clock?: Clock;
}

export interface KeypadKeyEvent {
  /** The key, or KEY_MASK with hideCodes. */
  key: DtmfDigit | typeof KEY_MASK;
  method: DtmfMethod;
  masked: boolean;
  /** Keys of the code in progress including this one, for the status (bounded by MAX_MENU_CODE_KEYS). */
  pendingKeys: number;
  call: CallInfo;
}

export interface KeypadCodeEvent {
  /** The code, or one KEY_MASK per key with hideCodes. */
  code: string;
  masked: boolean;
  /** "match": a complete action code that no longer code extends, acted on without terminator. */
  terminatedBy: CodeEnd | "match";
  /** An action (or one-time code) takes it; false = invalid. */
  accepted: boolean;
  call: CallInfo;
}

export interface KeypadActionEvent {
  /** 0-based index into the action table (its output is index + 1). */
  index: number;
  /** The action's topic, "action" when it has none. */
  topic: string;
  /** The code entered, or masked as in KeypadCodeEvent. */
  code: string;
  masked: boolean;
  /** The action's configured code; undefined with hideCodes. */
  actionCode?: string;
  /** Fired by a one-time code. */
  oneTime: boolean;
  call: CallInfo;
}

export interface KeypadWrongEvent {
  count: number;
  limit: number;
  call: CallInfo;
}
export interface KeypadTooManyEvent {
  count: number;
  limit: number;
  /** Epoch ms; 0 = the number is not locked. */ lockedUntil: number;
  call: CallInfo;
}
export interface KeypadLockedEvent {
  /** Epoch ms. */ lockedUntil: number;
  call: CallInfo;
}

export type KeypadMenuEvents = {
  key: [KeypadKeyEvent];
  code: [KeypadCodeEvent];
  action: [KeypadActionEvent];
  /** A wrong code below the limit. */
  wrong: [KeypadWrongEvent];
  /** The limit of wrong codes is reached: the call is being ended. */
  "too-many": [KeypadTooManyEvent];
  /** The caller's number is locked out: the call is being ended. */
  locked: [KeypadLockedEvent];
  warning: [text: string];
};

interface MenuAction extends KeypadAction {
  /** The code without terminator, upper case. */
  key: string;
  needsTerminator: boolean;
}

interface PerCall {
  collector: DigitCollector;
  menuTimer?: unknown;
  /** Wrong codes in this call. */
  wrong: number;
  /** The wrong-code reply is being prepared or spoken: keys are dropped. */
  replyToken: number;
  /** The call is being ended (too many codes, locked out): keys are dropped. */
  ending: boolean;
  endTimer?: unknown;
}

export class KeypadMenu extends EventEmitter<KeypadMenuEvents> {
  readonly actions: readonly MenuAction[];
  readonly guard: CodeGuard;
  private readonly terminator: string;
  private readonly interDigitTimeoutMs: number;
  private readonly maxCodeKeys: number;
  private readonly bargeIn: boolean;
  private readonly hideCodes: boolean;
  private readonly menuRepeatMs: number;
  private readonly tooManyMessage: string;
  private readonly lockedMessage: string;
  private readonly normalize: (raw: string) => string;
  private readonly clock: Clock;
  /** A menu without actions only reports keys: it has nothing to guess, so it never counts wrong codes, locks out or hangs up. */
  private readonly guarding: boolean;
  private readonly perCall = new Map<string, PerCall>();
  private replySeq = 0;

  constructor(
    private readonly calls: KeypadCalls,
    private readonly opts: KeypadMenuOptions = {},
  ) {
    super();
    this.terminator = (opts.terminator ?? "#").trim();
    this.actions = (opts.actions ?? []).map((a) => {
      const raw = String(a.code ?? "")
        .replace(/\s/g, "")
        .toUpperCase();
      // "1234#" waits for the terminator; "1" acts as soon as it is pressed.
      return { ...a, key: normalizeCode(raw, this.terminator), needsTerminator: !!this.terminator && raw.endsWith(this.terminator) };
    });
    this.guarding = this.actions.length > 0;
    this.interDigitTimeoutMs = opts.interDigitTimeoutMs ?? DEFAULT_INTER_DIGIT_TIMEOUT_MS;
    const wanted = Math.floor(opts.maxLength ?? DEFAULT_MENU_CODE_KEYS);
    this.maxCodeKeys = wanted >= 1 ? Math.min(wanted, MAX_MENU_CODE_KEYS) : MAX_MENU_CODE_KEYS;
    this.bargeIn = opts.bargeIn !== false;
    this.hideCodes = opts.hideCodes === true;
    this.menuRepeatMs = opts.menuRepeatMs ?? 0;
    this.tooManyMessage = opts.tooManyMessage ?? DEFAULT_TOO_MANY_MESSAGE;
    this.lockedMessage = opts.lockedMessage ?? DEFAULT_LOCKED_MESSAGE;
    this.guard = opts.guard ?? new CodeGuard();
    this.normalize = opts.normalizeNumber ?? ((n) => n);
    this.clock = opts.clock ?? systemClock;
  }

  /** A key of a call (already merged across methods by the call's own collector). */
  key(digit: DtmfDigit, method: DtmfMethod, call: CallInfo): void {
    const live = this.calls.get(call.id);
    if (!live?.active) return;
    const pc = this.stateFor(call);
    // Keys are dropped while the wrong-code reply plays (barge-in would let guesses run
    // at full speed) and once the call is being ended.
    if (pc.ending || pc.replyToken) return;
    if (live.playing) {
      if (!this.bargeIn) return; // keys are ignored until the message ends
      live.stopPlayback();
    }
    // Before add(): a code it completes reports its outcome after the key.
    const pendingKeys = Math.min(MAX_MENU_CODE_KEYS, pc.collector.pending.length + 1);
    this.emit("key", { key: this.hideCodes ? KEY_MASK : digit, method, masked: this.hideCodes, pendingKeys, call });
    pc.collector.add(digit, method);
    this.armMenu(call.id);
    // A complete action code that no longer code extends acts at once (menus of single keys).
    const pending = pc.collector.pending;
    if (!pending || pc.ending) return;
    const exact = this.actions.findIndex((a) => a.key === pending && !a.needsTerminator);
    const longer = this.actions.some((a) => a.key.length > pending.length && a.key.startsWith(pending));
    if (exact >= 0 && !longer) {
      pc.collector.clear();
      const latest = live.snapshot();
      const until = this.lockedUntil(latest);
      if (until) {
        this.lockedOut(pc, latest, until);
        return;
      }
      this.accepted(exact, pending, call, "match");
    }
  }

  /** A call changed state: ANSWERED starts the menu (or ends a locked-out caller's call), ENDED forgets the call. */
  callState(state: CallState, call: CallInfo): void {
    if (state === "ANSWERED") {
      const pc = this.stateFor(call);
      const until = this.lockedUntil(call);
      if (until) this.lockedOut(pc, call, until);
      else this.armMenu(call.id);
    }
    if (state === "ENDED") {
      const pc = this.perCall.get(call.id);
      if (pc) this.closeCall(pc);
      this.perCall.delete(call.id);
    }
  }

  /**
   * A one-time code that fires the action at `index` (0-based, see actionIndex) once, within
   * validForMs; ≤ 0 revokes the code. Throws on a bad code or index.
   */
  setOneTimeCode(code: string, index: number, validForMs: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.actions.length) throw new Error(`code: no action ${index + 1}`);
    this.guard.setOneTimeCode(code, index, validForMs);
  }

  clearOneTimeCodes(): void {
    this.guard.clearOneTimeCodes();
  }

  /** Lifts the lock-out of one caller number, or (undefined, null, "*") of every number. */
  unlock(number?: unknown): void {
    if (number === undefined || number === null || number === "*") this.guard.unlock();
    else this.guard.unlock(this.normalize(primitiveText(number) ?? ""));
  }

  /** Calls being followed (for tests and bounds: one per live call). */
  get callCount(): number {
    return this.perCall.size;
  }

  /** Stops every timer; keys and calls are ignored from now on. */
  close(): void {
    for (const pc of this.perCall.values()) this.closeCall(pc);
    this.perCall.clear();
  }

  /** msg.action: the action's number (1 = first) or its topic; default the first action. */
  actionIndex(a: unknown): number {
    const n = this.actions.length;
    if (n === 0) throw new Error("code: this node has no action for the code to trigger");
    if (a === undefined || a === null || a === "") return 0;
    const i = typeof a === "number" ? a : /^\d+$/.test(primitiveText(a) ?? "") ? Number(a) : NaN;
    if (Number.isInteger(i) && i >= 1 && i <= n) return i - 1;
    const byTopic = typeof a === "string" ? this.actions.findIndex((x) => x.topic === a) : -1;
    if (byTopic >= 0) return byTopic;
    throw new Error(`code: msg.action must be 1 to ${n} or an action's topic`);
  }

  private shown(code: string): string {
    return this.hideCodes ? KEY_MASK.repeat(code.length) : code;
  }

  /** Lock-outs are per caller number: inbound calls only (an alarm we place must reach its person). */
  private callerOf(call: CallInfo): string | undefined {
    return this.guarding && call.direction === "inbound" ? this.normalize(call.from.number ?? "") : undefined;
  }

  private lockedUntil(call: CallInfo): number {
    const caller = this.callerOf(call);
    return caller !== undefined ? this.guard.lockedUntil(caller) : 0;
  }

  /**
   * The menu assembles codes with its own collector, fed the per-call collector's keys:
   * that one belongs to the account (shared by every keypad node, no terminator or
   * timeout), while terminator, timeout and length here are this menu's. The keys arrive
   * merged across methods already, so de-duplication is off.
   */
  private stateFor(call: CallInfo): PerCall {
    const existing = this.perCall.get(call.id);
    if (existing) return existing;
    const collector = new DigitCollector({
      dedupWindowMs: 0,
      terminator: this.terminator,
      interDigitTimeoutMs: this.interDigitTimeoutMs,
      // Bounded even for flows written by hand (0 would mean "no limit" to the collector).
      maxLength: this.maxCodeKeys,
      clock: this.clock,
    });
    const pc: PerCall = { collector, wrong: 0, replyToken: 0, ending: false };
    collector.on("code", (c) => this.onCode(pc, call, c.code, c.terminatedBy));
    this.perCall.set(call.id, pc);
    return pc;
  }

  private onCode(pc: PerCall, call: CallInfo, code: string, terminatedBy: CodeEnd): void {
    if (pc.ending) return;
    const latest = this.calls.get(call.id)?.snapshot() ?? call;
    const caller = this.callerOf(latest);
    // While locked, no code matches, not even the right one.
    const until = caller !== undefined ? this.guard.lockedUntil(caller) : 0;
    if (until) {
      this.lockedOut(pc, latest, until);
      return;
    }
    const index = this.actions.findIndex((a) => a.key === code);
    if (index >= 0) {
      this.accepted(index, code, latest, terminatedBy);
      return;
    }
    const once = code ? this.guard.useOneTimeCode(code) : undefined;
    if (once !== undefined && once < this.actions.length) {
      this.accepted(once, code, latest, terminatedBy, true);
      return;
    }
    this.emit("code", { code: this.shown(code), masked: this.hideCodes, terminatedBy, accepted: false, call: latest });
    if (!this.guarding) {
      this.speak(call.id, this.opts.invalidMessage);
      return;
    }
    if (!code) {
      this.speakReply(pc, call.id, this.opts.invalidMessage);
      return;
    } // the end key alone is no guess
    pc.wrong += 1;
    const r = caller !== undefined ? this.guard.wrongCode(caller) : { lockedUntil: 0 };
    const limit = this.guard.maxWrongCodes;
    if (pc.wrong >= limit || r.lockedUntil) {
      this.emit("too-many", { count: pc.wrong, limit, lockedUntil: r.lockedUntil, call: latest });
      this.endCall(pc, call.id, this.tooManyMessage, "too many wrong codes");
      return;
    }
    this.emit("wrong", { count: pc.wrong, limit, call: latest });
    this.speakReply(pc, call.id, this.opts.invalidMessage);
  }

  /** A right code: the caller's count starts again, the action speaks and fires. */
  private accepted(index: number, code: string, call: CallInfo, terminatedBy: CodeEnd | "match", oneTime = false): void {
    const caller = this.callerOf(call);
    if (caller !== undefined) this.guard.success(caller);
    this.emit("code", { code: this.shown(code), masked: this.hideCodes, terminatedBy, accepted: true, call });
    const a = this.actions[index];
    this.speak(call.id, a.message, a.language);
    this.emit("action", {
      index,
      topic: a.topic || "action",
      code: this.shown(code),
      masked: this.hideCodes,
      actionCode: this.hideCodes ? undefined : a.code,
      oneTime,
      call,
    });
  }

  private lockedOut(pc: PerCall, call: CallInfo, until: number): void {
    this.emit("locked", { lockedUntil: until, call });
    this.endCall(pc, call.id, this.lockedMessage, "caller locked out");
  }

  private armMenu(callId: string): void {
    const pc = this.perCall.get(callId);
    const menu = this.opts.menuMessage;
    if (!pc || pc.ending || this.menuRepeatMs <= 0 || !menu) return;
    if (pc.menuTimer !== undefined) this.clock.clearTimeout(pc.menuTimer);
    pc.menuTimer = this.clock.setTimeout(() => {
      const call = this.calls.get(callId);
      if (call?.active && !call.playing) this.speak(callId, menu);
      this.armMenu(callId);
    }, this.menuRepeatMs);
  }

  private speak(callId: string, text: string | undefined, language?: string): void {
    if (!text) return;
    const call = this.calls.get(callId);
    if (!call?.active) return;
    call.say(text, language || undefined).catch((e: Error) => this.emit("warning", `could not speak into the call: ${e.message}`));
  }

  /** The wrong-code reply: keys pressed from now until it has been spoken are dropped. */
  private speakReply(pc: PerCall, callId: string, text: string | undefined): void {
    const call = this.calls.get(callId);
    if (!text || !call?.active) return;
    const token = ++this.replySeq;
    pc.replyToken = token;
    const release = () => {
      if (pc.replyToken === token) pc.replyToken = 0;
    };
    call.say(text, undefined, release).catch((e: Error) => {
      release();
      this.emit("warning", `could not speak into the call: ${e.message}`);
    });
  }

  /** Says goodbye, then hangs up (at the latest after ENDING_MESSAGE_MAX_MS). */
  private endCall(pc: PerCall, callId: string, text: string, reason: string): void {
    pc.ending = true;
    pc.collector.clear();
    if (pc.menuTimer !== undefined) {
      this.clock.clearTimeout(pc.menuTimer);
      pc.menuTimer = undefined;
    }
    const call = this.calls.get(callId);
    if (!call?.active) return;
    let hung = false;
    const hang = () => {
      if (hung) return;
      hung = true;
      if (pc.endTimer !== undefined) {
        this.clock.clearTimeout(pc.endTimer);
        pc.endTimer = undefined;
      }
      call.hangup(reason);
    };
    pc.endTimer = this.clock.setTimeout(hang, ENDING_MESSAGE_MAX_MS);
    if (!text) {
      hang();
      return;
    }
    call.say(text, undefined, hang).catch(() => hang());
  }

  private closeCall(pc: PerCall): void {
    pc.collector.close();
    if (pc.menuTimer !== undefined) this.clock.clearTimeout(pc.menuTimer);
    if (pc.endTimer !== undefined) this.clock.clearTimeout(pc.endTimer);
    pc.menuTimer = undefined;
    pc.endTimer = undefined;
  }
}

/** "1234#" with terminator "#" is the code "1234". */
export function normalizeCode(code: string, terminator: string): string {
  const c = code.replace(/\s/g, "").toUpperCase();
  return terminator && c.endsWith(terminator) ? c.slice(0, -terminator.length) : c;
}
