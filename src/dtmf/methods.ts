// The DTMF methods as a table, like the speech engines and the transports: per method, how keys
// are taken from a call and how they are sent on it. Call code looks a method up by name and
// never names one itself. A method sees the call only through a DtmfCallPort (call/call-dtmf.ts).

import type { FrameSource } from "../media/rtp-session";
import type { RtpStream } from "../media/worker/media-stream";
import { isDtmfMethod, type DtmfDigit, type WireDtmfMethod } from "../types";
import { InbandDtmfDetector } from "./inband-detector";
import { Rfc4733Receiver, Rfc4733Sender } from "./rfc4733";
import { buildSipInfoDtmf, parseSipInfoDtmf } from "./sip-info";
import { DtmfToneSource } from "./tone-generator";

export interface DtmfTiming {
  /** Length of each key, ms. */
  durationMs: number;
  /** Pause between keys, ms. */
  gapMs: number;
}

/** Packets or tones that take over a call's outgoing audio until `done`. */
export interface DtmfFrameSource extends FrameSource {
  /** True once the last frame has been handed out. */
  readonly done: boolean;
}

/** One call as the DTMF methods see it. */
export interface DtmfCallPort {
  /** Calls `listener` for each RTP session of the call (a re-INVITE may bring a new one). */
  onRtp(listener: (rtp: RtpStream) => void): void;
  /** Calls `listener` for each DTMF SIP INFO of the call (already answered). */
  onInfo(listener: (contentType: string, body: string) => void): void;
  /** Sends one SIP INFO in the call's dialog. */
  sendInfo(contentType: string, body: string): Promise<void>;
  /**
   * Plays `source` in front of what the call plays (`mix`: added to it, else replacing it);
   * resolves once its last frame is out or the call ended.
   */
  play(source: DtmfFrameSource, mix: boolean): Promise<void>;
}

/** Where a receiving method reports. */
export interface DtmfKeySink {
  key(digit: DtmfDigit): void;
  warning(text: string): void;
}

export interface DtmfMethodEntry {
  /** Starts taking this method's keys from one call; returns its per-call state (for diagnostics). */
  receive(call: DtmfCallPort, sink: DtmfKeySink): object | undefined;
  /** Sends `keys` (checked, upper case); resolves when they are out. */
  send(call: DtmfCallPort, keys: string, timing: DtmfTiming): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const METHODS: Readonly<Record<WireDtmfMethod, DtmfMethodEntry>> = {
  /** RFC 4733 telephone-events in the RTP stream. */
  rfc4733: {
    receive(call, sink) {
      const receiver = new Rfc4733Receiver(); // one per call: it de-duplicates across RTP sessions
      call.onRtp((rtp) =>
        rtp.on("event", (payload, info) => {
          const ev = receiver.receive(payload, info);
          if (ev) sink.key(ev.digit);
        }),
      );
      return receiver;
    },
    send: (call, keys, timing) => call.play(new Rfc4733Sender(keys, timing), false),
  },
  /** SIP INFO, application/dtmf-relay (sent) or application/dtmf (also received). */
  info: {
    receive(call, sink) {
      call.onInfo((contentType, body) => {
        const parsed = parseSipInfoDtmf(contentType, body);
        if (parsed.ok) sink.key(parsed.digit);
        else sink.warning(`ignored a SIP INFO DTMF body: ${parsed.error}`);
      });
      return undefined;
    },
    async send(call, keys, { durationMs, gapMs }) {
      for (const k of keys) {
        const { contentType, body } = buildSipInfoDtmf(k, "dtmf-relay", durationMs);
        await call.sendInfo(contentType, body);
        await sleep(durationMs + gapMs);
      }
    },
  },
  /** Tones in the audio, mixed with what plays. */
  inband: {
    receive(call, sink) {
      const detector = new InbandDtmfDetector(); // only built when the method is on: it costs CPU
      call.onRtp((rtp) => {
        // The media worker decodes and detects where the packets are; an in-thread session is listened to here.
        if (rtp.detectInband) rtp.detectInband((digit) => sink.key(digit));
        else
          rtp.on("audio", (pcm) => {
            for (const d of detector.process(pcm)) sink.key(d.digit);
          });
      });
      return detector;
    },
    send: (call, keys, timing) => call.play(new DtmfToneSource(keys, timing), true),
  },
};

/** The entry of a method; undefined for a name that is not one. */
export function dtmfMethod(name: string): DtmfMethodEntry | undefined {
  return isDtmfMethod(name) ? METHODS[name] : undefined;
}
