// A whole SIP phone for one account: registration (Phone), media (RTP handlers),
// calls (CallManager) and speech. This is what the sip-client config node builds.

import { EventEmitter } from "events";
import { Phone, PhoneEvents } from "./phone/phone";
import { AccountOptions } from "./phone/account";
import { createRtpSdhFactory } from "./media/session-description-handler";
import { CallManager, CallManagerEvents, Speaker } from "./call/call-manager";
import type { CallInfo, Codec, DtmfDigit, DtmfMethod, RtpSecurity } from "./types";
import { Call } from "./call/call";
import { CallDtmf, DEFAULT_DTMF, DtmfOptions } from "./call/call-dtmf";
import { DEFAULT_PORTS } from "./sip/transports";
import { uriHost } from "./sip/wire-rewriter";
import { routeSourceToward } from "./sip/local-address";

export interface MediaOptions {
  codecs?: Codec[];
  rtpPortMin?: number;
  rtpPortMax?: number;
  /** Hang up when no RTP arrives for this long (ms); 0 = never. */
  rtpTimeoutMs?: number;
  /**
   * Where RTP is accepted from. "latch" (default): the address in the peer's SDP, or, after the
   * answer, the first source at the SDP's or the signalling peer's IP (NAT), then locked with its SSRC.
   * "strict": only the exact address:port of the SDP.
   */
  rtpSecurity?: RtpSecurity;
}

export interface SoftphoneOptions {
  account: AccountOptions;
  media?: MediaOptions;
  speech: Speaker;
  defaultLanguage?: string;
  maxCalls?: number;
  maxDurationSeconds?: number;
  ringTimeoutSeconds?: number;
  logSip?: boolean;
  dtmf?: Partial<DtmfOptions>;
}

export interface SoftphoneEvents {
  dtmf: [digit: DtmfDigit, method: DtmfMethod, call: CallInfo];
}

export function parseCodecList(value: string | Codec[] | undefined): Codec[] {
  const list = (Array.isArray(value) ? value : String(value ?? "PCMA,PCMU").split(/[,\s]+/))
    .map((c) => c.trim().toUpperCase())
    .filter((c): c is Codec => c === "PCMU" || c === "PCMA");
  return list.length ? [...new Set(list)] : ["PCMA", "PCMU"];
}

/** Where plain numbers are dialed: the AOR domain, or the server with its port when that is not the default. */
export function dialDomain(a: AccountOptions): string {
  if (a.domain?.trim()) return a.domain.trim();
  const t = a.transport ?? "udp";
  const port = Number(a.port) || DEFAULT_PORTS[t];
  const host = uriHost(a.server);
  return port === DEFAULT_PORTS[t] ? host : `${host}:${port}`;
}

export class Softphone extends EventEmitter<PhoneEvents & CallManagerEvents & SoftphoneEvents> {
  private readonly dtmfByCall = new WeakMap<Call, CallDtmf>();
  readonly phone: Phone;
  readonly calls: CallManager;

  constructor(opts: SoftphoneOptions) {
    super();
    const codecs = parseCodecList(opts.media?.codecs);
    let calls: CallManager | undefined;
    let phone: Phone | undefined;
    const factory = createRtpSdhFactory({
      codecs,
      portMin: opts.media?.rtpPortMin ?? 16384,
      portMax: opts.media?.rtpPortMax ?? 32767,
      bindAddress: opts.account.localAddress || undefined,
      advertisedAddress: () => phone?.transport.local?.address ?? "127.0.0.1",
      addressToward: (ip) => routeSourceToward(ip),
      rtpTimeoutMs: opts.media?.rtpTimeoutMs ?? 60_000,
      rtpSecurity: opts.media?.rtpSecurity ?? "latch",
      // RTP relays next to the PBX may latch: the resolved next hop and the registrar (if an IP).
      signallingHosts: () => [phone?.transport.nextHop?.address, opts.account.server?.trim()].filter((h): h is string => !!h),
    }, { onSession: (sdh) => calls?.onMediaHandler(sdh) });
    phone = new Phone(opts.account, {
      sessionDescriptionHandlerFactory: factory,
      delegate: { onInvite: (inv) => calls?.onInvite(inv) },
      logSip: opts.logSip,
    });
    this.phone = phone;
    calls = new CallManager({
      userAgent: phone.userAgent,
      domain: dialDomain(opts.account),
      codecs,
      speech: opts.speech,
      defaultLanguage: opts.defaultLanguage,
      maxCalls: opts.maxCalls,
      maxDurationSeconds: opts.maxDurationSeconds,
      ringTimeoutSeconds: opts.ringTimeoutSeconds,
    });
    this.calls = calls;
    phone.on("registration", (s, d) => this.emit("registration", s, d));
    phone.on("log", (l, t) => this.emit("log", l, t));
    phone.on("sip", (d, t, p) => this.emit("sip", d, t, p));
    calls.on("call", (s, c) => this.emit("call", s, c));
    calls.on("playback", (w, c, l, i) => this.emit("playback", w, c, l, i));
    const dtmfOptions: DtmfOptions = { ...DEFAULT_DTMF, ...opts.dtmf };
    calls.on("created", (c) => {
      const dtmf = new CallDtmf(c, dtmfOptions);
      this.dtmfByCall.set(c, dtmf);
      dtmf.on("digit", (d) => this.emit("dtmf", d.digit, d.method, c.snapshot()));
      dtmf.on("warning", (t) => this.emit("log", "warn", t));
      this.emit("created", c);
    });
    calls.on("log", (l, t) => this.emit("log", l, t));
  }

  start(): Promise<void> { return this.phone.start(); }

  /** Sends DTMF into an answered call by the account's send method. */
  sendDtmf(call: Call, digits: string): Promise<void> {
    const dtmf = this.dtmfByCall.get(call);
    if (!dtmf) return Promise.reject(new Error("dtmf: unknown call"));
    return dtmf.send(digits);
  }

  async stop(timeoutMs = 2000): Promise<void> {
    await this.calls.close();
    await this.phone.stop(timeoutMs);
  }
}
