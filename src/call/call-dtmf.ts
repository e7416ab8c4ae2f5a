// DTMF of one call: every receive method at once (RFC 4733 events, SIP INFO,
// in-band tones in the received audio), merged by the collector so a key sent two
// ways counts once; and sending by the configured method.

import { EventEmitter } from "events";
import { Info } from "sip.js";
import { Call, FrameOverride } from "./call";
import { DigitCollector, CollectedDigit } from "../dtmf/collector";
import { Rfc4733Receiver, Rfc4733Sender } from "../dtmf/rfc4733";
import { InbandDtmfDetector } from "../dtmf/inband-detector";
import { DtmfToneSource, normalizeDigit } from "../dtmf/tone-generator";
import { buildSipInfoDtmf, parseSipInfoDtmf } from "../dtmf/sip-info";
import type { DtmfMethod } from "../types";
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

export const DEFAULT_DTMF: DtmfOptions = { receive: ["rfc4733", "info", "inband"], send: "rfc4733", durationMs: 100, gapMs: 80 };

export interface CallDtmfEvents {
  digit: [digit: CollectedDigit];
  warning: [text: string];
}

export class CallDtmf extends EventEmitter<CallDtmfEvents> {
  private readonly collector: DigitCollector;
  private readonly rfc4733 = new Rfc4733Receiver();
  private readonly inband?: InbandDtmfDetector;
  private sending: Promise<void> = Promise.resolve();

  constructor(private readonly call: Call, private readonly opts: DtmfOptions) {
    super();
    this.collector = new DigitCollector({ methods: opts.receive, terminator: "", interDigitTimeoutMs: 0, maxLength: 0 });
    this.collector.on("digit", (d) => this.emit("digit", d));
    if (opts.receive.includes("inband")) this.inband = new InbandDtmfDetector();
    call.on("media", (sdh) => {
      sdh.on("rtp", (rtp) => {
        rtp.on("event", (payload, info) => {
          const ev = this.rfc4733.receive(payload, info);
          if (ev) this.collector.add(ev.digit, "rfc4733");
        });
        if (this.inband) {
          const detector = this.inband;
          rtp.on("audio", (pcm) => {
            for (const d of detector.process(pcm)) this.collector.add(d.digit, "inband");
          });
        }
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
    const parsed = parseSipInfoDtmf(type, req.body ?? "");
    info.accept().catch(() => undefined);
    if (!parsed.ok) { this.emit("warning", `ignored a SIP INFO DTMF body: ${parsed.error}`); return; }
    this.collector.add(parsed.digit, "info");
  }

  /** Sends digits (0-9 * # A-D) by the configured method; resolves when they are out. */
  send(digits: string): Promise<void> {
    const clean = [...String(digits)].filter((c) => !/\s|,/.test(c));
    const bad = clean.find((c) => normalizeDigit(c) === null);
    if (clean.length === 0) return Promise.reject(new Error("dtmf: no digits to send"));
    if (bad) return Promise.reject(new Error(`dtmf: "${bad}" is not a DTMF key (use 0-9, *, #, A-D)`));
    if (this.call.state !== "ANSWERED") return Promise.reject(new Error(`dtmf: the call is ${this.call.state}, not ANSWERED`));
    const keys = clean.map((c) => normalizeDigit(c)!).join("");
    // One sequence at a time, in order.
    const job = this.sending.then(() => this.sendNow(keys));
    this.sending = job.catch(() => undefined);
    return job;
  }

  private async sendNow(keys: string): Promise<void> {
    const { send, durationMs, gapMs } = this.opts;
    if (send === "info") {
      for (const k of keys) {
        const { contentType, body } = buildSipInfoDtmf(k, "dtmf-relay", durationMs);
        await this.call.session.info({ requestOptions: { body: { contentDisposition: "render", contentType, content: body } } });
        await new Promise((r) => setTimeout(r, durationMs + gapMs));
      }
      return;
    }
    const src: FrameOverride & { done: boolean } = send === "inband"
      ? Object.assign(new DtmfToneSource(keys, { durationMs, gapMs }), { mix: true })
      : new Rfc4733Sender(keys, { durationMs, gapMs });
    await new Promise<void>((resolve) => {
      this.call.addOverride(src);
      const poll = setInterval(() => {
        if (src.done || !this.call.active) {
          clearInterval(poll);
          this.call.removeOverride(src);
          resolve();
        }
      }, 20);
    });
  }
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
  const remember = (cseq: number) => { seen.push(cseq); if (seen.length > LATE_INFO_WINDOW) seen.shift(); };
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
