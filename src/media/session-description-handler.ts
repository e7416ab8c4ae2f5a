// sip.js SessionDescriptionHandler for plain RTP/AVP G.711 (no WebRTC).
//
// sip.js drives it as follows:
//   incoming offer (INVITE, re-INVITE, offer in 2xx):  setDescription(offer) then getDescription() -> answer
//   our offer (INVITE, late-offer 200 OK, re-INVITE):   getDescription() -> offer, later setDescription(answer)
//   our offer rejected (non-2xx to re-INVITE):         rollbackDescription()
// So whether a description is an offer or an answer follows from whether we
// have an outstanding local offer.
import { EventEmitter } from "events";
import { Inviter, SessionState } from "sip.js";
import type {
  BodyAndContentType,
  Session,
  SessionDescriptionHandler,
  SessionDescriptionHandlerFactory,
  SessionDescriptionHandlerModifier,
  SessionDescriptionHandlerOptions,
} from "sip.js";
import type { Codec, CodecOrder, RtpSecurity } from "../types";
import { addSessionDelegate } from "../sip/session-delegates";
import type { MediaDirection } from "./direction";
import { isIPv6 } from "net";
import { type FrameSource, isUnspecified, normalizeIp } from "./rtp-session";
import { createCrypto, createOfferCryptos, type SdesAgreement, type SdesCrypto } from "./sdes";
import { PLAIN_PROFILE, SRTP_OFF, isRefusal, planOffer, type SrtpPolicy } from "./srtp-policy";
import { inThreadMediaOpener, type RtcpView, type RtpMedia, type RtpMediaOpener, type RtpStream, type SrtpKeys } from "./worker/media-stream";
import { openWorkerMedia } from "./worker/media-pool";
import type { Pacer } from "./pacer";

import {
  type LocalOffer,
  type NegotiatedMedia,
  type NegotiationFailureReason,
  type NegotiationResult,
  type SessionDescription,
  DEFAULT_CODEC_ORDER,
  DEFAULT_TELEPHONE_EVENT_PT,
  SdpOriginState,
  acceptAnswer,
  buildAnswer,
  buildOffer,
  negotiate,
  parseSdp,
  sdpAddress,
} from "./sdp";

export const SDP_CONTENT_TYPE = "application/sdp";

export interface RtpSdhOptions {
  /** Codecs in order of preference. */
  codecs: Codec[];
  /** Whose order picks the codec when we answer an offer; default DEFAULT_CODEC_ORDER ("caller"). */
  codecOrder?: CodecOrder;
  portMin: number;
  portMax: number;
  bindAddress?: string;
  /** Our IP as the peer should see it (c= and o= lines); asked each time a description is built. */
  advertisedAddress: () => string;
  /**
   * Our address toward a peer media address of the other IP family than advertisedAddress (the
   * source of the route to it), or undefined when there is none: an answer to an IPv6 offer then
   * says IN IP6 with that address even when the signalling runs over IPv4 (and the reverse).
   */
  addressToward?: (peerIp: string) => Promise<string | undefined>;
  rtpTimeoutMs?: number;
  /** RTP source policy (see MediaOptions.rtpSecurity); default "latch". */
  rtpSecurity?: RtpSecurity;
  /**
   * IPs of the registrar and outbound proxy: in "latch" mode RTP from them may latch after the
   * answer (media relays next to the PBX). The dialog's remote target host is added per call.
   */
  signallingHosts?: () => readonly string[];
  /** Where RTP and RTCP run; default the media worker (openWorkerMedia), the only path at run time. */
  openMedia?: RtpMediaOpener;
  /** Unit tests only: RTP in this thread on this pacer (ticked by hand), instead of the worker. */
  pacer?: Pacer;
  /** Payload type we offer for RFC 4733 events (default 101; null = none). */
  telephoneEventPt?: number | null;
  /** SRTP policy of a call (srtp-policy.ts srtpPolicyFor: mode, and whether its signalling may carry keys); default off. */
  srtp?: (session: Session | null) => SrtpPolicy;
}

export interface RtpSdhHooks {
  /** Called for every handler the factory creates (before any description is exchanged). */
  onSession?(sdh: RtpSessionDescriptionHandler): void;
}

/** sip.js passes these through Session.invite({ sessionDescriptionHandlerOptions }). */
export interface RtpSdhDescriptionOptions extends SessionDescriptionHandlerOptions {
  /** true: put the peer on hold (we offer sendonly); false: resume. Sticky until changed. */
  hold?: boolean;
}

export interface RtpSdhEvents {
  /** The RTP socket was opened (lazily, on first offer/answer). */
  rtp: [rtp: RtpStream];
  /** Its RTCP (right after "rtp"). */
  rtcp: [rtcp: RtcpView];
  /** An offer/answer exchange completed or a new offer was applied. */
  negotiated: [media: NegotiatedMedia];
  /** The answer to our offer was refused (sip.js then ACKs and sends BYE): why, for the call's reason. */
  refused: [error: NoCommonCodecError];
  close: [];
}

/** setDescription rejects with this when the peer's SDP is unusable (the call layer answers 488). */
export class NoCommonCodecError extends Error {
  override readonly name = "NoCommonCodecError";
  constructor(
    readonly reason: NegotiationFailureReason,
    detail?: string,
  ) {
    super(detail ? `${reason}: ${detail}` : reason);
  }
}

/** Same name as sip.js's own error so its logs read the same. */
export class ClosedSessionDescriptionHandlerError extends Error {
  override readonly name = "ClosedSessionDescriptionHandlerError";
  constructor() {
    super("The session description handler is closed.");
  }
}

/** Lets the call layer answer 488 before accepting an INVITE. */
export function precheckOffer(sdp: string, codecs: Codec[], srtp: SrtpPolicy = SRTP_OFF): NegotiationResult {
  return negotiate(sdp, codecs, "sendrecv", "mine", { policy: srtp });
}

type ModifiableDescription = { type: string; sdp?: string };
type Modifier = (d: ModifiableDescription) => Promise<ModifiableDescription>;

async function applyModifiers(sdp: string, type: "offer" | "answer", modifiers?: SessionDescriptionHandlerModifier[]): Promise<string> {
  let description: ModifiableDescription = { type, sdp };
  for (const modifier of modifiers ?? []) description = await (modifier as unknown as Modifier)(description);
  return description.sdp ?? sdp;
}

export class RtpSessionDescriptionHandler extends EventEmitter<RtpSdhEvents> implements SessionDescriptionHandler {
  private readonly options: RtpSdhOptions;
  private readonly origin = new SdpOriginState();
  private media: RtpMedia | null = null;
  private rtpSession: RtpStream | null = null;
  private rtcpSession: RtcpView | null = null;
  private opening: Promise<RtpStream> | null = null;
  private frameSource: FrameSource | null = null;
  private pendingLocalOffer: LocalOffer | null = null;
  private pendingRemoteOffer: SessionDescription | null = null;
  private current: NegotiatedMedia | null = null;
  private localHold = false;
  /** Hold state before our pending offer changed it, restored if the offer is rejected. */
  private holdBeforeOffer: boolean | null = null;
  private closed = false;
  private confirmedDialog = false;
  /** The SRTP keys in use (ours and the peer's), null for plain RTP. */
  private sdes: SdesAgreement | null = null;

  /** The sip.js session this handler belongs to, if created by the factory. */
  readonly session: Session | null;

  constructor(options: RtpSdhOptions, session: Session | null = null) {
    super();
    if (options.codecs.length === 0) throw new Error("RtpSessionDescriptionHandler: at least one codec required");
    this.options = options;
    this.session = session;
    if (session) this.watchConfirmation(session);
  }

  /** The dialog is confirmed: RTP may flow to the SDP's address (see RtpSession.sendTarget). */
  get confirmed(): boolean {
    return this.confirmedDialog;
  }

  /** Marks the dialog confirmed (done by the session hooks; public for calls without sip.js). */
  confirm(): void {
    if (this.confirmedDialog || this.closed) return;
    this.confirmedDialog = true;
    this.rtpSession?.confirm();
  }

  /**
   * Outbound: the 2xx to our INVITE (Established). Inbound: Established comes when we send the 200,
   * before the caller proved its address with an ACK, so wait for the ACK (one of the session's
   * delegate hooks, see sip/session-delegates.ts).
   */
  private watchConfirmation(session: Session): void {
    if (session instanceof Inviter) {
      const onState = (state: SessionState) => {
        if (state === SessionState.Established) this.confirm();
        if (state === SessionState.Established || state === SessionState.Terminated) session.stateChange.removeListener(onState);
      };
      if (session.state === SessionState.Established) this.confirm();
      else session.stateChange.addListener(onState);
      return;
    }
    addSessionDelegate(session, "onAck", () => this.confirm());
  }

  /** Registrar/proxy IPs plus this dialog's remote target host. */
  private signallingHosts(): string[] {
    const hosts = [...(this.options.signallingHosts?.() ?? [])];
    try {
      const target = this.session?.dialog?.remoteTarget?.host;
      if (target) hosts.push(target);
    } catch {
      // no dialog yet
    }
    return hosts;
  }

  /** The RTP session, once opened. */
  get rtp(): RtpStream | null {
    return this.rtpSession;
  }

  /** RTCP of the call (reports, quality), once RTP is open. */
  get rtcp(): RtcpView | null {
    return this.rtcpSession;
  }

  /** Result of the last completed offer/answer. */
  get negotiated(): NegotiatedMedia | null {
    return this.current;
  }

  /** The media is SRTP (msg.call.srtp). */
  get srtp(): boolean {
    return this.sdes !== null;
  }

  /** Whether we hold the peer (set through the `hold` description option). */
  get onHold(): boolean {
    return this.localHold;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sets the audio source now or, if RTP is not open yet, as soon as it is. */
  setFrameSource(source: FrameSource | null): void {
    this.frameSource = source;
    this.rtpSession?.setFrameSource(source);
  }

  /**
   * Opens the RTP session if needed (normally done by the first offer/answer). Without a bind
   * address the socket's family follows ours (the address we advertise) and, on an incoming
   * offer, the peer's media address: either one IPv6 opens a dual-stack IPv6 socket.
   */
  openRtp(peerAddress?: string): Promise<RtpStream> {
    if (this.closed) return Promise.reject(new ClosedSessionDescriptionHandlerError());
    if (this.rtpSession) return Promise.resolve(this.rtpSession);
    if (!this.opening) {
      const { portMin, portMax, bindAddress, rtpTimeoutMs, rtpSecurity } = this.options;
      const signallingHosts = () => this.signallingHosts();
      const v6 = [this.advertised(), peerAddress ?? ""].some((a) => isIPv6(normalizeIp(a)));
      const family = v6 ? 6 : 4;
      const open = this.options.openMedia ?? (this.options.pacer ? inThreadMediaOpener(this.options.pacer) : openWorkerMedia);
      this.opening = open({ portMin, portMax, bindAddress, family, rtpTimeoutMs, security: rtpSecurity, signallingHosts }).then(
        (media) => {
          const rtp = media.rtp;
          if (this.closed) {
            media.rtcp.close();
            rtp.close();
            throw new ClosedSessionDescriptionHandlerError();
          }
          this.media = media;
          this.rtpSession = rtp;
          // SRTCP follows the RTP session's keys (setSrtp), where the packets are.
          this.rtcpSession = media.rtcp;
          if (this.confirmedDialog) rtp.confirm();
          rtp.setFrameSource(this.frameSource);
          this.emit("rtp", rtp);
          this.emit("rtcp", this.rtcpSession);
          return rtp;
        },
        (err: unknown) => {
          this.opening = null; // allow a retry with the next description
          throw err;
        },
      );
    }
    return this.opening;
  }

  hasDescription(contentType: string): boolean {
    return contentType.split(";")[0].trim().toLowerCase() === SDP_CONTENT_TYPE;
  }

  async getDescription(options?: RtpSdhDescriptionOptions, modifiers?: SessionDescriptionHandlerModifier[]): Promise<BodyAndContentType> {
    this.assertOpen();
    const heldBefore = this.localHold;
    this.applyHoldOption(options);
    const rtp = await this.openRtp();
    const address = this.advertised();
    let sdp: string;
    let type: "offer" | "answer";
    if (this.pendingRemoteOffer) {
      // Re-run so a hold option given with this call is honoured.
      const offer = this.pendingRemoteOffer;
      const result = negotiate(offer, this.options.codecs, this.localDirection(), this.codecOrder(), { policy: this.srtpPolicy() });
      if (!result.ok) throw new NoCommonCodecError(result.reason, result.detail);
      this.apply(rtp, result);
      this.pendingRemoteOffer = null;
      const own = await this.answerAddress(address, result.remoteAddress);
      const crypto = this.sdes?.local ?? null;
      sdp = buildAnswer({ address: own, port: rtp.localPort, direction: result.direction, origin: this.origin, offer, negotiated: result, crypto });
      type = "answer";
    } else {
      const direction = this.localDirection();
      const telephoneEventPt = this.options.telephoneEventPt === undefined ? DEFAULT_TELEPHONE_EVENT_PT : this.options.telephoneEventPt;
      const { proto, cryptos } = this.offerProfile();
      sdp = buildOffer({
        address,
        port: rtp.localPort,
        direction,
        origin: this.origin,
        codecs: this.options.codecs,
        telephoneEventPt,
        proto,
        cryptos,
      });
      this.pendingLocalOffer = { codecs: this.options.codecs, direction, cryptos };
      this.holdBeforeOffer = heldBefore;
      type = "offer";
    }
    sdp = await applyModifiers(sdp, type, modifiers);
    this.assertOpen();
    return { body: sdp, contentType: SDP_CONTENT_TYPE };
  }

  async setDescription(sdp: string, options?: RtpSdhDescriptionOptions, modifiers?: SessionDescriptionHandlerModifier[]): Promise<void> {
    this.assertOpen();
    this.applyHoldOption(options);
    const isAnswer = this.pendingLocalOffer !== null;
    const text = await applyModifiers(sdp, isAnswer ? "answer" : "offer", modifiers);
    const parsed = parseSdp(text);
    const offered = this.pendingLocalOffer;
    this.pendingLocalOffer = null;
    this.holdBeforeOffer = null;
    const policy = this.srtpPolicy();
    const result: NegotiationResult = !parsed
      ? { ok: false, reason: "malformed" }
      : offered
        ? acceptAnswer(parsed, offered, policy)
        : negotiate(parsed, this.options.codecs, this.localDirection(), this.codecOrder(), { policy });
    if (!result.ok) {
      const error = new NoCommonCodecError(result.reason, result.detail);
      if (offered) this.emit("refused", error);
      throw error;
    }
    const rtp = await this.openRtp(offered ? undefined : result.remoteAddress);
    this.assertOpen();
    assertReachable(rtp, result);
    // For an offer, media starts right away; getDescription() builds the matching answer.
    if (!offered && parsed) this.pendingRemoteOffer = parsed;
    this.apply(rtp, result);
  }

  /**
   * Early media of a call we dial: the answer in a 18x (RFC 3261 §13.2.1 allows it in an unreliable
   * provisional response; sip.js applies none with earlyMedia off). Media starts toward it now, but our
   * offer stays pending: the 2xx's answer (the same, or another fork's) completes the exchange as usual.
   * False when there is no offer pending, no RTP yet, or the SDP is unusable.
   */
  applyEarlyAnswer(sdp: string): boolean {
    const offered = this.pendingLocalOffer;
    const rtp = this.rtpSession;
    if (this.closed || !offered || !rtp) return false;
    try {
      const parsed = parseSdp(sdp);
      const result = parsed ? acceptAnswer(parsed, offered) : null;
      if (!result?.ok) return false;
      assertReachable(rtp, result);
      this.apply(rtp, result);
      return true;
    } catch {
      // Remote-controlled text: an unusable early answer only means no early media.
      return false;
    }
  }

  /** Our offer was rejected: keep the media state of the last completed exchange (and its hold). */
  rollbackDescription(): Promise<void> {
    if (this.pendingLocalOffer && this.holdBeforeOffer !== null) this.localHold = this.holdBeforeOffer;
    this.holdBeforeOffer = null;
    this.pendingLocalOffer = null;
    this.pendingRemoteOffer = null;
    return Promise.resolve();
  }

  /** RFC 4733 sending is done by the DTMF layer through the RTP frame source. */
  sendDtmf(): boolean {
    return false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pendingLocalOffer = null;
    this.pendingRemoteOffer = null;
    // The RTCP BYE goes out before the sockets close.
    this.rtcpSession?.close();
    this.rtpSession?.close();
    this.emit("close");
  }

  /**
   * The address of our answer: the advertised one, or, when the peer's media address is of the
   * other family, our address of that family toward it (so a phone that has only that family can
   * send to us); the advertised one when there is no such route or nothing to ask.
   */
  private async answerAddress(advertised: string, peer: string): Promise<string> {
    const want6 = isIPv6(normalizeIp(peer));
    // A configured bind address is the user's choice of address: keep it.
    if (isUnspecified(peer) || want6 === isIPv6(advertised) || !this.options.addressToward || this.options.bindAddress) return advertised;
    try {
      const own = await this.options.addressToward(peer);
      const a = own ? sdpAddress(own) : "";
      return a && isIPv6(a) === want6 && !isUnspecified(a) && this.rtpSession?.canReach(a) ? a : advertised;
    } catch {
      return advertised;
    }
  }

  /** Our media address for c=/o= (see sdpAddress). */
  private advertised(): string {
    return sdpAddress(this.options.advertisedAddress());
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedSessionDescriptionHandlerError();
  }

  private applyHoldOption(options?: RtpSdhDescriptionOptions): void {
    if (options && typeof options.hold === "boolean") this.localHold = options.hold;
  }

  private codecOrder(): CodecOrder {
    return this.options.codecOrder ?? DEFAULT_CODEC_ORDER;
  }

  private localDirection(): MediaDirection {
    return this.localHold ? "sendonly" : "sendrecv";
  }

  private srtpPolicy(): SrtpPolicy {
    try {
      return this.options.srtp?.(this.session) ?? SRTP_OFF;
    } catch {
      return SRTP_OFF;
    }
  }

  /**
   * Profile and keys of our offer: a re-offer (hold, resume) keeps what the call has (our current
   * key, RFC 4568 section 7.1.4); a first offer follows the policy (mandatory without TLS: refused).
   */
  private offerProfile(): { proto: string; cryptos: SdesCrypto[] } {
    if (this.current) return this.sdes ? { proto: this.current.proto, cryptos: [this.sdes.local] } : { proto: PLAIN_PROFILE, cryptos: [] };
    const plan = planOffer(this.srtpPolicy());
    if (isRefusal(plan)) throw new NoCommonCodecError(plan.refuse, plan.detail);
    return { proto: plan.proto, cryptos: plan.crypto ? createOfferCryptos() : [] };
  }

  /** The keys of a negotiation: unchanged ones are kept (their SRTP state with them), new ones replace them. */
  private agreementFor(media: NegotiatedMedia): SdesAgreement | null {
    const sdes = media.sdes;
    if (!sdes) return null;
    const current = this.sdes;
    if (sdes.local) {
      const next = { local: sdes.local, remote: sdes.remote };
      return current && sameKey(current.local, next.local) && sameKey(current.remote, next.remote) ? current : next;
    }
    // An offer: our answer keeps our key while the peer keeps its line, else a fresh key of the chosen suite.
    if (current && sameKey(current.remote, sdes.remote)) return current;
    return { local: createCrypto(sdes.remote.tag, sdes.remote.suite), remote: sdes.remote };
  }

  private apply(rtp: RtpStream, media: NegotiatedMedia): void {
    const agreement = this.agreementFor(media);
    if (agreement !== this.sdes) {
      this.sdes = agreement;
      this.media?.setSrtp(agreement ? srtpKeys(agreement) : null);
    }
    rtp.setRemote({
      address: media.remoteAddress,
      port: media.remotePort,
      codec: media.codec,
      payloadType: media.payloadType,
      telephoneEventPt: media.telephoneEventPt,
      direction: media.direction,
    });
    this.rtcpSession?.setPeer(media.rtcp);
    this.current = media;
    this.emit("negotiated", media);
  }
}

/**
 * Refuses a peer media address our socket cannot send to: an IPv6 answer to the offer of an IPv4
 * socket, or an address of the other family than a configured bind address. (An incoming offer
 * without a bind address never gets here: its socket opens dual-stack when either side is IPv6.)
 */
function assertReachable(rtp: RtpStream, media: NegotiatedMedia): void {
  const a = media.remoteAddress;
  if (media.remotePort === 0 || isUnspecified(a) || rtp.canReach(a)) return;
  throw new NoCommonCodecError(
    "no audio stream",
    `the peer's media address ${a} is of another IP family than this call's RTP socket (${rtp.socketType} on ${rtp.localAddress})`,
  );
}

/** The master keys of an agreement, for the contexts built where the packets are (never logged). */
function srtpKeys(a: SdesAgreement): SrtpKeys {
  const keys = (c: SdesCrypto) => ({ suite: c.suite, masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki ?? undefined });
  return { outbound: keys(a.local), inbound: keys(a.remote) };
}

function sameKey(a: SdesCrypto, b: SdesCrypto): boolean {
  return a.tag === b.tag && a.toAttributeValue() === b.toAttributeValue();
}

/** Builds the factory to put in sip.js's UserAgentOptions.sessionDescriptionHandlerFactory. */
export function createRtpSdhFactory(options: RtpSdhOptions, hooks: RtpSdhHooks = {}): SessionDescriptionHandlerFactory {
  return (session: Session) => {
    const sdh = new RtpSessionDescriptionHandler(options, session);
    hooks.onSession?.(sdh);
    return sdh;
  };
}
