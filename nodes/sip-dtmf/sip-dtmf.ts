// sip-dtmf: every key as a message, keys assembled into codes, and an action table
// (digit or code → spoken message + its own output). Codes resist guessing: a limit of
// wrong codes per call, a persisted lock-out per caller number, a wrong-code reply that
// keys cannot cut, digits kept out of the status (and optionally out of messages), and
// one-time codes set by the flow. The menu itself is src/dtmf/keypad-menu.ts; this node
// turns its events into messages and status, and its input into one-time codes and unlocks.
import path from "node:path";
import type { NodeAPI, NodeDef, Node, NodeMessage } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import {
  CodeGuard,
  DEFAULT_MAX_WRONG_CODES,
  DEFAULT_LOCKOUT_BASE_MS,
  JsonFileLockoutStore,
  KeypadMenu,
  KEY_MASK,
  normalizeNumber,
  type Softphone,
  type CallInfo,
  type CallState,
  type DtmfDigit,
  type DtmfMethod,
  type KeypadAction,
  type KeypadCall,
} from "../../src";
import { registrationStatus } from "../shared/status";
import { num } from "../shared/values";
import {
  actionMsg,
  dtmfCodeMsg,
  dtmfLockedMsg,
  dtmfMsg,
  dtmfTooManyMsg,
  parseSipDtmfInput,
  type ActionMsg,
  type SipDtmfOutput,
} from "../shared/messages";

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
    /** A call of the account as the menu sees it, reached by id through the facade. */
    const keypadCall = (callId: string): KeypadCall | undefined => {
      const p = phone;
      const seen = p?.call(callId);
      if (!p || !seen) return undefined;
      let last: CallInfo = seen;
      return {
        get active() {
          return p.call(callId) !== undefined;
        },
        get playing() {
          return p.isPlaying(callId);
        },
        // Once the call has ended, the last snapshot taken.
        snapshot: () => (last = p.call(callId) ?? last),
        stopPlayback: () => p.stopPlayback(callId),
        say: (text, language, onFinished) =>
          p.say(callId, text, { language, interrupt: true }).then((handle) => {
            if (onFinished) void handle.finished.then(() => onFinished());
          }),
        hangup: (reason) => {
          p.hangup(callId, { reason }).catch(() => undefined);
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
    const out = (index: number, msg: SipDtmfOutput | ActionMsg) => {
      const arr = new Array<NodeMessage | null>(outputs).fill(null);
      arr[index] = msg;
      node.send(arr);
    };
    menu.on("key", (e) => {
      out(0, dtmfMsg(e.key, e.method, e.call, e.masked));
      // Keys never show in the status, only how many.
      node.status({ fill: "blue", shape: "dot", text: `${KEY_MASK.repeat(e.pendingKeys)} (${e.method})` });
    });
    menu.on("code", (e) => {
      if (e.accepted) node.status({ fill: "green", shape: "dot", text: "code accepted" });
      out(0, dtmfCodeMsg(e.code, e.terminatedBy, e.call, { masked: e.masked, invalid: !e.accepted }));
    });
    menu.on("action", (e) =>
      out(e.index + 1, actionMsg(e.topic, e.code, { index: e.index + 1, code: e.actionCode, oneTime: e.oneTime }, e.call, e.masked)),
    );
    menu.on("wrong", (e) => node.status({ fill: "yellow", shape: "ring", text: `wrong code (${e.count}/${e.limit})` }));
    menu.on("too-many", (e) => {
      node.status({ fill: "red", shape: "ring", text: "too many wrong codes" });
      out(0, dtmfTooManyMsg(e.count, e.limit, e.call, e.lockedUntil));
    });
    menu.on("locked", (e) => {
      node.status({ fill: "red", shape: "ring", text: "caller locked out" });
      out(0, dtmfLockedMsg(e.lockedUntil, e.call));
    });
    menu.on("warning", (text) => node.warn(text));

    const onDtmf = (digit: DtmfDigit, method: DtmfMethod, call: CallInfo) => menu.key(digit, method, call);
    const onCall = (state: CallState, call: CallInfo) => menu.callState(state, call);

    node.on("input", (msg, _send, done) => {
      try {
        const input = parseSipDtmfInput(msg, (a) => menu.actionIndex(a));
        if (input.topic === "code") menu.setOneTimeCode(input.payload, input.action, input.validFor * 1000);
        else if (input.topic === "clear-codes") menu.clearOneTimeCodes();
        // The parser has normalised the number (undefined = every number), as the menu's unlock() would.
        else menu.guard.unlock(input.payload);
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
