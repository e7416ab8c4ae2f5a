// sip-call: registration, call, playback, media (audio path), text-message and recording events out;
// dial/say/play/hangup/answer/reject/dtmf/hold/resume/message/record in.
import type { NodeAPI, NodeDef, Node } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import type {
  AfterGreeting,
  AudioPathEvent,
  CallInfo,
  CallLimits,
  CallState,
  Greeting,
  InboundPolicy,
  RecordingHandle,
  RecordOptions,
  Softphone,
  TextMessageInfo,
} from "../../src";
import { DEFAULT_MAX_CALLS, DEFAULT_RING_TIMEOUT_SECONDS, parsePatternList } from "../../src";
import { registrationStatus, truncate } from "../shared/status";
import { targetCallId } from "../shared/target-call";
import {
  callMsg,
  mediaMsg,
  MessageStatusMsg,
  messageStatusMsg,
  parseSipCallInput,
  PlayInput,
  playbackMsg,
  RecordInput,
  recordingMsg,
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
  /** Record every answered call this node handles (incoming) or dialed. */
  record?: boolean;
  recordMaxSeconds?: string | number;
  recordSilenceSeconds?: string | number;
  recordStopKeys?: string;
}

/** The editor's default length of a recording (s). */
const DEFAULT_RECORD_MAX_SECONDS = 120;

/** Recording options in the core's units (ms) from seconds given by the editor or msg.record. */
function recordOptions(o: { maxSeconds?: number; silenceSeconds?: number; stopKeys?: string; path?: string }): RecordOptions {
  const opts: RecordOptions = {};
  if (o.maxSeconds) opts.maxMs = o.maxSeconds * 1000;
  if (o.silenceSeconds) opts.silenceMs = o.silenceSeconds * 1000;
  if (o.stopKeys) opts.stopKeys = o.stopKeys;
  if (o.path) opts.path = o.path;
  return opts;
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
    let handlesInbound = false;
    /** Calls this node dialed (for "record every answered call"); removed at ENDED. */
    const dialed = new Set<string>();
    /** Recordings this node started and that run: stopped when the node closes. */
    const recordings = new Set<RecordingHandle>();
    let closed = false;
    const autoRecord: RecordOptions | undefined = config.record
      ? recordOptions({
          maxSeconds: num(config.recordMaxSeconds, DEFAULT_RECORD_MAX_SECONDS),
          silenceSeconds: num(config.recordSilenceSeconds, 0),
          stopKeys: String(config.recordStopKeys ?? "").replace(/[^0-9*#A-Da-d]/g, ""),
        })
      : undefined;
    /** Starts a recording; its one result message goes out when it ends. */
    const startRecording = (p: Softphone, id: string, options: RecordOptions) => {
      const handle = p.record(id, options);
      recordings.add(handle);
      void handle.finished.then((r) => {
        recordings.delete(handle);
        if (!closed) node.send(recordingMsg(r));
      });
    };
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
    // "Record every answered call": the incoming calls this node handles and the calls it dialed.
    const onCallRecord = (state: CallState, call: CallInfo) => {
      if (state === "ENDED") dialed.delete(call.id);
      if (state !== "ANSWERED" || !autoRecord || !phone) return;
      if (call.direction === "inbound" ? !handlesInbound : !dialed.has(call.id)) return;
      try {
        if (!phone.isRecording(call.id)) startRecording(phone, call.id, autoRecord);
      } catch (err) {
        node.warn(`could not record the call: ${(err as Error).message}`);
      }
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
    const user: ClientUser = {
      id: node.id,
      onRegistration(state, detail) {
        regStatus = registrationStatus(state, detail.reason);
        showStatus();
        node.send(registrationMsg(state, detail));
      },
      onPhone(p) {
        phone = p;
        handlesInbound = p.claimInbound(node.id, policy, limits);
        if (!handlesInbound)
          node.warn("another sip-call node already handles incoming calls of this account; this one only reports and sends commands");
        p.on("call", onCall);
        p.on("call", onCallRecord);
        p.on("playback", onPlayback);
        p.on("hold", onHold);
        p.on("message", onText);
        p.on("media", onMedia);
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
        case "dial": {
          const call = p.dial(cmd.payload, { message: cmd.message, language: cmd.language, ringTimeoutSeconds: cmd.ringTimeout, limits });
          if (autoRecord && call.state !== "ENDED") dialed.add(call.id);
          return;
        }
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
        case "record":
          record(p, cmd);
          return;
      }
    };
    // start: done at once, the "recording" message follows when it ends; stop: that message follows.
    const record = (p: Softphone, cmd: RecordInput) => {
      const id = targetCallId(p, cmd.callId);
      if (cmd.payload === "start") startRecording(p, id, recordOptions(cmd));
      else if (!p.stopRecording(id)) throw new Error("record: this call is not being recorded");
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
      closed = true;
      if (phone) {
        for (const handle of recordings) handle.stop();
        phone.off("call", onCall);
        phone.off("call", onCallRecord);
        phone.off("playback", onPlayback);
        phone.off("hold", onHold);
        phone.off("message", onText);
        phone.off("media", onMedia);
        phone.releaseInbound(node.id);
      }
      done();
    });
  }
  RED.nodes.registerType("sip-call", SipCall as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1]);
};
