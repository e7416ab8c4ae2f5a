// SDP (RFC 4566) parsing and offer/answer (RFC 3264) for one G.711 audio stream.
import { randomInt } from "crypto";
import type { Codec, CodecOrder } from "../types";
import { type MediaDirection, intersectDirections, isMediaDirection, reverseDirection } from "./direction";
import { FRAME_MS, SAMPLE_RATE } from "./audio-format";
import { payloadTypeOf } from "./g711";
import type { SdesCrypto } from "./sdes";
import { PLAIN_PROFILE, SECURE_PROFILE, SRTP_OFF, isRefusal, judgeAnswer, judgeOffer, type SrtpPolicy, type SrtpRefusalReason } from "./srtp-policy";

export interface SdpConnection {
  netType: string;
  addrType: string;
  /** Address without any /ttl suffix. */
  address: string;
}

export interface SdpOrigin {
  username: string;
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addrType: string;
  address: string;
}

export interface SdpRtpMap {
  encoding: string;
  clockRate: number;
  channels: number | null;
}

export interface SdpAttribute {
  name: string;
  value: string | null;
}

export interface SdpMedia {
  type: string;
  port: number;
  portCount: number | null;
  proto: string;
  formats: string[];
  connection: SdpConnection | null;
  rtpmap: Record<number, SdpRtpMap>;
  fmtp: Record<number, string>;
  ptime: number | null;
  maxptime: number | null;
  direction: MediaDirection | null;
  attributes: SdpAttribute[];
}

export interface SessionDescription {
  version: number;
  origin: SdpOrigin | null;
  sessionName: string;
  connection: SdpConnection | null;
  direction: MediaDirection | null;
  attributes: SdpAttribute[];
  media: SdpMedia[];
}

export const DEFAULT_TELEPHONE_EVENT_PT = 101;
export const PTIME_MS = FRAME_MS;
const SUPPORTED_PROTO = "RTP/AVP";

// ---------------------------------------------------------------- parsing

function parseConnection(value: string): SdpConnection | null {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 3) return null;
  // An IPv6 address never carries a /ttl (RFC 4566 §5.7: multicast IP6 has /layers only, and no
  // unicast address has a slash); brackets are not SDP but some peers write them.
  return { netType: parts[0], addrType: parts[1], address: parts[2].split("/")[0].replace(/^\[(.*)\]$/, "$1") };
}

function parseOrigin(value: string): SdpOrigin | null {
  const p = value.trim().split(/\s+/);
  if (p.length !== 6) return null;
  return { username: p[0], sessionId: p[1], sessionVersion: p[2], netType: p[3], addrType: p[4], address: p[5] };
}

function parseInteger(text: string): number | null {
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** Parses SDP text into a plain object; null if it is not well-formed SDP. */
export function parseSdp(text: string): SessionDescription | null {
  if (typeof text !== "string") return null;
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  if (lines.length === 0 || !/^v=0$/.test(lines[0])) return null;

  const sd: SessionDescription = {
    version: 0,
    origin: null,
    sessionName: "",
    connection: null,
    direction: null,
    attributes: [],
    media: [],
  };
  let media: SdpMedia | null = null;

  for (const line of lines.slice(1)) {
    const m = /^([a-z])=(.*)$/.exec(line);
    if (!m) return null;
    const [, type, value] = m;
    switch (type) {
      case "o":
        if (media) break;
        sd.origin = parseOrigin(value);
        if (!sd.origin) return null;
        break;
      case "s":
        if (!media) sd.sessionName = value;
        break;
      case "c": {
        const conn = parseConnection(value);
        if (!conn) return null;
        if (media) media.connection = conn;
        else sd.connection = conn;
        break;
      }
      case "m": {
        const mm = /^(\S+) (\d+)(?:\/(\d+))? (\S+)(?: +(.*))?$/.exec(value);
        if (!mm) return null;
        const port = Number(mm[2]);
        if (port > 65535) return null;
        media = {
          type: mm[1],
          port,
          portCount: mm[3] !== undefined ? Number(mm[3]) : null,
          proto: mm[4],
          formats: (mm[5] ?? "").split(/\s+/).filter((f) => f.length > 0),
          connection: null,
          rtpmap: {},
          fmtp: {},
          ptime: null,
          maxptime: null,
          direction: null,
          attributes: [],
        };
        sd.media.push(media);
        break;
      }
      case "a": {
        const colon = value.indexOf(":");
        const name = colon < 0 ? value : value.slice(0, colon);
        const attrValue = colon < 0 ? null : value.slice(colon + 1);
        const attr: SdpAttribute = { name, value: attrValue };
        if (isMediaDirection(name)) {
          if (media) media.direction = name;
          else sd.direction = name;
        }
        if (!media) {
          sd.attributes.push(attr);
          break;
        }
        media.attributes.push(attr);
        if (attrValue === null) break;
        if (name === "rtpmap") {
          const r = /^(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?\s*$/.exec(attrValue);
          if (r) {
            media.rtpmap[Number(r[1])] = {
              encoding: r[2],
              clockRate: Number(r[3]),
              channels: r[4] !== undefined ? Number(r[4]) : null,
            };
          }
        } else if (name === "fmtp") {
          const f = /^(\d+)\s+(.*)$/.exec(attrValue);
          if (f) media.fmtp[Number(f[1])] = f[2].trim();
        } else if (name === "ptime") {
          media.ptime = parseInteger(attrValue.trim());
        } else if (name === "maxptime") {
          media.maxptime = parseInteger(attrValue.trim());
        }
        break;
      }
      default:
        // b=, t=, r=, z=, k=, i=, u=, e=, p= carry nothing we act on.
        break;
    }
  }
  return sd;
}

/** The media-level c= if present, else the session-level one. */
export function mediaConnection(sd: SessionDescription, media: SdpMedia): SdpConnection | null {
  return media.connection ?? sd.connection;
}

function isNullAddress(address: string): boolean {
  // Only zeros: 0.0.0.0 or the unspecified IPv6 address in any spelling (::, 0:0:0:0:0:0:0:0).
  return /^[0.:]+$/.test(address) && /[.:]/.test(address);
}

/**
 * What the peer says it will do: media attribute over session attribute,
 * default sendrecv; c=0.0.0.0 (RFC 2543 hold) means it cannot receive.
 */
export function remoteDirectionOf(sd: SessionDescription, media: SdpMedia): MediaDirection {
  const direction = media.direction ?? sd.direction ?? "sendrecv";
  const conn = mediaConnection(sd, media);
  if (conn && isNullAddress(conn.address)) return intersectDirections(direction, "sendonly");
  return direction;
}

// ---------------------------------------------------------------- negotiation

export type NegotiationFailureReason = "no common codec" | "no audio stream" | "malformed" | SrtpRefusalReason;

export interface NegotiatedMedia {
  codec: Codec;
  /** The peer's payload type for `codec` (0 or 8): what we send with. */
  payloadType: number;
  /** The peer's telephone-event/8000 payload type, or null if not offered. */
  telephoneEventPt: number | null;
  remoteAddress: string;
  remotePort: number;
  /** Our direction towards the peer. */
  direction: MediaDirection;
  /** The peer's own direction (after c=0.0.0.0 handling). */
  remoteDirection: MediaDirection;
  /** The peer put us on hold (sendonly/inactive or c=0.0.0.0). */
  hold: boolean;
  /** Index of the chosen m= line (the answer keeps the others with port 0). */
  mediaIndex: number;
  /** The peer's a=ptime, if any (we always send 20 ms). */
  remotePtime: number | null;
  /** The chosen m= line's profile (RTP/AVP or RTP/SAVP): an answer repeats it. */
  proto: string;
  /**
   * SRTP keys (see srtp-policy.ts), null for plain RTP: `remote` protects what the peer sends; `local`
   * (ours) is set when this is the answer to our offer, and chosen by the answerer otherwise.
   */
  sdes: { remote: SdesCrypto; local?: SdesCrypto } | null;
  /** Where the peer's RTCP goes (RFC 3550 port + 1, RFC 3605 a=rtcp, RFC 5761 a=rtcp-mux). */
  rtcp: RemoteRtcp;
}

/** The peer's RTCP address: with mux its RTP address and port; else a=rtcp, or the RTP address and port + 1. */
export interface RemoteRtcp {
  mux: boolean;
  address: string;
  port: number;
}

/**
 * The RTCP address of an audio stream. a=rtcp (RFC 3605) gives the port and maybe an address; an
 * unusable one (bad port, unknown address type) falls back to port + 1 on the RTP address.
 */
export function remoteRtcpOf(media: SdpMedia, rtpAddress: string): RemoteRtcp {
  const mux = media.attributes.some((a) => a.name === "rtcp-mux");
  if (mux) return { mux, address: rtpAddress, port: media.port };
  const fallback = { mux, address: rtpAddress, port: media.port + 1 };
  const value = media.attributes.find((a) => a.name === "rtcp")?.value;
  if (value == null) return fallback;
  const m = /^\s*(\d{1,5})(?:\s+IN\s+(IP4|IP6)\s+(\S+))?\s*$/.exec(value);
  if (!m) return fallback;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return fallback;
  return { mux, address: m[3] ? m[3].replace(/^\[(.*)\]$/, "$1") : rtpAddress, port };
}

export type NegotiationResult = ({ ok: true } & NegotiatedMedia) | { ok: false; reason: NegotiationFailureReason; detail?: string };

function matchesEncoding(media: SdpMedia, pt: number, encoding: string): boolean {
  const map = media.rtpmap[pt];
  // Static payload types may omit rtpmap; if present it must agree.
  return !map || (map.encoding.toUpperCase() === encoding && map.clockRate === SAMPLE_RATE);
}

/**
 * Whose codec order wins when we answer an offer: "caller" (default) takes the first of the
 * offer's formats that is in our list (RFC 3264 lets the answerer choose, but following the
 * offerer is what phones expect); "mine" takes the first of our list that the offer has.
 */
export const DEFAULT_CODEC_ORDER: CodecOrder = "caller";

function usable(media: SdpMedia, codec: Codec): { codec: Codec; payloadType: number } | null {
  const pt = payloadTypeOf(codec);
  return media.formats.includes(String(pt)) && matchesEncoding(media, pt, codec) ? { codec, payloadType: pt } : null;
}

function findCodec(media: SdpMedia, preferred: Codec[], order: CodecOrder): { codec: Codec; payloadType: number } | null {
  // Only static 0/8 can be ours, so the offer's order is that of those numbers among its formats.
  const candidates = order === "mine" ? preferred : media.formats.map((f) => preferred.find((c) => String(payloadTypeOf(c)) === f));
  for (const codec of candidates) {
    const found = codec && usable(media, codec);
    if (found) return found;
  }
  return null;
}

function findTelephoneEvent(media: SdpMedia): number | null {
  for (const fmt of media.formats) {
    const pt = parseInteger(fmt);
    // RTP carries 7 bits of payload type; 0, 8 (our codecs) and 13 (CN) cannot be events.
    if (pt === null || pt > 127 || pt === 0 || pt === 8 || pt === 13) continue;
    const map = media.rtpmap[pt];
    if (map && map.encoding.toLowerCase() === "telephone-event" && map.clockRate === SAMPLE_RATE) return pt;
  }
  return null;
}

/** The a=crypto values of a media section, at most SDP_MAX_CRYPTO_VALUES of them. */
export function cryptoValues(media: SdpMedia): string[] {
  const out: string[] = [];
  for (const a of media.attributes) {
    if (a.name === "crypto" && a.value !== null && out.length < SDP_MAX_CRYPTO_VALUES) out.push(a.value);
  }
  return out;
}

/** Most a=crypto values read per media section (sdes.ts looks at SDES_MAX_OFFERED_ATTRIBUTES of them). */
export const SDP_MAX_CRYPTO_VALUES = 16;

/**
 * SRTP for `negotiate`: the account's policy and, when the description is the answer to our
 * offer, the keys that offer carried (`offered`, empty for a plain offer; undefined = an offer).
 */
export interface SrtpNegotiation {
  policy: SrtpPolicy;
  offered?: readonly SdesCrypto[];
}

/**
 * Picks the first usable plain-RTP audio stream of a remote description and
 * our preferred codec among those it lists. `localDirection` narrows the
 * result (e.g. "sendonly" while we hold the call). `order` says whose codec
 * order wins (see CodecOrder); an answer to our offer is read with "mine".
 */
export function negotiate(
  remote: string | SessionDescription,
  preferredCodecs: Codec[],
  localDirection: MediaDirection = "sendrecv",
  order: CodecOrder = "mine",
  srtp: SrtpNegotiation = { policy: SRTP_OFF },
): NegotiationResult {
  const sd = typeof remote === "string" ? parseSdp(remote) : remote;
  if (!sd) return { ok: false, reason: "malformed", detail: "not parseable SDP" };

  let sawAudio = false;
  let sawUnsupportedProfile: string | null = null;
  let srtpRefusal: { refuse: SrtpRefusalReason; detail: string } | null = null;
  let sawNoCodec = false;
  for (let i = 0; i < sd.media.length; i++) {
    const media = sd.media[i];
    if (media.type !== "audio" || media.port === 0) continue;
    sawAudio = true;
    const proto = media.proto.toUpperCase();
    if (proto !== PLAIN_PROFILE && proto !== SECURE_PROFILE) {
      sawUnsupportedProfile = media.proto;
      continue;
    }
    const verdict =
      srtp.offered === undefined
        ? judgeOffer(srtp.policy, media.proto, cryptoValues(media))
        : judgeAnswer(srtp.policy, srtp.offered, media.proto, cryptoValues(media));
    if (isRefusal(verdict)) {
      if (verdict.refuse === "no audio stream") sawUnsupportedProfile = media.proto;
      else srtpRefusal = verdict;
      continue;
    }
    const sdes = verdict.srtp === null ? null : "local" in verdict.srtp ? verdict.srtp : { remote: verdict.srtp };
    const codec = findCodec(media, preferredCodecs, order);
    if (!codec) {
      sawNoCodec = true;
      continue;
    }
    const conn = mediaConnection(sd, media);
    if (!conn) return { ok: false, reason: "malformed", detail: "audio stream without c= address" };
    const remoteDirection = remoteDirectionOf(sd, media);
    return {
      ok: true,
      codec: codec.codec,
      payloadType: codec.payloadType,
      telephoneEventPt: findTelephoneEvent(media),
      remoteAddress: conn.address,
      remotePort: media.port,
      direction: intersectDirections(reverseDirection(remoteDirection), localDirection),
      remoteDirection,
      hold: remoteDirection === "sendonly" || remoteDirection === "inactive",
      mediaIndex: i,
      remotePtime: media.ptime,
      proto: sdes ? media.proto : PLAIN_PROFILE,
      sdes,
      rtcp: remoteRtcpOf(media, conn.address),
    };
  }
  if (srtpRefusal) return { ok: false, reason: srtpRefusal.refuse, detail: srtpRefusal.detail };
  if (sawNoCodec) return { ok: false, reason: "no common codec", detail: `none of ${preferredCodecs.join(", ")} offered` };
  if (sawUnsupportedProfile) {
    return { ok: false, reason: "no audio stream", detail: `only unsupported profile ${sawUnsupportedProfile} (plain RTP/AVP required)` };
  }
  return { ok: false, reason: "no audio stream", detail: sawAudio ? undefined : "no active m=audio line" };
}

/** What we offered, needed to judge the answer. */
export interface LocalOffer {
  codecs: Codec[];
  direction: MediaDirection;
  /** The a=crypto keys it carried (none for a plain offer). */
  cryptos?: readonly SdesCrypto[];
  /** We offered a=rtcp-mux (default true). */
  rtcpMux?: boolean;
}

/** Processes the answer to our offer: the same rules, limited to what we offered. */
export function acceptAnswer(answer: string | SessionDescription, offer: LocalOffer, policy: SrtpPolicy = SRTP_OFF): NegotiationResult {
  const result = negotiate(answer, offer.codecs, offer.direction, "mine", { policy, offered: offer.cryptos ?? [] });
  // rtcp-mux in an answer counts only when we offered it (we always do: buildOffer).
  if (result.ok && result.rtcp.mux && offer.rtcpMux === false)
    result.rtcp = { mux: false, address: result.remoteAddress, port: result.remotePort + 1 };
  return result;
}

// ---------------------------------------------------------------- building

/**
 * The o= line of one of our sessions. The version increases only when the
 * description changes (RFC 3264 section 8), so a repeated answer is identical.
 */
export class SdpOriginState {
  readonly sessionId: string;
  private version: number;
  private lastBody: string | null = null;

  constructor(readonly username = "-") {
    // Decimal digits, fits comfortably in 63 bits.
    this.sessionId = String(randomInt(1, 2 ** 47));
    this.version = randomInt(1, 2 ** 31);
  }

  get sessionVersion(): number {
    return this.version;
  }

  /** Returns the o= value for `body` (the description without its o= line). */
  stamp(address: string, body: string): string {
    if (this.lastBody !== null && this.lastBody !== body) this.version++;
    this.lastBody = body;
    return `${this.username} ${this.sessionId} ${this.version} IN ${addrType(address)} ${address}`;
  }
}

function addrType(address: string): "IP4" | "IP6" {
  return address.includes(":") ? "IP6" : "IP4";
}

/**
 * An address as an SDP c=/o= line wants it (RFC 4566 §5.7, RFC 4291): no [brackets], no zone
 * id ("%eth0" means nothing to the peer), and an IPv4-mapped "::ffff:a.b.c.d" (what a dual-stack
 * socket reports) as the IPv4 address it is, so it goes out as IN IP4.
 */
export function sdpAddress(address: string): string {
  const a = String(address)
    .trim()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/%.*$/, "");
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  return mapped ? mapped[1] : a;
}

export interface LocalDescriptionParams {
  /** Our address for c= and o=. */
  address: string;
  port: number;
  direction: MediaDirection;
  origin: SdpOriginState;
  sessionName?: string;
}

function rtpmapLine(pt: number, encoding: string): string {
  return `a=rtpmap:${pt} ${encoding}/${SAMPLE_RATE}`;
}

function assemble(p: LocalDescriptionParams, mediaSections: string[][]): string {
  const bodyLines = [`s=${p.sessionName ?? "-"}`, `c=IN ${addrType(p.address)} ${p.address}`, "t=0 0", ...mediaSections.flat()];
  const body = bodyLines.join("\r\n");
  return ["v=0", `o=${p.origin.stamp(p.address, body)}`, body].join("\r\n") + "\r\n";
}

function audioSection(
  port: number,
  codecs: { pt: number; codec: Codec }[],
  eventPt: number | null,
  direction: MediaDirection,
  rtcpMux: boolean,
  proto = SUPPORTED_PROTO,
  cryptos: readonly SdesCrypto[] = [],
): string[] {
  const pts = codecs.map((c) => c.pt);
  if (eventPt !== null) pts.push(eventPt);
  const lines = [`m=audio ${port} ${proto} ${pts.join(" ")}`];
  for (const c of codecs) lines.push(rtpmapLine(c.pt, c.codec));
  if (eventPt !== null) lines.push(rtpmapLine(eventPt, "telephone-event"), `a=fmtp:${eventPt} 0-16`);
  // The keys: never log this SDP unredacted (sdes.ts redactSdesKeys).
  for (const c of cryptos) lines.push(`a=crypto:${c.toAttributeValue()}`);
  lines.push(`a=ptime:${PTIME_MS}`, `a=${direction}`);
  // RFC 5761: offered always (RTP port + 1 stays bound in case the answer declines it); answered when offered.
  if (rtcpMux) lines.push("a=rtcp-mux");
  return lines;
}

export interface OfferParams extends LocalDescriptionParams {
  codecs: Codec[];
  /** Payload type we receive DTMF events on; null to not offer RFC 4733. Default 101. */
  telephoneEventPt?: number | null;
  /** RTP/AVP (default) or RTP/SAVP. */
  proto?: string;
  /** SDES key lines to offer (see srtp-policy.ts planOffer). */
  cryptos?: readonly SdesCrypto[];
  /** Offer a=rtcp-mux (RFC 5761); default true. */
  rtcpMux?: boolean;
}

export function buildOffer(p: OfferParams): string {
  if (p.codecs.length === 0) throw new Error("buildOffer: at least one codec required");
  const codecs = [...new Set(p.codecs)].map((codec) => ({ codec, pt: payloadTypeOf(codec) }));
  const eventPt = p.telephoneEventPt === undefined ? DEFAULT_TELEPHONE_EVENT_PT : p.telephoneEventPt;
  return assemble(p, [audioSection(p.port, codecs, eventPt, p.direction, p.rtcpMux !== false, p.proto, p.cryptos)]);
}

export interface AnswerParams extends LocalDescriptionParams {
  offer: SessionDescription;
  negotiated: NegotiatedMedia;
  /** Our key line when the media is SRTP (same tag and suite as the peer's chosen line). */
  crypto?: SdesCrypto | null;
}

/** Answers with the chosen codec only; other m= lines are kept with port 0 as RFC 3264 requires. */
export function buildAnswer(p: AnswerParams): string {
  const n = p.negotiated;
  const sections = p.offer.media.map((m, i) => {
    if (i === n.mediaIndex) {
      return audioSection(
        p.port,
        [{ codec: n.codec, pt: n.payloadType }],
        n.telephoneEventPt,
        p.direction,
        n.rtcp.mux,
        n.proto,
        p.crypto ? [p.crypto] : [],
      );
    }
    return [`m=${m.type} 0 ${m.proto} ${m.formats.join(" ")}`.trimEnd()];
  });
  return assemble(p, sections);
}
