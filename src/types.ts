// Message and option shapes shared by the core and the Node-RED nodes.
// These words are the user-facing contract: keep them stable.

export type RegistrationState = "INACTIVE" | "REGISTERING" | "REGISTERED" | "DEREGISTERING" | "FAILED";
export type CallState = "DIALING" | "RINGING" | "ANSWERED" | "ENDED";
export type CallDirection = "inbound" | "outbound";
/**
 * How a key arrived: one of the DTMF_METHODS of the wire, or "simulated" (a key of the editor's call
 * simulator, src/call/simulated-call.ts: no SIP; never a method one can configure, send or turn off).
 */
export type DtmfMethod = WireDtmfMethod | "simulated";
/** A DTMF method on the wire. */
export type WireDtmfMethod = "rfc4733" | "info" | "inband";
/** Every DTMF method name of the wire (each has an entry in src/dtmf/methods.ts). */
export const DTMF_METHODS: readonly WireDtmfMethod[] = ["rfc4733", "info", "inband"];

/** True for a DTMF method name as listed in DTMF_METHODS. */
export function isDtmfMethod(value: unknown): value is WireDtmfMethod {
  return typeof value === "string" && (DTMF_METHODS as readonly string[]).includes(value);
}
export type Codec = "PCMU" | "PCMA";
export type TransportKind = "udp" | "tcp" | "tls" | "ws" | "wss";
/** RTP source policy: "strict" = only the SDP's address:port; "latch" = NAT latching after the answer (see MediaOptions). */
export type RtpSecurity = "strict" | "latch";
/** SRTP per account (AccountOptions.srtp): "off" (plain RTP), "optional" (best effort), "mandatory" (refuse plain). */
export type SrtpMode = "off" | "optional" | "mandatory";
/** Whose codec order picks the codec when we answer an offer (see MediaOptions.codecOrder). */
export type CodecOrder = "caller" | "mine";

/** A DTMF key: 0-9, *, #, A-D. */
export type DtmfDigit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "*" | "#" | "A" | "B" | "C" | "D";
/** Every key, in RFC 4733 event-code order: DTMF_DIGITS[event] is the key of events 0-15. */
export const DTMF_DIGITS: readonly DtmfDigit[] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D"];

/** True for exactly one key as listed in DTMF_DIGITS (upper case). */
export function isDtmfDigit(value: unknown): value is DtmfDigit {
  return typeof value === "string" && (DTMF_DIGITS as readonly string[]).includes(value);
}

/** One side of a call. */
export interface CallParty {
  /** The caller's number: asserted (PAI/RPID from the registrar) or the From's user; "" = none (anonymous). */
  number: string;
  name: string;
  /** The From (or To) header's URI, as sent. */
  uri: string;
  /** Caller of an inbound call: the number is withheld or unknown, or privacy was requested. */
  anonymous?: boolean;
  /** Caller of an inbound call: where number and name come from (P-Asserted-Identity, Remote-Party-ID, From). */
  source?: "pai" | "rpid" | "from";
  /** Caller of an inbound call, source "pai"/"rpid": the asserted URI. */
  identityUri?: string;
}

/** How a call ended. */
export type CallOutcome =
  | "completed" // it was answered; hungUpBy says who ended it
  | "busy"
  | "no-answer"
  | "rejected"
  | "cancelled" // the caller gave up before we answered
  | "failed" // statusCode/reason say why
  | "codec-mismatch"
  | "rtp-timeout";

/**
 * Who holds an answered call: "local" (we did, topic "hold"), "remote" (the peer offered
 * sendonly/inactive), "both", or false.
 */
export type CallHold = false | "local" | "remote" | "both";

/** `msg.call` on every call, playback and DTMF message. */
export interface CallInfo {
  id: string;
  direction: CallDirection;
  state: CallState;
  from: CallParty;
  to: CallParty;
  startedAt: string;
  ringingAt?: string;
  answeredAt?: string;
  endedAt?: string;
  durationSeconds?: number;
  codec?: Codec;
  /**
   * Early media: audio flows before the answer (inbound: we answered the INVITE with 183 + SDP, topic
   * "progress", the earlyMedia option or ringback; outbound: the callee's 180/183 carried SDP). Set on the
   * RINGING message that reports it (a call already RINGING gets a second RINGING message) and kept after.
   */
  earlyMedia?: boolean;
  /** Hold state (see CallHold); false until someone holds. Set on every call's snapshot. */
  hold?: CallHold;
  outcome?: CallOutcome;
  hungUpBy?: "local" | "remote";
  reason?: string;
  statusCode?: number;
  /** The media is SRTP (set once the offer/answer completed; false = plain RTP). */
  srtp?: boolean;
  /** At ENDED, when the call had media: RTP packets sent/received/lost and jitter. */
  stats?: CallStats;
  /** Inbound: the greeting table row that matched the caller (time, mode), if any. */
  rule?: MatchedRule;
  /** Outbound: the escalation (sip-call topic "alert") that placed this call. */
  alertId?: string;
  /** At ENDED, when the call had media: loss, jitter, round-trip time and estimated MOS from RTP and RTCP. */
  quality?: CallQualityInfo;
  /** A virtual call of the editor's call simulator (no SIP, no RTP); absent on real calls. */
  simulated?: boolean;
}

/**
 * `msg.quality` (topic "media", payload "quality") and `msg.call.quality` at ENDED: RTCP
 * (RFC 3550) statistics and an E-model MOS (ITU-T G.107, G.711; see docs/call-quality.md).
 */
export interface CallQualityInfo {
  /** Estimated MOS of the worse direction, 1-4.5 (2 decimals); null before any statistics. */
  mos: number | null;
  /** MOS of what we receive (our statistics) and of what the peer receives (its reports). */
  mosIn: number | null;
  mosOut: number | null;
  /** The stream we receive, since the call started: packets, lost (>= 0), loss in percent, jitter in ms. */
  packetsReceived: number;
  packetsLost: number;
  lossPercent: number;
  jitterMs: number;
  /** Round-trip time from RTCP (LSR/DLSR), ms; null until the peer answered one of our sender reports. */
  rttMs: number | null;
  /** The peer's last report about our stream: loss (percent, last interval) and jitter (ms); null before one. */
  remoteLossPercent: number | null;
  remoteJitterMs: number | null;
  /** RTP packets we sent. */
  packetsSent: number;
  /** RTCP compounds received and read, received but unparsable, sent by us. */
  rtcpReceived: number;
  rtcpInvalid: number;
  rtcpSent: number;
  /** RTCP datagrams dropped unread: not from the media peer (see rtpSecurity), wrong port, or refused by SRTCP. */
  rtcpIgnored: number;
  /** RTCP shares the RTP port (rtcp-mux, RFC 5761). */
  rtcpMux: boolean;
}

/** `msg.call.rule`: the caller rule (greeting table row) that decided an incoming call. */
export interface MatchedRule {
  table: "greetings";
  /** 1 = first row. */
  index: number;
  /** The row's number pattern ("" = everybody). */
  pattern: string;
  action: "greet" | "reject";
  /** The current mode, when the row asks for one. */
  mode?: string;
  /** The row's time window, when it has one. */
  window?: { days?: string; from?: string; to?: string };
}

/** `msg.call.stats` at ENDED (RtpSession.callStats()). */
export interface CallStats {
  packetsSent: number;
  packetsReceived: number;
  /** Expected minus received on the peer's audio stream (RFC 3550 A.3), never negative. */
  packetsLost: number;
  /** Interarrival jitter of the peer's audio stream (RFC 3550 A.8), ms, one decimal. */
  jitterMs: number;
  /** Dropped: from another source than the peer's (see rtpSecurity). */
  packetsIgnored: number;
  /** SRTP calls only: packets dropped because they failed authentication or were replayed. */
  srtpFailed?: number;
}
