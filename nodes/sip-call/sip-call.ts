// sip-call: registration, call, playback, media (audio path), text-message, recording, voicemail, transfer,
// diagnose, alert and mode events out; dial/say/play/hangup/answer/reject/dtmf/hold/resume/message/record/
// transfer/progress/diagnose/alert/mode in.
import type { NodeAPI, NodeDef, Node } from "node-red";
import type { SipClientNode, ClientUser } from "../shared/client-api";
import type {
  AfterGreeting,
  AudioPathEvent,
  CallInfo,
  CallLimits,
  CallQualityInfo,
  CallState,
  Escalation,
  Greeting,
  InboundPolicy,
  RecordingHandle,
  RecordOptions,
  Softphone,
  TextMessageInfo,
  TransferEvent,
} from "../../src";
import { conditionsError, DEFAULT_MAX_CALLS, DEFAULT_RING_TIMEOUT_SECONDS, isRingbackPlan, isValidTimeZone, parsePatternList } from "../../src";
import { callStatus, registrationStatus } from "../shared/status";
import { targetCallId } from "../shared/target-call";
import {
  alertMsg,
  callMsg,
  DiagnoseMsg,
  diagnoseMsg,
  modeMsg,
  mediaMsg,
  mediaQualityMsg,
  MessageStatusMsg,
  messageStatusMsg,
  ModeMsg,
  parseSipCallInput,
  PlayInput,
  playbackMsg,
  RecordInput,
  recordingMsg,
  registrationMsg,
  SayInput,
  SipCallInput,
  textMsg,
  transferMsg,
} from "../shared/messages";
import { num } from "../shared/values";
import { voicemailMode, type VoicemailConfig } from "./voicemail";

/** The editor's default time limit of a call (s). */
const DEFAULT_MAX_DURATION_SECONDS = 3600;

interface SipCallConfig extends NodeDef, VoicemailConfig {
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
  allowTransfer?: boolean;
  transferAllowList?: string;
  /** Answer incoming calls with 183 + SDP at once (announce before answering). */
  earlyMedia?: boolean;
  /** Ringback tone during the answer delay: off, eu, us, uk. */
  ringback?: string;
  /** Record every answered call this node handles (incoming) or dialed. */
  record?: boolean;
  recordMaxSeconds?: string | number;
  recordSilenceSeconds?: string | number;
  recordStopKeys?: string;
  /** Time zone of the greeting rows' time windows ("" = the system's). */
  timeZone?: string;
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
  // The mode of each sip-call node (topic "mode"), by node id: a redeploy recreates the node and,
  // without a configured context store, Node-RED deletes its context then. One entry per node,
  // removed with the node. The node context keeps it too, for a restart with a persistent store.
  const modes = new Map<string, string>();

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
    // Time rules: the greeting rows' windows in this time zone, their modes against the current
    // mode, which a flow sets (topic "mode") and the node context keeps across a redeploy.
    let timeZone = typeof config.timeZone === "string" ? config.timeZone.trim() : "";
    if (!isValidTimeZone(timeZone)) {
      node.warn(`unknown time zone "${timeZone.slice(0, 60)}": the system's time zone is used`);
      timeZone = "";
    }
    let mode = modes.get(node.id) ?? "";
    if (!modes.has(node.id))
      try {
        const kept: unknown = node.context().get("mode");
        if (typeof kept === "string") mode = kept;
      } catch {
        // A context store that cannot be read synchronously: start without a mode.
      }
    const greetings: Greeting[] = Array.isArray(config.greetings) ? config.greetings : [];
    greetings.forEach((g, i) => {
      const err = g ? conditionsError(g) : undefined;
      if (err) node.warn(`greeting ${i + 1} never applies: ${err}`);
    });
    const policy: InboundPolicy = {
      autoAnswer: config.autoAnswer !== false,
      answerDelaySeconds: num(config.answerDelay, 0),
      filterMode: config.filterMode || "off",
      filterList: parsePatternList(config.filterList),
      greetings,
      afterGreeting: config.afterGreeting || "stay",
      allowTransfer: config.allowTransfer === true,
      transferAllowList: parsePatternList(config.transferAllowList),
      earlyMedia: config.earlyMedia === true,
      ringback: isRingbackPlan(config.ringback) ? config.ringback : "off",
      ruleContext: () => ({ now: Date.now(), timeZone: timeZone || undefined, mode }),
    };
    // Voicemail mode plays its own greeting (then the beep): the greeting table is not used.
    const voicemail = voicemailMode(config, (m) => node.send(m), { warn: (t) => node.warn(t), error: (t) => node.error(t) });
    if (voicemail) policy.greetings = [];
    let phone: Softphone | undefined;
    let handlesInbound = false;
    /** Calls this node dialed (for "record every answered call"); removed at ENDED. */
    const dialed = new Set<string>();
    /** Recordings this node started and that run: stopped when the node closes. */
    const recordings = new Set<RecordingHandle>();
    let closed = false;
    const autoRecord: RecordOptions | undefined =
      config.record && !voicemail // voicemail records by itself
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
      showStatus();
      void handle.finished.then((r) => {
        recordings.delete(handle);
        if (!closed) showStatus();
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
      node.status(callStatus(active, (id) => phone?.isRecording(id) ?? false));
    };
    // Escalation (topic "alert"): one running alert per node; the core puts its id in msg.call.alertId of its calls.
    let alert: Escalation | undefined;
    const onCall = (state: CallState, call: CallInfo) => {
      node.send(callMsg(state, call));
      showStatus();
      if (voicemail && phone && handlesInbound) voicemail.onCall(phone, state, call);
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
    const onTransfer = (event: TransferEvent, call: CallInfo) => {
      node.send(transferMsg(event, call));
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
        handlesInbound = p.claimInbound(node.id, policy, limits);
        if (!handlesInbound)
          node.warn("another sip-call node already handles incoming calls of this account; this one only reports and sends commands");
        p.on("call", onCall);
        p.on("call", onCallRecord);
        p.on("playback", onPlayback);
        p.on("hold", onHold);
        p.on("message", onText);
        p.on("media", onMedia);
        p.on("transfer", onTransfer);
        p.on("quality", onQuality);
      },
    };
    client.register(user);

    // say and play keep their order per call in the core (CallManager.say/play).
    const playback = (p: Softphone, cmd: SayInput | PlayInput) =>
      cmd.topic === "say"
        ? p.say(targetCallId(p, cmd.callId), cmd.payload, { language: cmd.language, engine: cmd.engine, voice: cmd.voice, interrupt: cmd.interrupt })
        : p.play(targetCallId(p, cmd.callId), cmd.payload, { interrupt: cmd.interrupt, format: cmd.format });

    // Parsed inside the promise: every outcome, a bad message too, reaches done() in the order received.
    const run = async (p: Softphone, msg: unknown, send: (m: MessageStatusMsg | DiagnoseMsg | ModeMsg) => void): Promise<void> => {
      const cmd: SipCallInput = parseSipCallInput(msg);
      switch (cmd.topic) {
        case "dial": {
          const call = p.dial(cmd.payload, { message: cmd.message, language: cmd.language, ringTimeoutSeconds: cmd.ringTimeout, limits });
          if (autoRecord && call.state !== "ENDED") dialed.add(call.id);
          return;
        }
        case "say":
        case "play":
          await playback(p, cmd);
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
        case "progress":
          await p.progress(targetCallId(p, cmd.callId), { ringback: cmd.ringback });
          showStatus();
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
        case "diagnose":
          // Through the config node, which keeps the last report for the editor.
          send(diagnoseMsg(await client.diagnose(cmd.language, cmd.testCall)));
          return;
        case "transfer": {
          // Its steps come out as "transfer" messages; a failed transfer also fails the input (done(err)).
          const end = await (await p.transfer(targetCallId(p, cmd.callId), cmd.to)).outcome;
          if (end.state === "failed")
            throw new Error(`transfer to ${end.target} failed${end.status ? `: ${end.status}` : ""}${end.reason ? ` ${end.reason}` : ""}`);
          return;
        }
        case "record":
          record(p, cmd);
          return;
        case "mode":
          setMode(cmd.payload, send);
          return;
        case "alert": {
          if (cmd.cancel) {
            alert?.cancel();
            return;
          }
          if (alert?.running) throw new Error(`alert: alert ${alert.id} is still running; send payload "cancel" first`);
          const run: Escalation = p.alert(cmd.options, (result) => node.send(alertMsg(run.id, result)), limits);
          alert = run;
          run.start();
          return;
        }
      }
    };
    // start: done at once, the "recording" message follows when it ends; stop: that message follows.
    const record = (p: Softphone, cmd: RecordInput) => {
      const id = targetCallId(p, cmd.callId);
      if (cmd.payload === "start") startRecording(p, id, recordOptions(cmd));
      else if (!p.stopRecording(id)) throw new Error("record: this call is not being recorded");
    };
    /** topic "mode": needs no SIP account, so it also works before the account has started. */
    const setMode = (value: string | undefined, send: (m: ModeMsg) => void) => {
      if (value !== undefined) {
        mode = value;
        modes.set(node.id, mode);
        node.context().set("mode", mode);
      }
      send(modeMsg(mode));
    };
    node.on("input", (msg, send, done) => {
      const p = phone;
      const topic = (msg as { topic?: unknown }).topic;
      if (!p && typeof topic === "string" && topic.trim().toLowerCase() === "mode") {
        try {
          const cmd = parseSipCallInput(msg);
          if (cmd.topic === "mode") setMode(cmd.payload, (m) => send(m));
          done();
        } catch (err) {
          done(err as Error);
        }
        return;
      }
      if (!p) {
        done(new Error(`the SIP account is not started (${client.registrationState})`));
        return;
      }
      run(p, msg, (m) => send(m)).then(
        () => done(),
        (err: Error) => done(err),
      );
    });
    node.on("close", (removed: boolean, done: () => void) => {
      if (removed) modes.delete(node.id);
      alert?.cancel();
      client.deregister(user);
      voicemail?.close();
      closed = true;
      if (phone) {
        for (const handle of recordings) handle.stop();
        phone.off("call", onCall);
        phone.off("call", onCallRecord);
        phone.off("playback", onPlayback);
        phone.off("hold", onHold);
        phone.off("message", onText);
        phone.off("media", onMedia);
        phone.off("transfer", onTransfer);
        phone.off("quality", onQuality);
        phone.releaseInbound(node.id);
      }
      done();
    });
  }
  RED.nodes.registerType("sip-call", SipCall as unknown as Parameters<NodeAPI["nodes"]["registerType"]>[1]);
};
