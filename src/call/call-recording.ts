// One recording of one call: the Recorder (media/recorder.ts) fed with the audio the call's RTP
// sessions receive (a re-INVITE may bring a new one) and the keys the caller presses; ended by the
// call's end ("hangup"); the result made a WAV and, when asked, written to a file (an error there is
// reported in the result, never thrown).

import { promises as fs } from "fs";
import type { Call } from "./call";
import type { RtpPacketInfo } from "../media/rtp-session";
import type { RtpStream } from "../media/worker/media-stream";
import { Recorder, type RecordingEndReason } from "../media/recorder";
import { encodeWav } from "../speech/wav";
import { SAMPLE_RATE } from "../media/audio-format";
import type { CallInfo, CallState } from "../types";
import { systemClock, type Clock } from "../clock";

export interface RecordOptions {
  /** Longest recording, ms (default DEFAULT_RECORDING_MS, at most MAX_RECORDING_MS). */
  maxMs?: number;
  /** Largest WAV, bytes, header included (at most MAX_RECORDING_BYTES). */
  maxBytes?: number;
  /** End after this long without speech, counted from the first speech; absent or 0 = off. */
  silenceMs?: number;
  /** Keys that end the recording, e.g. "#". */
  stopKeys?: string;
  /** Also write the WAV to this file (a failure is reported in `error`). */
  path?: string;
}

export interface RecordingResult {
  /** 8 kHz 16-bit mono PCM WAV of what the remote side said. */
  wav: Buffer;
  durationMs: number;
  /** Size of `wav`, bytes. */
  bytes: number;
  reason: RecordingEndReason;
  /** The stop key, with reason "key". */
  key?: string;
  /** The file written (only when it was written). */
  path?: string;
  /** Why the file could not be written (the WAV is delivered anyway). */
  error?: string;
  startedAt: Date;
  /** The call when the recording ended (ENDED after a hang-up). */
  call: CallInfo;
}

export interface RecordingHandle {
  /** Settles when the recording ends, whatever the reason; never rejects. */
  readonly finished: Promise<RecordingResult>;
  /** Ends it with reason "stop". */
  stop(): void;
}

export type WriteFile = (path: string, data: Buffer) => Promise<void>;

/** Longest error text of a failed file write put in a result. */
const WRITE_ERROR_MAX = 200;

export class CallRecording implements RecordingHandle {
  readonly finished: Promise<RecordingResult>;
  private readonly recorder: Recorder;
  private readonly sessions = new Set<RtpStream>();
  private readonly onAudio = (pcm: Int16Array, info: RtpPacketInfo) => this.recorder.push(pcm, info);
  private readonly onRtp = (rtp: RtpStream) => this.listen(rtp);
  private readonly onState = (s: CallState) => {
    if (s === "ENDED") this.recorder.end("hangup");
  };

  constructor(
    private readonly call: Call,
    options: RecordOptions = {},
    clock: Clock = systemClock,
    writeFile: WriteFile = (p, d) => fs.writeFile(p, d),
  ) {
    this.recorder = new Recorder(options, clock);
    const sdh = call.sdh;
    if (sdh?.rtp) this.listen(sdh.rtp);
    sdh?.on("rtp", this.onRtp);
    call.on("state", this.onState);
    if (!call.active) this.recorder.end("hangup");
    this.finished = this.recorder.finished.then(async (r) => {
      this.detach();
      const wav = encodeWav(r.pcm, SAMPLE_RATE);
      const result: RecordingResult = {
        wav,
        durationMs: r.durationMs,
        bytes: wav.length,
        reason: r.reason,
        startedAt: r.startedAt,
        call: this.call.snapshot(),
      };
      if (r.key !== undefined) result.key = r.key;
      const path = typeof options.path === "string" ? options.path.trim() : "";
      if (path) {
        try {
          await writeFile(path, wav);
          result.path = path;
        } catch (err) {
          const text = err instanceof Error ? err.message : String(err);
          result.error = text.length > WRITE_ERROR_MAX ? text.slice(0, WRITE_ERROR_MAX - 1) + "…" : text;
        }
      }
      return result;
    });
  }

  get active(): boolean {
    return this.recorder.active;
  }

  /** A key the caller pressed (from the call's DTMF, any method). */
  key(digit: string): void {
    this.recorder.key(digit);
  }

  stop(): void {
    this.recorder.end("stop");
  }

  private listen(rtp: RtpStream): void {
    if (this.sessions.has(rtp) || !this.recorder.active) return;
    this.sessions.add(rtp);
    rtp.on("audio", this.onAudio);
  }

  private detach(): void {
    for (const rtp of this.sessions) rtp.off("audio", this.onAudio);
    this.sessions.clear();
    this.call.sdh?.off("rtp", this.onRtp);
    this.call.off("state", this.onState);
  }
}
