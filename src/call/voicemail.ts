// Voicemail on one answered call: greeting → beep → record until silence, "#", hang-up or the
// limit → hang up → transcribe. Works through the Softphone facade by call id (VoicemailPhone is
// the part of it used), so the node only starts it and turns the result into one message.
import path from "path";
import { SAMPLE_RATE } from "../media/audio-format";
import { encodeWav } from "../speech/wav";
import { transcribeSafely, type SpeechToTextEngine } from "../speech/stt";
import type { CallInfo } from "../types";
import type { RecordingHandle, RecordingResult, RecordOptions } from "./call-recording";
import { fadeGain } from "../media/fade";

/** The beep before recording: 1 kHz for 250 ms, at about -12 dBFS, with 5 ms fades against clicks. */
export const BEEP_HZ = 1000;
export const BEEP_MS = 250;
const BEEP_PEAK = 0.25;
const BEEP_FADE_MS = 5;
/** Recording limits when the node gives none. */
export const DEFAULT_VOICEMAIL_MAX_SECONDS = 120;
export const DEFAULT_VOICEMAIL_SILENCE_SECONDS = 5;
/** The key that ends a message. */
export const VOICEMAIL_STOP_KEY = "#";
/** Longest caller number kept in a WAV file name (characters). */
const FILE_NAME_NUMBER_MAX = 32;

/** What the recorder hands back (Softphone.record's RecordingResult). */
export type VoicemailRecording = RecordingResult;

interface Handle {
  readonly finished: Promise<boolean>;
}

/** The part of the Softphone that voicemail uses. */
export interface VoicemailPhone {
  say(id: string, text: string, options?: { language?: string }): Promise<Handle>;
  play(id: string, audio: Buffer | string): Promise<Handle>;
  record(id: string, options?: RecordOptions): RecordingHandle;
  hangup(id: string, end?: { reason?: string }): Promise<void>;
  call(id: string): CallInfo | undefined;
}

export interface VoicemailOptions {
  /** Spoken with TTS, or played when it names a .wav file. Empty: straight to the beep. */
  greeting?: string;
  /** Language of the greeting and of the transcription ({lang}). */
  language?: string;
  maxSeconds?: number;
  silenceSeconds?: number;
  /** A folder: each message is also written there as voicemail-<time>-<caller>.wav. */
  folder?: string;
  engine?: SpeechToTextEngine;
  signal?: AbortSignal;
  /** Non-fatal problems (greeting not played …). */
  onWarning?(text: string): void;
}

export interface VoicemailResult {
  recording: VoicemailRecording;
  /** Undefined when no engine is configured; "" when it heard nothing. */
  transcript?: string;
  transcriptError?: string;
  /** When recording started. */
  receivedAt: Date;
}

/** 8 kHz 16-bit mono WAV of the beep. */
export function beepWav(): Buffer {
  const n = Math.round((SAMPLE_RATE * BEEP_MS) / 1000);
  const fade = Math.round((SAMPLE_RATE * BEEP_FADE_MS) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    pcm[i] = Math.round(32767 * BEEP_PEAK * fadeGain(i, n, fade) * Math.sin((2 * Math.PI * BEEP_HZ * i) / SAMPLE_RATE));
  }
  return encodeWav(pcm, SAMPLE_RATE);
}

/** A file name from the time and the caller's number (network input: only safe characters kept). */
export function voicemailFileName(at: Date, number: string): string {
  const who = number.replace(/[^A-Za-z0-9+_-]/g, "").slice(0, FILE_NAME_NUMBER_MAX) || "unknown";
  return `voicemail-${at.toISOString().replace(/[:.]/g, "-")}-${who}.wav`;
}

/**
 * Runs voicemail on an answered call. Resolves undefined when the caller hung up before the beep
 * ended (nothing recorded); never rejects for a greeting or transcription failure.
 */
export async function runVoicemail(phone: VoicemailPhone, callId: string, o: VoicemailOptions = {}): Promise<VoicemailResult | undefined> {
  const warn = (t: string) => o.onWarning?.(t);
  const greeting = (o.greeting ?? "").trim();
  if (greeting) {
    try {
      const h = /\.wav$/i.test(greeting)
        ? await phone.play(callId, greeting)
        : await phone.say(callId, greeting, { language: o.language || undefined });
      await h.finished;
    } catch (e) {
      if (!phone.call(callId)) return undefined;
      warn(`voicemail greeting not played: ${(e as Error).message}`);
    }
  }
  if (!phone.call(callId)) return undefined;
  try {
    await (
      await phone.play(callId, beepWav())
    ).finished;
  } catch (e) {
    if (!phone.call(callId)) return undefined;
    warn(`voicemail beep not played: ${(e as Error).message}`);
  }
  const info = phone.call(callId);
  if (!info) return undefined;
  const startedAt = new Date();
  const rec = phone.record(callId, {
    maxMs: Math.max(1, o.maxSeconds ?? DEFAULT_VOICEMAIL_MAX_SECONDS) * 1000,
    silenceMs: Math.max(0, o.silenceSeconds ?? DEFAULT_VOICEMAIL_SILENCE_SECONDS) * 1000 || undefined,
    stopKeys: VOICEMAIL_STOP_KEY,
    path: o.folder ? path.join(o.folder, voicemailFileName(startedAt, info.from.number)) : undefined,
  });
  const abort = () => rec.stop();
  o.signal?.addEventListener("abort", abort, { once: true });
  let recording: VoicemailRecording;
  try {
    recording = await rec.finished;
  } finally {
    o.signal?.removeEventListener("abort", abort);
  }
  if (phone.call(callId)) await phone.hangup(callId, { reason: "voicemail recorded" }).catch(() => undefined);
  const t = await transcribeSafely(o.engine, recording.wav, { language: o.language || undefined, signal: o.signal });
  return { recording, transcript: t.transcript, transcriptError: t.error, receivedAt: recording.startedAt ?? startedAt };
}
