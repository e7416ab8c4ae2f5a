// sip-call's voicemail mode: the editor's settings → runVoicemail on every incoming call this node
// answers → one "voicemail" message. The speech-to-text engine is configured here (only voicemail uses it).
import type { CallInfo, CallState, SpeechToTextEngine, VoicemailPhone } from "../../src";
import { createSpeechToTextEngine, DEFAULT_VOICEMAIL_MAX_SECONDS, DEFAULT_VOICEMAIL_SILENCE_SECONDS, runVoicemail } from "../../src";
import { voicemailMsg, type VoicemailMsg } from "../shared/messages";
import { num } from "../shared/values";

/** The greeting when the node sets none. */
export const DEFAULT_VOICEMAIL_GREETING = "Please leave a message after the tone.";
/** The rate recordings are resampled to for the command (what pocketsphinx's en-us model and whisper.cpp want). */
export const DEFAULT_STT_SAMPLE_RATE = 16000;

/** The editor properties of voicemail mode (names are the contract). */
export interface VoicemailConfig {
  voicemail?: boolean;
  /** Text spoken, or a .wav file path played; empty = the default greeting. */
  vmGreeting?: string;
  /** Language of the greeting and of the transcription ({lang}); empty = the account's. */
  vmLanguage?: string;
  vmMaxSeconds?: string | number;
  vmSilenceSeconds?: string | number;
  /** A folder each WAV is also written to; empty = none. */
  vmFolder?: string;
  /** "none" (default) or "command". */
  sttEngine?: string;
  /** The command line, with {file} and optionally {lang}. */
  sttCommand?: string;
  /** Resample to this rate before running the command (default DEFAULT_STT_SAMPLE_RATE; 0 = 8000, as recorded). */
  sttSampleRate?: string | number;
}

export interface VoicemailMode {
  /** Every call state change this node sees: ANSWERED (inbound) starts voicemail; later ones update msg.call. */
  onCall(phone: VoicemailPhone, state: CallState, call: CallInfo): void;
  close(): void;
}

/** Undefined when voicemail mode is off. `send` gets one message per recorded call. */
export function voicemailMode(
  config: VoicemailConfig,
  send: (msg: VoicemailMsg) => void,
  log: { warn(text: string): void; error(text: string): void },
): VoicemailMode | undefined {
  if (config.voicemail !== true) return undefined;
  let engine: SpeechToTextEngine | undefined;
  let engineError: string | undefined;
  try {
    engine = createSpeechToTextEngine(config.sttEngine, {
      command: config.sttCommand,
      sampleRate: num(config.sttSampleRate, DEFAULT_STT_SAMPLE_RATE) || undefined,
    });
  } catch (e) {
    // A bad command line: voicemail still works; each message says why it has no transcript.
    engineError = `speech-to-text is not configured correctly: ${(e as Error).message}`;
    log.error(engineError);
  }
  const stop = new AbortController();
  /** The latest snapshot of each call in voicemail (for msg.call: the ENDED one when it came). */
  const running = new Map<string, CallInfo>();
  return {
    onCall(phone, state, call) {
      if (running.has(call.id)) running.set(call.id, call);
      if (state !== "ANSWERED" || call.direction !== "inbound" || running.has(call.id) || stop.signal.aborted) return;
      running.set(call.id, call);
      runVoicemail(bind(phone), call.id, {
        greeting: config.vmGreeting?.trim() || DEFAULT_VOICEMAIL_GREETING,
        language: config.vmLanguage?.trim() || undefined,
        maxSeconds: num(config.vmMaxSeconds, DEFAULT_VOICEMAIL_MAX_SECONDS),
        silenceSeconds: num(config.vmSilenceSeconds, DEFAULT_VOICEMAIL_SILENCE_SECONDS),
        folder: config.vmFolder?.trim() || undefined,
        engine,
        signal: stop.signal,
        onWarning: (t) => log.warn(t),
      })
        .then((result) => {
          if (!result || stop.signal.aborted) return;
          if (engineError && result.transcriptError === undefined) result.transcriptError = engineError;
          send(voicemailMsg(result, running.get(call.id) ?? call));
        })
        .catch((e: Error) => log.warn(`voicemail failed: ${e.message}`))
        .finally(() => running.delete(call.id));
    },
    close() {
      stop.abort();
    },
  };
}

/** The phone's methods, bound (runVoicemail calls them detached from the object). */
function bind(p: VoicemailPhone): VoicemailPhone {
  return {
    call: (id) => p.call(id),
    say: (id, text, o) => p.say(id, text, o),
    play: (id, audio) => p.play(id, audio),
    record: (id, o) => p.record(id, o),
    hangup: (id, end) => p.hangup(id, end),
  };
}
