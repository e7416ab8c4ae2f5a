// The Node-RED-free core: a SIP phone for Node.js (registration, calls, RTP, DTMF, speech).
// This is the public entry, and the only module of src/ that nodes/ may import (a unit test,
// test/unit/nodes/import-boundary.test.ts, enforces it): the Softphone facade addresses calls
// by id; the rest are the types and small helpers the nodes need.

// The facade
export { Softphone, parseCodecList, dialDomain } from "./softphone";
export type {
  SoftphoneOptions,
  MediaOptions,
  SoftphoneEvents,
  SoftphoneEventMap,
  PlaybackHandle,
  CallWatcher,
  SayOptions,
  PlayOptions,
  TextMessageInfo,
} from "./softphone";
export type { RecordOptions, RecordingHandle, RecordingResult } from "./call/call-recording";
export { MAX_RECORDING_MS, MAX_RECORDING_BYTES, DEFAULT_RECORDING_MS, SILENCE_LEVEL_DBM0, MIN_SILENCE_MS } from "./media/recorder";
export type { RecordingEndReason } from "./media/recorder";
export { MAX_TEXT_MESSAGE_BYTES } from "./call/text-message";
export type { TextMessageOutcome } from "./call/text-message";
export { TRANSFER_TIMEOUT_MS, MAX_REFERS_PER_CALL, MAX_TRANSFER_NOTIFIES } from "./call/transfer";
export type { TransferEvent, TransferHandle, TransferState } from "./call/transfer";

// The account
export type { AccountOptions, AcceptFrom } from "./phone/account";
export type { ListenMode } from "./sip/transports/stream-listener";
export type { RegistrationDetail } from "./phone/registration";

// Calls
export { DEFAULT_MAX_CALLS, DEFAULT_RING_TIMEOUT_SECONDS, EARLY_MEDIA_MAX_SECONDS } from "./call/call-manager";
export { RINGBACK_PLANS, isRingbackPlan } from "./media/ringback";
export type { RingbackPlan } from "./media/ringback";
export type { InboundPolicy, DialOptions, AfterGreeting, CallLimits, Speaker } from "./call/call-manager";
export { parsePatternList, normalizeNumber } from "./call/caller-match";
export { checkMode, conditionsError, isValidTimeZone, MAX_MODE_LENGTH } from "./call/time-rules";
export type { RuleConditions, RuleContext } from "./call/time-rules";
export type { Greeting } from "./call/caller-match";
export type { DtmfOptions } from "./call/call-dtmf";
export { Escalation, checkAlertOptions, ALERT_DEFAULTS, ALERT_MAX_NUMBERS, ALERT_MAX_ATTEMPTS, ALERT_MAX_DEADLINE_SECONDS } from "./call/escalation";
export type { AlertOptions, AlertResult, AlertAttempt, AlertAttemptOutcome } from "./call/escalation";

// The editor's call simulator
export {
  SIMULATED_CALLS_MAX,
  SIMULATED_CALL_MAX_MS,
  SIMULATED_BATCH_FRAMES,
  SIMULATED_NUMBER_MAX,
  SIMULATED_NAME_MAX,
  simulatedCaller,
} from "./call/simulated-call";

// Keys and codes (the sip-dtmf node)
export { DigitCollector } from "./dtmf/collector";
export type { CodeEnd, CollectedCode, CollectedDigit, DigitCollectorOptions } from "./dtmf/collector";
export { CodeGuard, DEFAULT_MAX_WRONG_CODES, DEFAULT_LOCKOUT_BASE_MS, DEFAULT_ONE_TIME_VALID_MS } from "./dtmf/code-guard";
export type { CodeGuardOptions, WrongCodeResult } from "./dtmf/code-guard";
export { JsonFileLockoutStore } from "./dtmf/lockout-store";
export type { LockoutStore } from "./dtmf/lockout-store";
export {
  KeypadMenu,
  KEY_MASK,
  ENDING_MESSAGE_MAX_MS,
  DEFAULT_TOO_MANY_MESSAGE,
  DEFAULT_LOCKED_MESSAGE,
  MAX_MENU_CODE_KEYS,
  DEFAULT_MENU_CODE_KEYS,
  DEFAULT_INTER_DIGIT_TIMEOUT_MS,
} from "./dtmf/keypad-menu";
export type {
  KeypadAction,
  KeypadCall,
  KeypadCalls,
  KeypadMenuOptions,
  KeypadMenuEvents,
  KeypadKeyEvent,
  KeypadCodeEvent,
  KeypadActionEvent,
  KeypadWrongEvent,
  KeypadTooManyEvent,
  KeypadLockedEvent,
} from "./dtmf/keypad-menu";

// Audio path (the "media" event)
export { AUDIO_PATH_WINDOW_MS, AUDIO_PATH_CHECK_MS, AUDIO_PATH_MAX_EVENTS } from "./media/audio-path";
export type { AudioPathEvent, AudioPathState, OneWayDirection, AudioPathEndpoint } from "./media/audio-path";

// The SIP doctor (diagnose)
export { NAT_SAFE_KEEPALIVE_SECONDS, SHORT_EXPIRY_SECONDS } from "./doctor/doctor";
export type { DoctorReport, DoctorFinding, FindingId, FindingLevel } from "./doctor/doctor";
export { doctorLanguage, DOCTOR_LANGUAGES } from "./doctor/texts";
export type { DoctorLanguage } from "./doctor/texts";

// Voicemail and speech-to-text
export { runVoicemail, beepWav, voicemailFileName, DEFAULT_VOICEMAIL_MAX_SECONDS, DEFAULT_VOICEMAIL_SILENCE_SECONDS } from "./call/voicemail";
export type { VoicemailOptions, VoicemailResult, VoicemailRecording, VoicemailPhone } from "./call/voicemail";
export { registerSpeechToTextEngine, createSpeechToTextEngine, registeredSpeechToTextEngines } from "./speech/stt";
export type { SpeechToTextEngine, SpeechToTextEngineFactory, TranscribeOptions } from "./speech/stt";

// Call quality (the "quality" media message; RTCP)
export { CALL_QUALITY_INTERVAL_MS } from "./call/call";
export { IDENTITY_RTCP_TRANSFORM, RtcpSession } from "./media/rtcp-session";
export type { RtcpTransform, RtcpPeer } from "./media/rtcp-session";

// Speech
export { SpeechService, registerEngine, encodeWav } from "./speech";
export type { SpeechServiceOptions, SpeechLanguage } from "./speech";

// Message words and shapes (the user-facing contract)
export { primitiveText } from "./primitive-text";
export * from "./types";

// Lower layers, for library users who build their own phone (not for nodes/).
export { Phone } from "./phone/phone";
export { CallManager } from "./call/call-manager";
export { Call } from "./call/call";
