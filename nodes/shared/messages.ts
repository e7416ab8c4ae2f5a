// The message contract of the nodes: one typed union per direction and node, keyed by topic,
// with the builders that make the outgoing messages and the parsers that check the incoming ones.
// Property names and the words in them are the user-facing contract: add, never rename.
// Output types are type literals (not interfaces) so that they are Node-RED NodeMessages as they are.
// The en-US help of each node documents every topic here (test/unit/nodes/messages.test.ts).
import type {
  AlertOptions,
  AlertResult,
  AudioPathEvent,
  AudioPathState,
  CallInfo,
  CallParty,
  CallQualityInfo,
  CallState,
  CodeEnd,
  DtmfDigit,
  DoctorReport,
  DtmfMethod,
  RecordingResult,
  RegistrationDetail,
  RegistrationState,
  RingbackPlan,
  TextMessageInfo,
  TextMessageOutcome,
  VoicemailResult,
  TransferEvent,
  TransferState,
} from "../../src";
import {
  checkAlertOptions,
  checkMode,
  DEFAULT_ONE_TIME_VALID_MS,
  DEFAULT_RING_TIMEOUT_SECONDS,
  KEY_MASK,
  isRingbackPlan,
  normalizeNumber,
  primitiveText,
  RINGBACK_PLANS,
} from "../../src";
import { num } from "./values";

// ---- sip-call: out ----

export type RegistrationMsg = {
  topic: "registration";
  payload: RegistrationState;
  /** Why it FAILED (only with FAILED). */
  reason?: string;
  /** The server's SIP status code, when there is one. */
  statusCode?: number;
};

export type CallMsg = {
  topic: "call";
  payload: CallState;
  /** `call.simulated: true` on a call of the editor's simulator ("Simulate a call"); absent on real calls. */
  call: CallInfo;
};

export type PlaybackMsg = {
  topic: "playback";
  payload: "started" | "finished";
  call: CallInfo;
  /** The text spoken or the file played. */
  label: string;
  /** Stopped before its end. */
  interrupted: boolean;
};

/** A SIP MESSAGE received (RFC 3428); `call` only when it came inside a call. */
export type TextMsg = {
  topic: "message";
  /** The text. */
  payload: string;
  from: CallParty;
  to: CallParty;
  call?: CallInfo;
};

/** The outcome of a "message" command. */
export type MessageStatusMsg = {
  topic: "message-status";
  payload: "delivered" | "failed";
  /** The final SIP status (408: no answer in time, 503: not sent). */
  statusCode: number;
  reason: string;
  /** The SIP URI it was sent to. */
  to: string;
};

export type MediaMsg = {
  topic: "media";
  /** flowing, one-way or no-rtp (as msg.media.state). */
  payload: AudioPathState;
  /** state, direction (one-way only: "send-only" | "receive-only"), remote { address, port }, sent/received in the last 2 s. */
  media: AudioPathEvent;
  call: CallInfo;
};

/** The SIP doctor's report (the "diagnose" command). */
export type DiagnoseMsg = {
  topic: "diagnose";
  /** level (ok | warn | fail), findings [{ id, level, facts, text, fix }], text (the whole report), at, durationMs, account. */
  payload: DoctorReport;
};

/** A step of a call transfer: ours (topic "transfer" in) or the peer's REFER. */
export type TransferMsg = {
  topic: "transfer";
  /** As msg.transfer.state. */
  payload: TransferState;
  /** direction (outbound: ours; inbound: the peer's REFER), state, target, status?, reason?, newCall? (inbound). */
  transfer: TransferEvent;
  /** The call being transferred. */
  call: CallInfo;
};

export type SipCallOutput =
  | RegistrationMsg
  | CallMsg
  | PlaybackMsg
  | MediaMsg
  | TextMsg
  | MessageStatusMsg
  | DiagnoseMsg
  | TransferMsg
  | RecordingMsg
  | VoicemailMsg
  | AlertMsg
  | ModeMsg
  | MediaQualityMsg;

/** A message left in voicemail mode: one per call, after the hang-up (and the transcription). */
export type VoicemailMsg = {
  topic: "voicemail";
  /** The recording: WAV, 8 kHz 16-bit mono PCM. */
  payload: Buffer;
  /** The speech-to-text result ("" = nothing recognised); absent when no engine is configured or it failed. */
  transcript?: string;
  /** Why there is no transcript (the engine failed); the message is delivered anyway. */
  transcriptError?: string;
  /** receivedAt: ISO time recording started; reason: hangup, silence, max, key or stop; path: the WAV file written; fileError: why it was not. */
  voicemail: { durationMs: number; reason: string; receivedAt: string; bytes: number; path?: string; fileError?: string };
  call: CallInfo;
};

/** A finished recording (topic "record", or the node's "record every answered call"): one message per recording. */
export type RecordingMsg = {
  topic: "recording";
  /** The WAV: 8 kHz 16-bit mono PCM of what the remote side said. */
  payload: Buffer;
  recording: {
    durationMs: number;
    /** Size of the WAV, bytes. */
    bytes: number;
    reason: RecordingResult["reason"];
    /** ISO time the recording started. */
    startedAt: string;
    /** The stop key, with reason "key". */
    key?: string;
    /** The file written, when one was asked for and written. */
    path?: string;
    /** Why the file could not be written. */
    error?: string;
  };
  call: CallInfo;
};

/** The one result of an escalation (topic "alert" in): confirmed, by, at, attempts. */
export type AlertMsg = {
  topic: "alert";
  payload: AlertResult;
  /** The alert's id, as in msg.call.alertId of its calls. */
  alertId: string;
};

/** The current mode of the node's caller rules, after a "mode" command ("" = none). */
export type ModeMsg = {
  topic: "mode";
  payload: string;
};

/** Every CALL_QUALITY_INTERVAL_MS (5 s) of an answered call, not while held: RTCP loss, jitter, RTT and estimated MOS. */
export type MediaQualityMsg = {
  topic: "media";
  payload: "quality";
  /** mos, mosIn, mosOut, lossPercent, jitterMs, rttMs, remoteLossPercent, remoteJitterMs, packet and RTCP counters (as msg.call.quality at ENDED). */
  quality: CallQualityInfo;
  call: CallInfo;
};

export function registrationMsg(state: RegistrationState, detail: RegistrationDetail): RegistrationMsg {
  const msg: RegistrationMsg = { topic: "registration", payload: state };
  if (state === "FAILED") msg.reason = detail.reason;
  if (detail.statusCode) msg.statusCode = detail.statusCode;
  return msg;
}

export function callMsg(state: CallState, call: CallInfo): CallMsg {
  return { topic: "call", payload: state, call };
}

export function alertMsg(alertId: string, result: AlertResult): AlertMsg {
  return { topic: "alert", payload: result, alertId };
}

export function modeMsg(mode: string): ModeMsg {
  return { topic: "mode", payload: mode };
}

export function mediaMsg(event: AudioPathEvent, call: CallInfo): MediaMsg {
  return { topic: "media", payload: event.state, media: event, call };
}

export function transferMsg(event: TransferEvent, call: CallInfo): TransferMsg {
  return { topic: "transfer", payload: event.state, transfer: event, call };
}

export function mediaQualityMsg(quality: CallQualityInfo, call: CallInfo): MediaQualityMsg {
  return { topic: "media", payload: "quality", quality, call };
}

export function playbackMsg(what: "started" | "finished", call: CallInfo, label: string, interrupted: boolean): PlaybackMsg {
  return { topic: "playback", payload: what, call, label, interrupted };
}

export function textMsg(m: TextMessageInfo): TextMsg {
  const msg: TextMsg = { topic: "message", payload: m.text, from: m.from, to: m.to };
  if (m.call) msg.call = m.call;
  return msg;
}

export function diagnoseMsg(report: DoctorReport): DiagnoseMsg {
  return { topic: "diagnose", payload: report };
}

export function recordingMsg(r: RecordingResult): RecordingMsg {
  const recording: RecordingMsg["recording"] = { durationMs: r.durationMs, bytes: r.bytes, reason: r.reason, startedAt: r.startedAt.toISOString() };
  if (r.key !== undefined) recording.key = r.key;
  if (r.path !== undefined) recording.path = r.path;
  if (r.error !== undefined) recording.error = r.error;
  return { topic: "recording", payload: r.wav, recording, call: r.call };
}

export function messageStatusMsg(o: TextMessageOutcome): MessageStatusMsg {
  return { topic: "message-status", payload: o.delivered ? "delivered" : "failed", statusCode: o.statusCode, reason: o.reason, to: o.to };
}

export function voicemailMsg(v: VoicemailResult, call: CallInfo): VoicemailMsg {
  const r = v.recording;
  const voicemail: VoicemailMsg["voicemail"] = { durationMs: r.durationMs, reason: r.reason, receivedAt: v.receivedAt.toISOString(), bytes: r.bytes };
  if (r.path) voicemail.path = r.path;
  if (r.error) voicemail.fileError = r.error;
  const msg: VoicemailMsg = { topic: "voicemail", payload: r.wav, voicemail, call };
  if (v.transcript !== undefined) msg.transcript = v.transcript;
  if (v.transcriptError) msg.transcriptError = v.transcriptError;
  return msg;
}

// ---- sip-call: in ----

/** A call id from msg.call.id (or msg.callId); none = the only active call. */
interface ForCall {
  callId?: string;
}

export interface DialInput {
  topic: "dial";
  payload: string;
  message?: string;
  language?: string;
  ringTimeout?: number;
}
export interface SayInput extends ForCall {
  topic: "say";
  payload: string;
  language?: string;
  engine?: string;
  voice?: string;
  interrupt: boolean;
}
export interface PlayInput extends ForCall {
  topic: "play";
  payload: Buffer | string;
  format: "wav" | "pcmu" | "pcma";
  interrupt: boolean;
}
export interface HangupInput extends ForCall {
  topic: "hangup";
}
export interface AnswerInput extends ForCall {
  topic: "answer";
}
export interface RejectInput extends ForCall {
  topic: "reject";
  statusCode: number;
}
/** Hold (re-INVITE a=sendonly) or resume (a=sendrecv) an answered call. */
export interface HoldInput extends ForCall {
  topic: "hold" | "resume";
}
/** Early media on a ringing incoming call: 183 + SDP, then say/play before answer or reject. */
export interface ProgressInput extends ForCall {
  topic: "progress";
  /** A ringback tone to play meanwhile (eu, us, uk); none when absent. */
  ringback?: RingbackPlan;
}
export interface DtmfSendInput extends ForCall {
  topic: "dtmf";
  payload: string;
}

/** A text message (SIP MESSAGE) to msg.to: a number or a SIP URI, as for dial. */
export interface MessageInput {
  topic: "message";
  payload: string;
  to: string;
}

/**
 * Runs the SIP doctor; msg.language (en, fr, de; default en) picks the report's language.
 * msg.testCall: true adds a test call to the account itself through the server; a number or SIP URI
 * (an echo service, a second extension) is called instead.
 */
export interface DiagnoseInput {
  topic: "diagnose";
  language?: string;
  testCall?: true | string;
}

/** Blind transfer of a call to msg.to (or msg.payload): a number or a SIP URI, as for dial. */
export interface TransferInput extends ForCall {
  topic: "transfer";
  to: string;
}

export type SipCallInput =
  | DialInput
  | SayInput
  | PlayInput
  | HangupInput
  | AnswerInput
  | RejectInput
  | DtmfSendInput
  | HoldInput
  | MessageInput
  | DiagnoseInput
  | TransferInput
  | ProgressInput
  | RecordInput
  | AlertInput
  | ModeInput;

/** Start or stop recording a call; the options come from msg.record (seconds, as the editor). */
export interface RecordInput extends ForCall {
  topic: "record";
  payload: "start" | "stop";
  maxSeconds?: number;
  silenceSeconds?: number;
  stopKeys?: string;
  path?: string;
}

/** Escalation: call msg.alert.numbers until someone presses the confirm key; payload "cancel" stops it. */
export type AlertInput = { topic: "alert"; cancel: true } | { topic: "alert"; cancel?: false; options: AlertOptions };

/** Sets the mode of the caller rules (home, away, night...; "" clears it); no payload: only report it. */
export interface ModeInput {
  topic: "mode";
  payload?: string;
}

export type SipCallTopic = SipCallInput["topic"];
export const SIP_CALL_INPUT_TOPICS: readonly SipCallTopic[] = [
  "dial",
  "say",
  "play",
  "hangup",
  "answer",
  "reject",
  "dtmf",
  "hold",
  "resume",
  "message",
  "diagnose",
  "transfer",
  "progress",
  "record",
  "alert",
  "mode",
];
export const SIP_CALL_OUTPUT_TOPICS: readonly SipCallOutput["topic"][] = [
  "registration",
  "call",
  "playback",
  "media",
  "message",
  "message-status",
  "diagnose",
  "transfer",
  "recording",
  "voicemail",
  "alert",
  "mode",
];

/** Default SIP status of a rejection. */
const REJECT_STATUS = 486;
const PLAY_FORMATS = ["wav", "pcmu", "pcma"] as const;

/** "a, b or c" */
function orList(words: readonly string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/** Checks a sip-call input message; throws an error that says what is wrong. */
export function parseSipCallInput(raw: unknown): SipCallInput {
  const msg = (raw !== null && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const topic = (primitiveText(msg.topic) ?? "").toLowerCase();
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  const callId = commandCallId(msg);
  const p = msg.payload;
  switch (topic) {
    case "dial": {
      if (typeof p !== "string" && typeof p !== "number") throw new Error("dial: msg.payload must be a number or a SIP URI");
      return {
        topic,
        payload: String(p),
        message: text(msg.message),
        language: text(msg.language),
        ringTimeout: msg.ringTimeout !== undefined ? num(msg.ringTimeout, DEFAULT_RING_TIMEOUT_SECONDS) : undefined,
      };
    }
    case "say": {
      if (typeof p !== "string" || !p.trim()) throw new Error("say: msg.payload must be the text to speak");
      return {
        topic,
        callId,
        payload: p,
        language: text(msg.language),
        engine: text(msg.engine),
        voice: text(msg.voice),
        interrupt: msg.interrupt === true,
      };
    }
    case "play": {
      if (!Buffer.isBuffer(p) && (typeof p !== "string" || !p.trim())) throw new Error("play: msg.payload must be a WAV Buffer or a file path");
      const format = (msg.format === undefined || msg.format === null ? "wav" : (primitiveText(msg.format) ?? "")).toLowerCase();
      if (!(PLAY_FORMATS as readonly string[]).includes(format)) throw new Error(`play: msg.format must be wav, pcmu or pcma, not "${format}"`);
      return { topic, callId, payload: p, format: format as PlayInput["format"], interrupt: msg.interrupt === true };
    }
    case "hangup":
    case "answer":
    case "hold":
    case "resume":
      return { topic, callId };
    case "reject":
      return { topic, callId, statusCode: msg.statusCode ? num(msg.statusCode, REJECT_STATUS) : REJECT_STATUS };
    case "dtmf": {
      if (typeof p !== "string" && typeof p !== "number") throw new Error("dtmf: msg.payload must be the digits to send");
      return { topic, callId, payload: String(p) };
    }
    case "message": {
      if (typeof p !== "string" || p.length === 0) throw new Error("message: msg.payload must be the text to send");
      const to = msg.to;
      if ((typeof to !== "string" && typeof to !== "number") || !String(to).trim()) throw new Error("message: msg.to must be a number or a SIP URI");
      return { topic, payload: p, to: String(to).trim() };
    }
    case "diagnose": {
      const t = msg.testCall;
      if (t === undefined || t === null || t === false || t === "") return { topic, language: text(msg.language) };
      if (t === true) return { topic, language: text(msg.language), testCall: true };
      if ((typeof t !== "string" && typeof t !== "number") || !String(t).trim())
        throw new Error("diagnose: msg.testCall must be true (call the account itself) or a number or SIP URI to call");
      return { topic, language: text(msg.language), testCall: String(t).trim() };
    }
    case "transfer": {
      const to = msg.to !== undefined && msg.to !== null && msg.to !== "" ? msg.to : p;
      if ((typeof to !== "string" && typeof to !== "number") || !String(to).trim())
        throw new Error("transfer: msg.to (or msg.payload) must be a number or a SIP URI");
      return { topic, callId, to: String(to).trim() };
    }
    case "progress": {
      const r = msg.ringback;
      if (r === undefined || r === null || r === "" || r === "off") return { topic, callId };
      const plan = (primitiveText(r) ?? "").toLowerCase();
      if (!isRingbackPlan(plan)) throw new Error(`progress: msg.ringback must be ${RINGBACK_PLANS.join(", ")} or off`);
      return { topic, callId, ringback: plan };
    }
    case "record":
      return parseRecordInput(msg, callId);
    case "alert":
      if (typeof p === "string" && p.trim().toLowerCase() === "cancel") return { topic, cancel: true };
      return { topic, options: checkAlertOptions(p, msg.alert) };
    case "mode":
      return p === undefined ? { topic } : { topic, payload: checkMode(p) };
    default:
      throw new Error(`unknown topic "${primitiveText(msg.topic) ?? ""}": use ${orList(SIP_CALL_INPUT_TOPICS)}`);
  }
}

/** msg.payload "start" (default) or "stop", options in msg.record { maxSeconds, silenceSeconds, stopKeys, path }. */
function parseRecordInput(msg: Record<string, unknown>, callId: string | undefined): RecordInput {
  const p = msg.payload;
  const action = p === undefined || p === null || p === "" ? "start" : (primitiveText(p) ?? "").trim().toLowerCase();
  if (action !== "start" && action !== "stop") throw new Error('record: msg.payload must be "start" or "stop"');
  if (action === "stop") return { topic: "record", callId, payload: "stop" };
  const o = msg.record;
  if (o !== undefined && o !== null && (typeof o !== "object" || Array.isArray(o))) {
    throw new Error("record: msg.record must be an object { maxSeconds, silenceSeconds, stopKeys, path }");
  }
  const opts = (o ?? {}) as Record<string, unknown>;
  const cmd: RecordInput = { topic: "record", callId, payload: "start" };
  const seconds = (name: "maxSeconds" | "silenceSeconds", min: number) => {
    const v = opts[name];
    if (v === undefined || v === null || v === "") return;
    const n = Number(v);
    if (typeof v === "boolean" || !Number.isFinite(n) || n < min)
      throw new Error(`record: msg.record.${name} must be a number of seconds${min > 0 ? " above 0" : ""}`);
    cmd[name] = n;
  };
  seconds("maxSeconds", Number.MIN_VALUE);
  seconds("silenceSeconds", 0);
  if (opts.stopKeys !== undefined && opts.stopKeys !== null && opts.stopKeys !== "") {
    const keys = primitiveText(opts.stopKeys) ?? "";
    if (!/^[0-9*#A-Da-d]+$/.test(keys)) throw new Error('record: msg.record.stopKeys must be DTMF keys (0-9, *, #, A-D), e.g. "#"');
    cmd.stopKeys = keys.toUpperCase();
  }
  if (opts.path !== undefined && opts.path !== null && opts.path !== "") {
    if (typeof opts.path !== "string" || !opts.path.trim()) throw new Error("record: msg.record.path must be a file path");
    cmd.path = opts.path.trim();
  }
  return cmd;
}

/** The id given with a command (msg.call.id, else msg.callId), or undefined. */
export function commandCallId(msg: { call?: unknown; callId?: unknown }): string | undefined {
  const call = msg.call;
  const id = call !== null && typeof call === "object" ? ((call as { id?: unknown }).id ?? msg.callId) : msg.callId;
  if (id === undefined || id === null || id === "") return undefined;
  // An object is no call id: keep a text that matches no call, as before ("no active call with id [object Object]").
  return primitiveText(id) ?? Object.prototype.toString.call(id);
}

// ---- sip-dtmf: out ----

/** What a key looks like in messages with "keep codes out of messages" (the keypad menu's mask). */
export const MASK: typeof KEY_MASK = KEY_MASK;

export type DtmfMsg = {
  topic: "dtmf";
  /** The key, or MASK. */
  payload: DtmfDigit | typeof MASK;
  /** rfc4733, info, inband; "simulated": a key of the editor's simulator (then `call.simulated` is true). */
  method: DtmfMethod;
  masked?: true;
  call: CallInfo;
};

export type DtmfCodeMsg = {
  topic: "dtmf-code";
  /** The code, or one MASK per key. */
  payload: string;
  /** What completed it; "match": an action's code was entered. */
  terminatedBy: CodeEnd | "match";
  call: CallInfo;
  masked?: true;
  /** It matches no action. */
  invalid?: true;
};

export type DtmfTooManyMsg = {
  topic: "dtmf-too-many";
  /** Wrong codes in this call. */
  payload: number;
  limit: number;
  call: CallInfo;
  /** ISO time, when the caller's number is now locked out. */
  lockedUntil?: string;
};

export type DtmfLockedMsg = {
  topic: "dtmf-locked";
  /** ISO time the lock-out ends (as lockedUntil). */
  payload: string;
  lockedUntil: string;
  call: CallInfo;
};

/** On an action's own output; its topic is the action's (default "action"). */
export type ActionMsg = {
  topic: string;
  payload: string;
  /** index: 1 = first action; code only when codes are not hidden. */
  action: { index: number; code?: string; oneTime?: true };
  call: CallInfo;
  masked?: true;
};

/** The first output of sip-dtmf. */
export type SipDtmfOutput = DtmfMsg | DtmfCodeMsg | DtmfTooManyMsg | DtmfLockedMsg;
export const SIP_DTMF_OUTPUT_TOPICS: readonly SipDtmfOutput["topic"][] = ["dtmf", "dtmf-code", "dtmf-too-many", "dtmf-locked"];

/** `key` as the menu reports it (MASK when masked). */
export function dtmfMsg(digit: DtmfMsg["payload"], method: DtmfMethod, call: CallInfo, masked = false): DtmfMsg {
  return masked ? { topic: "dtmf", payload: MASK, method, masked: true, call } : { topic: "dtmf", payload: digit, method, call };
}

/** `code` as shown (already masked when codes are hidden). */
export function dtmfCodeMsg(
  code: string,
  terminatedBy: DtmfCodeMsg["terminatedBy"],
  call: CallInfo,
  o: { masked?: boolean; invalid?: boolean } = {},
): DtmfCodeMsg {
  const msg: DtmfCodeMsg = { topic: "dtmf-code", payload: code, terminatedBy, call };
  if (o.masked) msg.masked = true;
  if (o.invalid) msg.invalid = true;
  return msg;
}

export function dtmfTooManyMsg(wrong: number, limit: number, call: CallInfo, lockedUntilMs = 0): DtmfTooManyMsg {
  const msg: DtmfTooManyMsg = { topic: "dtmf-too-many", payload: wrong, limit, call };
  if (lockedUntilMs) msg.lockedUntil = new Date(lockedUntilMs).toISOString();
  return msg;
}

export function dtmfLockedMsg(lockedUntilMs: number, call: CallInfo): DtmfLockedMsg {
  const lockedUntil = new Date(lockedUntilMs).toISOString();
  return { topic: "dtmf-locked", payload: lockedUntil, lockedUntil, call };
}

/** `index` 1 = first action; `code` as configured (left out when masked); `payload` as shown. */
export function actionMsg(
  topic: string | undefined,
  payload: string,
  a: { index: number; code?: string; oneTime?: boolean },
  call: CallInfo,
  masked = false,
): ActionMsg {
  const action: ActionMsg["action"] = { index: a.index };
  if (!masked) action.code = a.code;
  if (a.oneTime) action.oneTime = true;
  const msg: ActionMsg = { topic: topic || "action", payload, action, call };
  if (masked) msg.masked = true;
  return msg;
}

// ---- sip-dtmf: in ----

export interface CodeInput {
  topic: "code";
  /** The one-time code ("" when missing: the code guard refuses it). */
  payload: string;
  /** The action it triggers, 0 = first (resolved by the node, which knows its actions). */
  action: number;
  /** Seconds it stays valid (0 revokes). */
  validFor: number;
}
export interface ClearCodesInput {
  topic: "clear-codes";
}
export interface UnlockInput {
  topic: "unlock";
  /** The caller number, normalised; undefined = every lock-out (no payload or "*"). */
  payload?: string;
}

export type SipDtmfInput = CodeInput | ClearCodesInput | UnlockInput;
export const SIP_DTMF_INPUT_TOPICS: readonly SipDtmfInput["topic"][] = ["code", "clear-codes", "unlock"];

/**
 * Checks a sip-dtmf input message; throws an error that says what is wrong (never the code).
 * `actionIndex` turns msg.action into the node's action index, or throws.
 */
export function parseSipDtmfInput(raw: unknown, actionIndex: (action: unknown) => number): SipDtmfInput {
  const msg = (raw !== null && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const topic = (primitiveText(msg.topic) ?? "").toLowerCase();
  const p = msg.payload;
  switch (topic) {
    case "code": {
      const code = typeof p === "string" || typeof p === "number" ? String(p) : "";
      const action = actionIndex(msg.action);
      const validFor = msg.validFor === undefined ? DEFAULT_ONE_TIME_VALID_MS / 1000 : Number(msg.validFor);
      if (!Number.isFinite(validFor)) throw new Error("code: msg.validFor must be a number of seconds");
      return { topic, payload: code, action, validFor };
    }
    case "clear-codes":
      return { topic };
    case "unlock":
      return { topic, payload: p === undefined || p === null || p === "*" ? undefined : normalizeNumber(primitiveText(p) ?? "") };
    default:
      throw new Error(`unknown topic "${topic.slice(0, 40)}": use code, clear-codes or unlock`);
  }
}
