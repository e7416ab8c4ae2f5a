// sip-call: registration, call, playback, media (audio path) and text-message events out; dial/say/play/hangup/answer/reject/dtmf/hold/resume/message in.
import type { NodeAPI, NodeDef, Node } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import type {
  AfterGreeting,
  AudioPathEvent,
  CallInfo,
  CallLimits,
  CallQualityInfo,
  CallState,
  Greeting,
  InboundPolicy,
  Softphone,
  TextMessageInfo,
} from "../../src";
import { DEFAULT_MAX_CALLS, DEFAULT_RING_TIMEOUT_SECONDS, parsePatternList } from "../../src";
import { registrationStatus, truncate } from "../shared/status";
import { targetCallId } from "../shared/target-call";
import {
  callMsg,
  mediaMsg,
  mediaQualityMsg,
  MessageStatusMsg,
  messageStatusMsg,
  parseSipCallInput,
  PlayInput,
  playbackMsg,
  registrationMsg,
  SayInput,
  SipCallInput,
  textMsg,
} from "../shared/messages";
import { num } from "../shared/values";

/** The editor's default time limit of a call (s). */
const DEFAULT_MAX_DURATION_SECONDS = 3600;

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
    // This node's limits: for the incoming calls it handles and the calls it dials (see CallLimits).
    const limits: CallLimits = {
      maxCalls: num(config.maxCalls, DEFAULT_MAX_CALLS),
      maxDurationSeconds: num(config.maxDuration, DEFAULT_MAX_DURATION_SECONDS),
      ringTimeoutSeconds: num(config.ringTimeout, DEFAULT_RING_TIMEOUT_SECONDS),
    };
    const policy: InboundPolicy = {
      autoAnswer: config.autoAnswer !== false,
      answerDelaySeconds: num(config.answerDelay, 0),
      filterMode: config.filterMode || "off",
      filterList: parsePatternList(config.filterList),
      greetings: Array.isArray(config.greetings) ? config.greetings : [],
      afterGreeting: config.afterGreeting || "stay",
    };
    let phone: Softphone | undefined;
    let regStatus = registrationStatus("INACTIVE");
    const showStatus = () => {
      const active = phone?.activeCalls() ?? [];
      if (active.length === 0) {
        node.status(regStatus);
        return;
      }
      const c = active[active.length - 1];
      const who = c.direction === "inbound" ? c.from.name || c.from.number : c.to.number;
      const more = active.length > 1 ? ` (+${active.length - 1})` : "";
      const held = c.hold ? " (hold)" : "";
      node.status({ fill: c.state === "ANSWERED" ? "green" : "yellow", shape: "dot", text: truncate(`${c.state}${held} ${who}${more}`) });
    };
    const onCall = (state: CallState, call: CallInfo) => {
      node.send(callMsg(state, call));
      showStatus();
    };
    // A hold change is reported as a call message in the state the call is in (ANSWERED), with call.hold.
    const onHold = (call: CallInfo) => onCall(call.state, call);
    const onPlayback = (what: "started" | "finished", call: CallInfo, label: string, interrupted: boolean) => {
      node.send(playbackMsg(what, call, label, interrupted));
    };
    const onText = (m: TextMessageInfo) => {
      node.send(textMsg(m));
    };
    const onMedia = (event: AudioPathEvent, call: CallInfo) => {
      node.send(mediaMsg(event, call));
    };
    const onQuality = (quality: CallQualityInfo, call: CallInfo) => {
      node.send(mediaQualityMsg(quality, call));
    };
    const user: ClientUser = {
      id: node.id,
      onRegistration(state, detail) {
        regStatus = registrationStatus(state, detail.reason);
        showStatus();
        node.send(registrationMsg(state, detail));
      },
      onPhone(p) {
        phone = p;
        if (!p.claimInbound(node.id, policy, limits))
          node.warn("another sip-call node already handles incoming calls of this account; this one only reports and sends commands");
        p.on("call", onCall);
        p.on("playback", onPlayback);
        p.on("hold", onHold);
        p.on("message", onText);
        p.on("media", onMedia);
        p.on("quality", onQuality);
      },
    };
    client.register(user);

    // say and play are queued in the order they arrive: a text still being synthesised, or a file
    // still being read, must not let a later message play first. Other commands do not wait.
    let audioChain: Promise<unknown> = Promise.resolve();
    const inOrder = (queue: () => Promise<unknown>): Promise<unknown> => {
      const next = audioChain.then(queue);
      audioChain = next.catch(() => undefined);
      return next;
    };
    const playback = (p: Softphone, cmd: SayInput | PlayInput) =>
      cmd.topic === "say"
        ? p.say(targetCallId(p, cmd.callId), cmd.payload, { language: cmd.language, engine: cmd.engine, voice: cmd.voice, interrupt: cmd.interrupt })
        : p.play(targetCallId(p, cmd.callId), cmd.payload, { interrupt: cmd.interrupt, format: cmd.format });

    // Parsed inside the promise: every outcome, a bad message too, reaches done() in the order received.
    const run = async (p: Softphone, msg: unknown, send: (m: MessageStatusMsg) => void): Promise<void> => {
      const cmd: SipCallInput = parseSipCallInput(msg);
      switch (cmd.topic) {
        case "dial":
          p.dial(cmd.payload, { message: cmd.message, language: cmd.language, ringTimeoutSeconds: cmd.ringTimeout, limits });
          return;
        case "say":
        case "play":
          await inOrder(() => playback(p, cmd));
          return;
        case "hangup":
          await p.hangup(targetCallId(p, cmd.callId));
          return;
        case "answer":
          await p.answer(targetCallId(p, cmd.callId));
          return;
        case "reject":
          await p.reject(targetCallId(p, cmd.callId), cmd.statusCode);
          return;
        case "dtmf":
          await p.sendDtmf(targetCallId(p, cmd.callId), cmd.payload);
          return;
        case "hold":
          await p.hold(targetCallId(p, cmd.callId));
          return;
        case "resume":
          await p.resume(targetCallId(p, cmd.callId));
          return;
        case "message": {
          // Always one "message-status" out; a refused or lost message also fails the input (done(err)).
          const outcome = await p.sendMessage(cmd.to, cmd.payload);
          send(messageStatusMsg(outcome));
          if (!outcome.delivered) throw new Error(`message to ${outcome.to} not delivered: ${outcome.statusCode} ${outcome.reason}`);
          return;
        }
      }
    };
    node.on("input", (msg, send, done) => {
      const p = phone;
      if (!p) {
        done(new Error(`the SIP account is not started (${client.registrationState})`));
        return;
      }
      run(p, msg, (m) => send(m)).then(
        () => done(),
        (err: Error) => done(err),
      );
    });
    node.on("close", (done: () => void) => {
      client.deregister(user);
      if (phone) {
        phone.off("call", onCall);
        phone.off("playback", onPlayback);
        phone.off("hold", onHold);
        phone.off("message", onText);
        phone.off("media", onMedia);
        phone.off("quality", onQuality);
        phone.releaseInbound(node.id);
      }
      done();
    });
  }
  RED.nodes.registerType("sip-call", SipCall as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1]);
};
