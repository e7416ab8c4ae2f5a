// sip-dtmf: every key as a message, keys assembled into codes, and an action table
// (digit or code → spoken message + its own output). Codes resist guessing: a limit of
// wrong codes per call, a persisted lock-out per caller number, a wrong-code reply that
// keys cannot cut, digits kept out of the status (and optionally out of messages), and
// one-time codes set by the flow.
import path from "node:path";
import type { NodeAPI, NodeDef, Node, NodeMessage } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import type { Softphone } from "../../src/softphone";
import type { CallInfo, CallState, DtmfDigit, DtmfMethod } from "../../src/types";
import { DigitCollector } from "../../src/dtmf/collector";
import { CodeGuard, DEFAULT_MAX_WRONG_CODES, DEFAULT_LOCKOUT_BASE_MS, DEFAULT_ONE_TIME_VALID_MS } from "../../src/dtmf/code-guard";
import { JsonFileLockoutStore } from "../../src/dtmf/lockout-store";
import { normalizeNumber } from "../../src/call/caller-match";
import { registrationStatus } from "../shared/status";
import { num } from "../sip-client/config";

/** The closing message (too many codes, locked out) may play this long before the call is hung up anyway. */
const ENDING_MESSAGE_MAX_MS = 60_000;
/** Spoken when the editor never set the field (flows written by hand); "" in the editor = silent. */
const DEFAULT_TOO_MANY_MESSAGE = "Too many wrong codes. Goodbye.";
const DEFAULT_LOCKED_MESSAGE = "Too many wrong codes. Please try again later. Goodbye.";
/** Keys in one code at most (the editor allows 1 to 32): the per-call key buffer is bounded. */
const MAX_CODE_KEYS = 32;
/** What a key looks like in the status and, with "keep codes out of messages", in messages. */
const MASK = "•";

interface DtmfAction { code: string; message?: string; language?: string; topic?: string }

interface SipDtmfConfig extends NodeDef {
  client: string;
  terminator?: string;
  interDigitTimeout?: string | number;
  maxLength?: string | number;
  actions?: DtmfAction[];
  invalidMessage?: string;
  bargeIn?: boolean;
  menuMessage?: string;
  menuRepeat?: string | number;
  maxAttempts?: string | number;
  tooManyMessage?: string;
  lockoutSeconds?: string | number;
  lockedMessage?: string;
  hideCodes?: boolean;
}

interface PerCall {
  collector: DigitCollector;
  menuTimer?: NodeJS.Timeout;
  /** Wrong codes in this call. */
  wrong: number;
  /** The wrong-code reply is being prepared or spoken: keys are dropped. */
  replyToken: number;
  /** The call is being ended (too many codes, locked out): keys are dropped. */
  ending: boolean;
  endTimer?: NodeJS.Timeout;
}

interface CodeMsg extends NodeMessage { action?: unknown; validFor?: unknown }

export = function (RED: NodeAPI): void {
  function SipDtmf(this: Node, config: SipDtmfConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const client = RED.nodes.getNode(config.client) as SipClientNode | null;
    if (!client) {
      node.status({ fill: "red", shape: "ring", text: "no SIP account" });
      node.on("input", (_msg, _send, done) => done(new Error("no sip-client account is configured for this node")));
      return;
    }
    const terminator = (config.terminator ?? "#").trim();
    const actions = (Array.isArray(config.actions) ? config.actions : [])
      .map((a) => {
        const raw = String(a.code ?? "").replace(/\s/g, "").toUpperCase();
        // "1234#" waits for the terminator; "1" acts as soon as it is pressed.
        return { ...a, key: normalizeCode(raw, terminator), needsTerminator: !!terminator && raw.endsWith(terminator) };
      });
    const outputs = 1 + actions.length;
    const bargeIn = config.bargeIn !== false;
    const hideCodes = config.hideCodes === true;
    const menuRepeatMs = num(config.menuRepeat, 0) * 1000;
    const tooManyMessage = config.tooManyMessage ?? DEFAULT_TOO_MANY_MESSAGE;
    const lockedMessage = config.lockedMessage ?? DEFAULT_LOCKED_MESSAGE;
    const userDir = RED.settings.userDir ? String(RED.settings.userDir) : "";
    const guard = new CodeGuard({
      maxWrongCodes: num(config.maxAttempts, DEFAULT_MAX_WRONG_CODES),
      lockoutBaseMs: Math.max(0, num(config.lockoutSeconds, DEFAULT_LOCKOUT_BASE_MS / 1000)) * 1000,
      // One file per node: its PINs are its own. Without a user directory: memory only.
      store: userDir
        ? new JsonFileLockoutStore(path.join(userDir, "sip-dtmf-lockouts", `${node.id.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`), (w) => node.warn(w))
        : undefined,
    });
    const wantedKeys = Math.floor(num(config.maxLength, 10));
    const maxCodeKeys = wantedKeys >= 1 ? Math.min(wantedKeys, MAX_CODE_KEYS) : MAX_CODE_KEYS;
    const perCall = new Map<string, PerCall>();
    let phone: Softphone | undefined;
    let replySeq = 0;

    const shown = (code: string) => (hideCodes ? MASK.repeat(code.length) : code);
    // A node without actions only reports keys: it has nothing to guess, so it never
    // counts wrong codes, locks out or hangs up.
    const guarding = actions.length > 0;
    /** Lock-outs are per caller number: inbound calls only (an alarm we place must reach its person). */
    const callerOf = (call: CallInfo): string | undefined =>
      guarding && call.direction === "inbound" ? normalizeNumber(call.from.number ?? "") : undefined;
    const out = (index: number, msg: Record<string, unknown>) => {
      const arr: Array<NodeMessage | null> = new Array(outputs).fill(null);
      arr[index] = msg as NodeMessage;
      node.send(arr);
    };
    const speak = (callId: string, text: string | undefined, language?: string) => {
      if (!text || !phone) return;
      const call = phone.calls.get(callId);
      if (!call?.active) return;
      phone.calls.say(call, text, { language: language || undefined, interrupt: true })
        .catch((e: Error) => node.warn(`could not speak into the call: ${e.message}`));
    };
    /** The wrong-code reply: keys pressed from now until it has been spoken are dropped. */
    const speakReply = (pc: PerCall, callId: string, text: string | undefined) => {
      const call = phone?.calls.get(callId);
      if (!text || !phone || !call?.active) return;
      const token = ++replySeq;
      pc.replyToken = token;
      const release = () => { if (pc.replyToken === token) pc.replyToken = 0; };
      phone.calls.say(call, text, { interrupt: true }).then((item) => {
        const onFinished = (done: { id: number }) => {
          if (done.id !== item.id) return;
          call.playback.off("finished", onFinished);
          release();
        };
        call.playback.on("finished", onFinished);
      }).catch((e: Error) => { release(); node.warn(`could not speak into the call: ${e.message}`); });
    };
    /** Says goodbye, then hangs up (at the latest after ENDING_MESSAGE_MAX_MS). */
    const endCall = (pc: PerCall, callId: string, text: string, reason: string) => {
      pc.ending = true;
      pc.collector.clear();
      if (pc.menuTimer) { clearTimeout(pc.menuTimer); pc.menuTimer = undefined; }
      const call = phone?.calls.get(callId);
      if (!phone || !call?.active) return;
      let onFinished: ((done: { id: number }) => void) | undefined;
      const hang = () => {
        if (pc.endTimer) { clearTimeout(pc.endTimer); pc.endTimer = undefined; }
        if (onFinished) call.playback.off("finished", onFinished);
        call.hangup({ reason }).catch(() => undefined);
      };
      pc.endTimer = setTimeout(hang, ENDING_MESSAGE_MAX_MS);
      if (!text) { hang(); return; }
      phone.calls.say(call, text, { interrupt: true }).then((item) => {
        onFinished = (done) => { if (done.id === item.id) hang(); };
        call.playback.on("finished", onFinished);
      }).catch(() => hang());
    };
    const lockedOut = (pc: PerCall, call: CallInfo, until: number) => {
      node.status({ fill: "red", shape: "ring", text: "caller locked out" });
      const lockedUntil = new Date(until).toISOString();
      out(0, { topic: "dtmf-locked", payload: lockedUntil, lockedUntil, call });
      endCall(pc, call.id, lockedMessage, "caller locked out");
    };
    const fire = (index: number, code: string, call: CallInfo, oneTime = false) => {
      const a = actions[index];
      speak(call.id, a.message, a.language);
      const action: Record<string, unknown> = { index: index + 1 };
      if (!hideCodes) action.code = a.code;
      if (oneTime) action.oneTime = true;
      const msg: Record<string, unknown> = { topic: a.topic || "action", payload: shown(code), action, call };
      if (hideCodes) msg.masked = true;
      out(index + 1, msg);
    };
    /** A right code: the caller's count starts again. */
    const accepted = (index: number, code: string, call: CallInfo, msg: Record<string, unknown>, oneTime = false) => {
      const caller = callerOf(call);
      if (caller !== undefined) guard.success(caller);
      node.status({ fill: "green", shape: "dot", text: "code accepted" });
      out(0, msg);
      fire(index, code, call, oneTime);
    };
    const armMenu = (callId: string) => {
      const pc = perCall.get(callId);
      if (!pc || pc.ending || menuRepeatMs <= 0 || !config.menuMessage) return;
      if (pc.menuTimer) clearTimeout(pc.menuTimer);
      pc.menuTimer = setTimeout(() => {
        const call = phone?.calls.get(callId);
        if (call?.active && !call.playback.playing) speak(callId, config.menuMessage);
        armMenu(callId);
      }, menuRepeatMs);
    };
    const collectorFor = (call: CallInfo): PerCall => {
      let pc = perCall.get(call.id);
      if (pc) return pc;
      const collector = new DigitCollector({
        dedupWindowMs: 0, // the account already merged methods
        terminator,
        interDigitTimeoutMs: num(config.interDigitTimeout, 3) * 1000,
        // Bounded even for flows written by hand (0 would mean "no limit" to the collector).
        maxLength: maxCodeKeys,
      });
      const state: PerCall = { collector, wrong: 0, replyToken: 0, ending: false };
      collector.on("code", (c) => {
        if (state.ending) return;
        const latest = phone?.calls.get(call.id)?.snapshot() ?? call;
        const caller = callerOf(latest);
        // While locked, no code matches, not even the right one.
        const until = caller !== undefined ? guard.lockedUntil(caller) : 0;
        if (until) { lockedOut(state, latest, until); return; }
        const msg: Record<string, unknown> = { topic: "dtmf-code", payload: shown(c.code), terminatedBy: c.terminatedBy, call: latest };
        if (hideCodes) msg.masked = true;
        const index = actions.findIndex((a) => a.key === c.code);
        if (index >= 0) { accepted(index, c.code, latest, msg); return; }
        const once = c.code ? guard.useOneTimeCode(c.code) : undefined;
        if (once !== undefined && once < actions.length) { accepted(once, c.code, latest, msg, true); return; }
        msg.invalid = true;
        out(0, msg);
        if (!guarding) { speak(call.id, config.invalidMessage); return; }
        if (!c.code) { speakReply(state, call.id, config.invalidMessage); return; } // the end key alone is no guess
        state.wrong += 1;
        const r = caller !== undefined ? guard.wrongCode(caller) : { lockedUntil: 0 };
        if (state.wrong >= guard.maxWrongCodes || r.lockedUntil) {
          node.status({ fill: "red", shape: "ring", text: "too many wrong codes" });
          const tooMany: Record<string, unknown> = { topic: "dtmf-too-many", payload: state.wrong, limit: guard.maxWrongCodes, call: latest };
          if (r.lockedUntil) tooMany.lockedUntil = new Date(r.lockedUntil).toISOString();
          out(0, tooMany);
          endCall(state, call.id, tooManyMessage, "too many wrong codes");
          return;
        }
        node.status({ fill: "yellow", shape: "ring", text: `wrong code (${state.wrong}/${guard.maxWrongCodes})` });
        speakReply(state, call.id, config.invalidMessage);
      });
      pc = state;
      perCall.set(call.id, pc);
      return pc;
    };

    const onDtmf = (digit: DtmfDigit, method: DtmfMethod, call: CallInfo) => {
      const live = phone?.calls.get(call.id);
      if (!live?.active) return;
      const pc = collectorFor(call);
      // Keys are dropped while the wrong-code reply plays (barge-in would let guesses run
      // at full speed) and once the call is being ended.
      if (pc.ending || pc.replyToken) return;
      if (live.playback.playing) {
        if (!bargeIn) return; // keys are ignored until the message ends
        live.playback.stop();
      }
      out(0, hideCodes ? { topic: "dtmf", payload: MASK, method, masked: true, call } : { topic: "dtmf", payload: digit, method, call });
      // Before add(): a code it completes sets the status to its outcome.
      node.status({ fill: "blue", shape: "dot", text: `${MASK.repeat(Math.min(MAX_CODE_KEYS, pc.collector.pending.length + 1))} (${method})` });
      pc.collector.add(digit, method);
      armMenu(call.id);
      // A complete action code that no longer code extends acts at once (menus of single keys).
      const pending = pc.collector.pending;
      if (!pending || pc.ending) return;
      const exact = actions.findIndex((a) => a.key === pending && !a.needsTerminator);
      const longer = actions.some((a) => a.key.length > pending.length && a.key.startsWith(pending));
      if (exact >= 0 && !longer) {
        pc.collector.clear();
        const latest = live.snapshot();
        const caller = callerOf(latest);
        const until = caller !== undefined ? guard.lockedUntil(caller) : 0;
        if (until) { lockedOut(pc, latest, until); return; }
        const msg: Record<string, unknown> = { topic: "dtmf-code", payload: shown(pending), terminatedBy: "match", call };
        if (hideCodes) msg.masked = true;
        accepted(exact, pending, call, msg);
      }
    };
    const closePerCall = (pc: PerCall) => {
      pc.collector.close();
      if (pc.menuTimer) clearTimeout(pc.menuTimer);
      if (pc.endTimer) clearTimeout(pc.endTimer);
    };
    const onCall = (state: CallState, call: CallInfo) => {
      if (state === "ANSWERED") {
        const pc = collectorFor(call);
        const caller = callerOf(call);
        const until = caller !== undefined ? guard.lockedUntil(caller) : 0;
        if (until) lockedOut(pc, call, until);
        else armMenu(call.id);
      }
      if (state === "ENDED") {
        const pc = perCall.get(call.id);
        if (pc) closePerCall(pc);
        perCall.delete(call.id);
      }
    };

    node.on("input", (msg: CodeMsg, _send, done) => {
      try {
        const topic = String(msg.topic ?? "").toLowerCase();
        if (topic === "code") {
          const code = typeof msg.payload === "string" || typeof msg.payload === "number" ? String(msg.payload) : "";
          const index = actionIndex(msg.action);
          const validFor = msg.validFor === undefined ? DEFAULT_ONE_TIME_VALID_MS / 1000 : Number(msg.validFor);
          if (!Number.isFinite(validFor)) throw new Error("code: msg.validFor must be a number of seconds");
          guard.setOneTimeCode(code, index, validFor * 1000);
        } else if (topic === "clear-codes") {
          guard.clearOneTimeCodes();
        } else if (topic === "unlock") {
          const p = msg.payload;
          if (p === undefined || p === null || p === "*") guard.unlock();
          else guard.unlock(normalizeNumber(String(p)));
        } else {
          throw new Error(`unknown topic "${topic.slice(0, 40)}": use code, clear-codes or unlock`);
        }
        done();
      } catch (e) {
        done(e as Error);
      }
    });
    /** msg.action: the action's number (1 = first) or its topic; default the first action. */
    function actionIndex(a: unknown): number {
      if (actions.length === 0) throw new Error("code: this node has no action for the code to trigger");
      if (a === undefined || a === null || a === "") return 0;
      const n = typeof a === "number" ? a : /^\d+$/.test(String(a)) ? Number(a) : NaN;
      if (Number.isInteger(n) && n >= 1 && n <= actions.length) return n - 1;
      const byTopic = typeof a === "string" ? actions.findIndex((x) => x.topic === a) : -1;
      if (byTopic >= 0) return byTopic;
      throw new Error(`code: msg.action must be 1 to ${actions.length} or an action's topic`);
    }

    const user: ClientUser = {
      id: node.id,
      onRegistration(state, detail) { node.status(registrationStatus(state, detail.reason)); },
      onPhone(p) {
        phone = p;
        p.on("dtmf", onDtmf);
        p.on("call", onCall);
      },
    };
    client.register(user);
    node.on("close", (done: () => void) => {
      client.deregister(user);
      phone?.off("dtmf", onDtmf);
      phone?.off("call", onCall);
      for (const pc of perCall.values()) closePerCall(pc);
      perCall.clear();
      done();
    });
  }
  RED.nodes.registerType("sip-dtmf", SipDtmf as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1]);
};

/** "1234#" with terminator "#" is the code "1234". */
function normalizeCode(code: string, terminator: string): string {
  const c = code.replace(/\s/g, "").toUpperCase();
  return terminator && c.endsWith(terminator) ? c.slice(0, -terminator.length) : c;
}
