// sip-call: registration and call events out; dial/say/play/hangup/answer/reject/dtmf in.
import type { NodeAPI, NodeDef, Node, NodeMessage } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import type { Softphone } from "../../src/softphone";
import type { CallInfo, CallState } from "../../src/types";
import { registrationStatus, truncate } from "../shared/status";
import { targetCall } from "../shared/target-call";
import { parsePatternList, Greeting } from "../../src/call/caller-match";
import type { AfterGreeting } from "../../src/call/call-manager";
import { num } from "../sip-client/config";

interface SipCallConfig extends NodeDef {
  client: string;
  autoAnswer?: boolean;
  answerDelay?: string | number;
  filterMode?: "off" | "allow" | "block";
  filterList?: string;
  greetings?: Greeting[];
  afterGreeting?: AfterGreeting;
  maxCalls?: string | number;
  maxDuration?: string | number;
  ringTimeout?: string | number;
}

type CommandMsg = NodeMessage & {
  message?: unknown; language?: unknown; interrupt?: unknown; ringTimeout?: unknown;
  engine?: unknown; voice?: unknown; format?: unknown;
  call?: { id?: unknown }; callId?: unknown; statusCode?: unknown;
};

export = function (RED: NodeAPI): void {
  function SipCall(this: Node, config: SipCallConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const client = RED.nodes.getNode(config.client) as SipClientNode | null;
    if (!client) {
      node.status({ fill: "red", shape: "ring", text: "no SIP account" });
      node.on("input", (_msg, _send, done) => done(new Error("no sip-client account is configured for this node")));
      return;
    }
    let phone: Softphone | undefined;
    let regStatus = registrationStatus("INACTIVE");
    const showStatus = () => {
      const active = phone?.calls.list() ?? [];
      if (active.length === 0) { node.status(regStatus); return; }
      const c = active[active.length - 1].info;
      const who = c.direction === "inbound" ? c.from.name || c.from.number : c.to.number;
      const more = active.length > 1 ? ` (+${active.length - 1})` : "";
      node.status({ fill: c.state === "ANSWERED" ? "green" : "yellow", shape: "dot", text: truncate(`${c.state} ${who}${more}`) });
    };
    const onCall = (state: CallState, call: CallInfo) => {
      node.send({ topic: "call", payload: state, call } as NodeMessage);
      showStatus();
    };
    const onPlayback = (what: "started" | "finished", call: CallInfo, label: string, interrupted: boolean) => {
      node.send({ topic: "playback", payload: what, call, label, interrupted } as NodeMessage);
    };
    const user: ClientUser = {
      id: node.id,
      onRegistration(state, detail) {
        regStatus = registrationStatus(state, detail.reason);
        showStatus();
        const msg: Record<string, unknown> = { topic: "registration", payload: state };
        if (state === "FAILED") msg.reason = detail.reason;
        if (detail.statusCode) msg.statusCode = detail.statusCode;
        node.send(msg as NodeMessage);
      },
      onPhone(p) {
        phone = p;
        p.calls.configure({
          maxCalls: num(config.maxCalls, 4),
          maxDurationSeconds: num(config.maxDuration, 3600),
          ringTimeoutSeconds: num(config.ringTimeout, 30),
        });
        const claimed = p.calls.claimInboundPolicy(node.id, {
          autoAnswer: config.autoAnswer !== false,
          answerDelaySeconds: num(config.answerDelay, 0),
          filterMode: config.filterMode || "off",
          filterList: parsePatternList(config.filterList),
          greetings: Array.isArray(config.greetings) ? config.greetings : [],
          afterGreeting: config.afterGreeting || "stay",
        });
        if (!claimed) node.warn("another sip-call node already handles incoming calls of this account; this one only reports and sends commands");
        p.on("call", onCall);
        p.on("playback", onPlayback);
      },
    };
    client.register(user);

    node.on("input", (msg: CommandMsg, send, done) => {
      const p = phone;
      if (!p) { done(new Error(`the SIP account is not started (${client.registrationState})`)); return; }
      const topic = String(msg.topic ?? "").toLowerCase();
      const run = async (): Promise<void> => {
        switch (topic) {
          case "dial": {
            if (typeof msg.payload !== "string" && typeof msg.payload !== "number") throw new Error("dial: msg.payload must be a number or a SIP URI");
            p.calls.dial(String(msg.payload), {
              message: typeof msg.message === "string" ? msg.message : undefined,
              language: typeof msg.language === "string" ? msg.language : undefined,
              ringTimeoutSeconds: msg.ringTimeout !== undefined ? num(msg.ringTimeout, 30) : undefined,
            });
            return;
          }
          case "say": {
            if (typeof msg.payload !== "string" || !msg.payload.trim()) throw new Error("say: msg.payload must be the text to speak");
            const call = targetCall(p.calls, msg);
            await p.calls.say(call, msg.payload, {
              language: typeof msg.language === "string" ? msg.language : undefined,
              engine: typeof msg.engine === "string" ? msg.engine : undefined,
              voice: typeof msg.voice === "string" ? msg.voice : undefined,
              interrupt: msg.interrupt === true,
            });
            return;
          }
          case "play": {
            if (!Buffer.isBuffer(msg.payload) && (typeof msg.payload !== "string" || !msg.payload.trim())) throw new Error("play: msg.payload must be a WAV Buffer or a file path");
            const format = String(msg.format ?? "wav").toLowerCase();
            if (!["wav", "pcmu", "pcma"].includes(format)) throw new Error(`play: msg.format must be wav, pcmu or pcma, not "${format}"`);
            const call = targetCall(p.calls, msg);
            await p.calls.play(call, msg.payload as Buffer | string, { interrupt: msg.interrupt === true, format: format as "wav" | "pcmu" | "pcma" });
            return;
          }
          case "hangup": await targetCall(p.calls, msg).hangup(); return;
          case "answer": await p.calls.answer(targetCall(p.calls, msg)); return;
          case "reject": await p.calls.reject(targetCall(p.calls, msg), msg.statusCode ? num(msg.statusCode, 486) : 486); return;
          case "dtmf": {
            if (typeof msg.payload !== "string" && typeof msg.payload !== "number") throw new Error("dtmf: msg.payload must be the digits to send");
            const call = targetCall(p.calls, msg);
            await p.sendDtmf(call, String(msg.payload));
            return;
          }
          default:
            throw new Error(`unknown topic "${String(msg.topic ?? "")}": use dial, say, play, hangup, answer, reject or dtmf`);
        }
      };
      run().then(() => done(), (err: Error) => done(err));
    });
    node.on("close", (done: () => void) => {
      client.deregister(user);
      if (phone) {
        phone.off("call", onCall);
        phone.off("playback", onPlayback);
        phone.calls.releaseInboundPolicy(node.id);
      }
      done();
    });
  }
  RED.nodes.registerType("sip-call", SipCall as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1]);
};
