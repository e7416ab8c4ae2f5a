// sip-dtmf: every key as a message, keys assembled into codes, and an action table
// (digit or code → spoken message + its own output).
import type { NodeAPI, NodeDef, Node, NodeMessage } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import type { Softphone } from "../../src/softphone";
import type { CallInfo, CallState, DtmfDigit, DtmfMethod } from "../../src/types";
import { DigitCollector } from "../../src/dtmf/collector";
import { registrationStatus } from "../shared/status";
import { num } from "../sip-client/config";

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
}

interface PerCall { collector: DigitCollector; menuTimer?: NodeJS.Timeout }

export = function (RED: NodeAPI): void {
  function SipDtmf(this: Node, config: SipDtmfConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const client = RED.nodes.getNode(config.client) as SipClientNode | null;
    if (!client) { node.status({ fill: "red", shape: "ring", text: "no SIP account" }); return; }
    const terminator = (config.terminator ?? "#").trim();
    const actions = (Array.isArray(config.actions) ? config.actions : [])
      .map((a) => {
        const raw = String(a.code ?? "").replace(/\s/g, "").toUpperCase();
        // "1234#" waits for the terminator; "1" acts as soon as it is pressed.
        return { ...a, key: normalizeCode(raw, terminator), needsTerminator: !!terminator && raw.endsWith(terminator) };
      });
    const outputs = 1 + actions.length;
    const bargeIn = config.bargeIn !== false;
    const menuRepeatMs = num(config.menuRepeat, 0) * 1000;
    const perCall = new Map<string, PerCall>();
    let phone: Softphone | undefined;

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
    const fire = (index: number, code: string, call: CallInfo) => {
      const a = actions[index];
      speak(call.id, a.message, a.language);
      out(index + 1, { topic: a.topic || "action", payload: code, action: { index: index + 1, code: a.code }, call });
    };
    const armMenu = (callId: string) => {
      const pc = perCall.get(callId);
      if (!pc || menuRepeatMs <= 0 || !config.menuMessage) return;
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
        maxLength: num(config.maxLength, 10),
      });
      collector.on("code", (c) => {
        const latest = phone?.calls.get(call.id)?.snapshot() ?? call;
        const index = actions.findIndex((a) => a.key === c.code);
        const msg: Record<string, unknown> = { topic: "dtmf-code", payload: c.code, terminatedBy: c.terminatedBy, call: latest };
        if (index < 0) {
          msg.invalid = true;
          out(0, msg);
          speak(call.id, config.invalidMessage);
          return;
        }
        out(0, msg);
        fire(index, c.code, latest);
      });
      pc = { collector };
      perCall.set(call.id, pc);
      return pc;
    };

    const onDtmf = (digit: DtmfDigit, method: DtmfMethod, call: CallInfo) => {
      const live = phone?.calls.get(call.id);
      if (live?.playback.playing) {
        if (!bargeIn) return; // keys are ignored until the message ends
        live.playback.stop();
      }
      node.status({ fill: "blue", shape: "dot", text: `${digit} (${method})` });
      out(0, { topic: "dtmf", payload: digit, method, call });
      const pc = collectorFor(call);
      pc.collector.add(digit, method);
      armMenu(call.id);
      // A complete action code that no longer code extends acts at once (menus of single keys).
      const pending = pc.collector.pending;
      if (!pending) return;
      const exact = actions.findIndex((a) => a.key === pending && !a.needsTerminator);
      const longer = actions.some((a) => a.key.length > pending.length && a.key.startsWith(pending));
      if (exact >= 0 && !longer) {
        pc.collector.clear();
        out(0, { topic: "dtmf-code", payload: pending, terminatedBy: "match", call });
        fire(exact, pending, call);
      }
    };
    const onCall = (state: CallState, call: CallInfo) => {
      if (state === "ANSWERED") { collectorFor(call); armMenu(call.id); }
      if (state === "ENDED") {
        const pc = perCall.get(call.id);
        if (pc) { pc.collector.close(); if (pc.menuTimer) clearTimeout(pc.menuTimer); }
        perCall.delete(call.id);
      }
    };
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
      for (const pc of perCall.values()) { pc.collector.close(); if (pc.menuTimer) clearTimeout(pc.menuTimer); }
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
