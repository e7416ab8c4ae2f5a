// sip-dtmf: every key as a message, keys assembled into codes, and an action table
// (digit or code → spoken message + its own output). Codes resist guessing: a limit of
// wrong codes per call, a persisted lock-out per caller number, a wrong-code reply that
// keys cannot cut, digits kept out of the status (and optionally out of messages), and
// one-time codes set by the flow. The menu itself is src/dtmf/keypad-menu.ts; this node
// turns its events into messages and status, and its input into one-time codes and unlocks.
import path from "node:path";
import type { NodeAPI, NodeDef, Node, NodeMessage } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import type { Softphone } from "../../src/softphone";
import type { CallInfo, CallState, DtmfDigit, DtmfMethod } from "../../src/types";
import { CodeGuard, DEFAULT_MAX_WRONG_CODES, DEFAULT_LOCKOUT_BASE_MS, DEFAULT_ONE_TIME_VALID_MS } from "../../src/dtmf/code-guard";
import { JsonFileLockoutStore } from "../../src/dtmf/lockout-store";
import {
  KeypadMenu,
  KEY_MASK,
  type KeypadAction,
  type KeypadCall,
  type KeypadKeyEvent,
  type KeypadCodeEvent,
  type KeypadActionEvent,
  type KeypadTooManyEvent,
  type KeypadLockedEvent,
} from "../../src/dtmf/keypad-menu";
import { normalizeNumber } from "../../src/call/caller-match";
import { registrationStatus } from "../shared/status";
import { num } from "../sip-client/config";

interface SipDtmfConfig extends NodeDef {
  client: string;
  terminator?: string;
  interDigitTimeout?: string | number;
  maxLength?: string | number;
  actions?: KeypadAction[];
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

interface CodeMsg extends NodeMessage {
  action?: unknown;
  validFor?: unknown;
}

// The node's output messages (output 0 unless said otherwise).

/** topic "dtmf": one key. */
function digitMsg(e: KeypadKeyEvent): Record<string, unknown> {
  return e.masked
    ? { topic: "dtmf", payload: e.key, method: e.method, masked: true, call: e.call }
    : { topic: "dtmf", payload: e.key, method: e.method, call: e.call };
}

/** topic "dtmf-code": a complete code, `invalid` when no action takes it. */
function codeMsg(e: KeypadCodeEvent): Record<string, unknown> {
  const msg: Record<string, unknown> = { topic: "dtmf-code", payload: e.code, terminatedBy: e.terminatedBy, call: e.call };
  if (e.masked) msg.masked = true;
  if (!e.accepted) msg.invalid = true;
  return msg;
}

/** The action's own topic, on the action's output (index + 1). */
function actionMsg(e: KeypadActionEvent): Record<string, unknown> {
  const action: Record<string, unknown> = { index: e.index + 1 };
  if (!e.masked) action.code = e.actionCode;
  if (e.oneTime) action.oneTime = true;
  const msg: Record<string, unknown> = { topic: e.topic, payload: e.code, action, call: e.call };
  if (e.masked) msg.masked = true;
  return msg;
}

/** topic "dtmf-too-many": the limit of wrong codes is reached, the call ends. */
function tooManyMsg(e: KeypadTooManyEvent): Record<string, unknown> {
  const msg: Record<string, unknown> = { topic: "dtmf-too-many", payload: e.count, limit: e.limit, call: e.call };
  if (e.lockedUntil) msg.lockedUntil = new Date(e.lockedUntil).toISOString();
  return msg;
}

/** topic "dtmf-locked": the caller is locked out, the call ends. */
function lockedMsg(e: KeypadLockedEvent): Record<string, unknown> {
  const lockedUntil = new Date(e.lockedUntil).toISOString();
  return { topic: "dtmf-locked", payload: lockedUntil, lockedUntil, call: e.call };
}

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
    const userDir = RED.settings.userDir ? String(RED.settings.userDir) : "";
    const guard = new CodeGuard({
      maxWrongCodes: num(config.maxAttempts, DEFAULT_MAX_WRONG_CODES),
      lockoutBaseMs: Math.max(0, num(config.lockoutSeconds, DEFAULT_LOCKOUT_BASE_MS / 1000)) * 1000,
      // One file per node: its PINs are its own. Without a user directory: memory only.
      store: userDir
        ? new JsonFileLockoutStore(path.join(userDir, "sip-dtmf-lockouts", `${node.id.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`), (w) => node.warn(w))
        : undefined,
    });
    let phone: Softphone | undefined;
    /** A call of the account as the menu sees it. */
    const keypadCall = (callId: string): KeypadCall | undefined => {
      const call = phone?.calls.get(callId);
      const p = phone;
      if (!call || !p) return undefined;
      return {
        get active() {
          return call.active;
        },
        get playing() {
          return call.playback.playing;
        },
        snapshot: () => call.snapshot(),
        stopPlayback: () => call.playback.stop(),
        say: (text, language, onFinished) =>
          p.calls.say(call, text, { language, interrupt: true }).then((item) => {
            if (!onFinished) return;
            const listener = (done: { id: number }) => {
              if (done.id !== item.id) return;
              call.playback.off("finished", listener);
              onFinished();
            };
            call.playback.on("finished", listener);
          }),
        hangup: (reason) => {
          call.hangup({ reason }).catch(() => undefined);
        },
      };
    };
    const menu = new KeypadMenu(
      { get: keypadCall },
      {
        actions: Array.isArray(config.actions) ? config.actions : [],
        terminator: config.terminator,
        interDigitTimeoutMs: num(config.interDigitTimeout, 3) * 1000,
        maxLength: num(config.maxLength, 10),
        invalidMessage: config.invalidMessage,
        bargeIn: config.bargeIn,
        menuMessage: config.menuMessage,
        menuRepeatMs: num(config.menuRepeat, 0) * 1000,
        tooManyMessage: config.tooManyMessage,
        lockedMessage: config.lockedMessage,
        hideCodes: config.hideCodes,
        guard,
        normalizeNumber,
      },
    );
    const outputs = 1 + menu.actions.length;
    const out = (index: number, msg: Record<string, unknown>) => {
      const arr: Array<NodeMessage | null> = new Array(outputs).fill(null);
      arr[index] = msg as NodeMessage;
      node.send(arr);
    };
    menu.on("key", (e) => {
      out(0, digitMsg(e));
      // Keys never show in the status, only how many.
      node.status({ fill: "blue", shape: "dot", text: `${KEY_MASK.repeat(e.pendingKeys)} (${e.method})` });
    });
    menu.on("code", (e) => {
      if (e.accepted) node.status({ fill: "green", shape: "dot", text: "code accepted" });
      out(0, codeMsg(e));
    });
    menu.on("action", (e) => out(e.index + 1, actionMsg(e)));
    menu.on("wrong", (e) => node.status({ fill: "yellow", shape: "ring", text: `wrong code (${e.count}/${e.limit})` }));
    menu.on("too-many", (e) => {
      node.status({ fill: "red", shape: "ring", text: "too many wrong codes" });
      out(0, tooManyMsg(e));
    });
    menu.on("locked", (e) => {
      node.status({ fill: "red", shape: "ring", text: "caller locked out" });
      out(0, lockedMsg(e));
    });
    menu.on("warning", (text) => node.warn(text));

    const onDtmf = (digit: DtmfDigit, method: DtmfMethod, call: CallInfo) => menu.key(digit, method, call);
    const onCall = (state: CallState, call: CallInfo) => menu.callState(state, call);

    node.on("input", (msg: CodeMsg, _send, done) => {
      try {
        const topic = String(msg.topic ?? "").toLowerCase();
        if (topic === "code") {
          const code = typeof msg.payload === "string" || typeof msg.payload === "number" ? String(msg.payload) : "";
          const index = menu.actionIndex(msg.action);
          const validFor = msg.validFor === undefined ? DEFAULT_ONE_TIME_VALID_MS / 1000 : Number(msg.validFor);
          if (!Number.isFinite(validFor)) throw new Error("code: msg.validFor must be a number of seconds");
          menu.setOneTimeCode(code, index, validFor * 1000);
        } else if (topic === "clear-codes") {
          menu.clearOneTimeCodes();
        } else if (topic === "unlock") {
          menu.unlock(msg.payload);
        } else {
          throw new Error(`unknown topic "${topic.slice(0, 40)}": use code, clear-codes or unlock`);
        }
        done();
      } catch (e) {
        done(e as Error);
      }
    });

    const user: ClientUser = {
      id: node.id,
      onRegistration(state, detail) {
        node.status(registrationStatus(state, detail.reason));
      },
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
      menu.close();
      done();
    });
  }
  RED.nodes.registerType("sip-dtmf", SipDtmf as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1]);
};
