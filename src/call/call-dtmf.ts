// DTMF of one call: every enabled receive method at once (RFC 4733 events, SIP INFO,
// in-band tones in the received audio; see dtmf/methods.ts), merged by the collector so a
// key sent two ways counts once; and sending by the configured method.

import { EventEmitter } from "events";
import { Info } from "sip.js";
import { Call, FrameOverride } from "./call";
import { DigitCollector, CollectedDigit } from "../dtmf/collector";
import { dtmfMethod, type DtmfCallPort, type DtmfFrameSource } from "../dtmf/methods";
import { normalizeDigit } from "../dtmf/tone-generator";
import type { RtpStream } from "../media/worker/media-stream";
import { DTMF_METHODS, type CallState, type DtmfMethod, type WireDtmfMethod } from "../types";
import { addSessionDelegate } from "../sip/session-delegates";
import { dialogInternals } from "../sip/sipjs-internals";

export interface DtmfOptions {
  receive: DtmfMethod[];
  send: DtmfMethod;
  durationMs: number;
  gapMs: number;
}

/**
 * How far below the dialog's highest remote CSeq a late DTMF INFO is still taken (a burst reordered
 * by a multi-worker proxy is a few requests deep); also how many INFO CSeqs are remembered per call
 * so a late one is taken once.
 */
export const LATE_INFO_WINDOW = 32;

export const DEFAULT_DTMF: DtmfOptions = { receive: [...DTMF_METHODS], send: "rfc4733", durationMs: 100, gapMs: 80 };

export interface CallDtmfEvents {
  digit: [digit: CollectedDigit];
  warning: [text: string];
}

export class CallDtmf extends EventEmitter<CallDtmfEvents> {
  private readonly collector: DigitCollector;
  /** Per enabled method, its receiving state (bounded by the method; read by tests). */
  private readonly receivers = new Map<DtmfMethod, object | undefined>();
  private readonly rtpListeners: ((rtp: RtpStream) => void)[] = [];
  private readonly infoListeners: ((contentType: string, body: string) => void)[] = [];
  /** The call as the DTMF methods see it. */
  private readonly port: DtmfCallPort = {
    onRtp: (listener) => {
      this.rtpListeners.push(listener);
    },
    onInfo: (listener) => {
      this.infoListeners.push(listener);
    },
    sendInfo: async (contentType, body) => {
      await this.call.session.info({ requestOptions: { body: { contentDisposition: "render", contentType, content: body } } });
    },
    play: (source, mix) => this.play(source, mix),
  };
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly call: Call,
    private readonly opts: DtmfOptions,
  ) {
    super();
    this.collector = new DigitCollector({ methods: opts.receive, terminator: "", interDigitTimeoutMs: 0, maxLength: 0 });
    this.collector.on("digit", (d) => this.emit("digit", d));
    for (const name of new Set(opts.receive)) {
      const method = dtmfMethod(name);
      if (!method) continue;
      this.receivers.set(
        name,
        method.receive(this.port, {
          key: (digit) => this.collector.add(digit, name),
          warning: (text) => this.emit("warning", text),
        }),
      );
    }
    call.on("media", (sdh) => {
      sdh.on("rtp", (rtp) => {
        for (const listener of this.rtpListeners) listener(rtp);
      });
    });
    addSessionDelegate(call.session, "onInfo", (info: Info) => this.onInfo(info));
    call.on("state", (s) => {
      if (s === "ANSWERED") acceptLateDtmfInfo(call.session.dialog);
      if (s === "ENDED") this.collector.close();
    });
  }

  private onInfo(info: Info): void {
    const req = info.request;
    const type = req.getHeader("content-type") ?? "";
    if (!/application\/dtmf/i.test(type)) {
      info.reject({ statusCode: 415 }).catch(() => undefined);
      return;
    }
    info.accept().catch(() => undefined);
    for (const listener of this.infoListeners) listener(type, req.body ?? "");
  }

  /** A key of the editor's call simulator (call/simulated-call.ts), taken as if received; method "simulated". */
  inject(digit: string): void {
    const key = normalizeDigit(digit);
    if (!key) throw new Error(`"${printableKey(digit)}" is not a DTMF key (use 0-9, *, #, A-D)`);
    this.collector.add(key, "simulated");
  }

  /** Sends digits (0-9 * # A-D) by the configured method (or `method`); resolves when they are out. */
  send(digits: string, method?: WireDtmfMethod): Promise<void> {
    const clean = [...String(digits)].filter((c) => !/\s|,/.test(c));
    const bad = clean.find((c) => normalizeDigit(c) === null);
    if (clean.length === 0) return Promise.reject(new Error("dtmf: no digits to send"));
    if (bad) return Promise.reject(new Error(`dtmf: "${bad}" is not a DTMF key (use 0-9, *, #, A-D)`));
    if (this.call.state !== "ANSWERED") return Promise.reject(new Error(`dtmf: the call is ${this.call.state}, not ANSWERED`));
    const keys = clean.map((c) => normalizeDigit(c)!).join("");
    // One sequence at a time, in order.
    const job = this.sending.then(() => this.sendNow(keys, method));
    this.sending = job.catch(() => undefined);
    return job;
  }

  private async sendNow(keys: string, chosen?: WireDtmfMethod): Promise<void> {
    const { durationMs, gapMs } = this.opts;
    const send = chosen ?? this.opts.send;
    // An unknown name sends by the default method, as the option always did.
    const method = dtmfMethod(send) ?? dtmfMethod(DEFAULT_DTMF.send)!;
    return method.send(this.port, keys, { durationMs, gapMs });
  }

  /**
   * Puts `source` in front of the call's audio and resolves right after the pacer took its last
   * frame (or when the call ends), so the next sequence follows without a polling delay.
   */
  private play(source: DtmfFrameSource, mix: boolean): Promise<void> {
    const call = this.call;
    return new Promise<void>((resolve) => {
      if (!call.active) {
        resolve();
        return;
      }
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        call.off("state", onState);
        call.removeOverride(override);
        resolve();
      };
      const onState = (state: CallState) => {
        if (state === "ENDED") finish();
      };
      let last = false;
      const override: FrameOverride = {
        mix,
        nextFrame: () => {
          const frame = source.nextFrame();
          if (source.done && !last) {
            // Out of the way at once; resolved when the last frame has been sent (frames are pulled ahead).
            last = true;
            call.removeOverride(override);
            call.whenPlayed(finish);
          }
          return frame;
        },
      };
      call.on("state", onState);
      call.addOverride(override);
    });
  }
}

function printableKey(text: string): string {
  return String(text)
    .replace(/[^\x20-\x7e]/g, "?")
    .slice(0, 8);
}

/**
 * sip.js answers an in-dialog request whose CSeq is not above the highest seen 500 (RFC 3261
 * §12.2.2), so a DTMF INFO overtaken by the next one loses its key. For this dialog only, a late
 * DTMF INFO (not seen before, within LATE_INFO_WINDOW) is let through sip.js's normal INFO path by
 * lowering the remote CSeq for that one synchronous call and restoring it right after. Anything
 * else keeps sip.js's rule. If sip.js's internals are not as expected, nothing is changed.
 */
export function acceptLateDtmfInfo(dialog: unknown): boolean {
  const d = dialogInternals(dialog);
  if (!d) return false;
  const seen: number[] = [];
  const remember = (cseq: number) => {
    seen.push(cseq);
    if (seen.length > LATE_INFO_WINDOW) seen.shift();
  };
  d.wrapReceiveRequest((message, original) => {
    const highest = d.remoteSequenceNumber();
    const isDtmfInfo = message.method === "INFO" && /^\s*application\/dtmf(-relay)?\s*(;|$)/i.test(message.getHeader("content-type") ?? "");
    if (!isDtmfInfo) return original(message);
    const late = highest !== undefined && message.cseq < highest && message.cseq > highest - LATE_INFO_WINDOW && !seen.includes(message.cseq);
    if (!late) {
      if (highest === undefined || message.cseq > highest) remember(message.cseq);
      return original(message);
    }
    remember(message.cseq);
    d.setRemoteSequenceNumber(message.cseq - 1);
    try {
      original(message);
    } finally {
      d.setRemoteSequenceNumber(Math.max(highest, d.remoteSequenceNumber() ?? 0));
    }
  });
  return true;
}
