// One plain-RTP (RFC 3550) G.711 session per call: one UDP socket, paced
// 20 ms sending, symmetric RTP latching and receive-side demultiplexing.
import dgram from "dgram";
import { EventEmitter } from "events";
import { randomBytes, randomInt } from "crypto";
import { isIPv4, isIPv6 } from "net";
import { systemClock, type Clock } from "../clock";
import type { CallStats, Codec, RtpSecurity } from "../types";
import { SAMPLES_PER_FRAME } from "./audio-format";
import { codecOfPayloadType, decodeFrame, encodeInto, silenceFrame } from "./g711";
import { canReceive, canSend, type MediaDirection } from "./direction";
import { defaultPacer, type PacedStream, type Pacer } from "./pacer";
import { RTP_HEADER_BYTES, parseRtp, rtpPacketWithRoom, serializeRtp, type RtpPacket } from "./rtp-packet";
import type { SrtpContext } from "./srtp";
import { isRtcp } from "./rtcp";
import { RtcpMonitor } from "./rtcp-monitor";

export type { MediaDirection } from "./direction";

export type OutgoingFrame =
  | { kind: "audio"; /** 160 samples, 8 kHz */ pcm: Int16Array; talkspurtStart?: boolean }
  | { kind: "event"; /** RFC 4733 payload built by the DTMF layer */ payload: Buffer; eventStart: boolean };

export interface FrameSource {
  /** Called every 20 ms while sending; null means "nothing now" and silence is sent. */
  nextFrame(): OutgoingFrame | null;
  /** A sender that pulls frames ahead (the media worker's pump) hands the source its sink; null when it stops. */
  setFrameSink?(sink: FrameSink | null): void;
}

/** How a source talks to a sender that pulls ahead (media/worker/media-host.ts). */
export interface FrameSink {
  /** New frames are ready: pull now rather than at the next cycle. */
  wake(): void;
  /** Drop what was pulled ahead and not played yet (an interrupt). */
  flush(): void;
  /** Calls `fn` once the frames pulled so far (the one being pulled included) have been sent. */
  whenPlayed(fn: () => void): void;
}

export interface RtpRemote {
  address: string;
  port: number;
  codec: Codec;
  payloadType: number;
  telephoneEventPt?: number | null;
  /** Our direction towards the peer. */
  direction: MediaDirection;
}

export interface RtpSessionOptions {
  portMin: number;
  portMax: number;
  /** Local address to bind, default the wildcard of `family` (an IPv6 literal binds udp6). */
  bindAddress?: string;
  /**
   * Without bindAddress: 4 binds 0.0.0.0 (udp4, the default); 6 binds "::" as a dual-stack udp6
   * socket, which reaches IPv6 peers and IPv4 peers alike (sent to as ::ffff:a.b.c.d).
   */
  family?: 4 | 6;
  pacer?: Pacer;
  /** Emit "timeout" after this long without RTP while we expect to receive; 0 = off (default). */
  rtpTimeoutMs?: number;
  /** Source policy (see acceptSource); default "latch". */
  security?: RtpSecurity;
  /** IPs of the signalling peers (registrar, proxy, dialog target): in "latch" mode they may latch. */
  signallingHosts?: () => readonly string[];
  /** Monotonic ms clock (tests); default systemClock. */
  clock?: Pick<Clock, "now">;
  /**
   * Packets that arrive before the peer's SDP is known are kept, up to this many, and judged once it
   * is (setRemote) instead of dropped: the media worker reads its sockets at once, before the main
   * thread has handled the answer that came with them. Default 0 (dropped, as in-thread).
   */
  holdEarlyPackets?: number;
}

export interface RtpPacketInfo {
  ssrc: number;
  seq: number;
  timestamp: number;
  marker: boolean;
}

export interface RtpEventInfo extends RtpPacketInfo {
  payloadType: number;
}

export interface RtpEndpoint {
  address: string;
  port: number;
}

export interface RtpSessionEvents {
  audio: [pcm: Int16Array, info: RtpPacketInfo];
  event: [payload: Buffer, info: RtpEventInfo];
  latched: [source: RtpEndpoint];
  timeout: [];
  /** Only emitted when someone listens (socket, frame source or listener failures). */
  error: [error: Error];
  close: [];
}

export interface RtpSessionStats {
  packetsSent: number;
  /** UDP payload bytes, RTP header included. */
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Dropped unread: not from the SDP's address (or the latched source), or before the answer. */
  ignoredFromOtherSources: number;
  /** Dropped unread: from the accepted source but with another SSRC than the locked one. */
  ignoredSsrc: number;
  ignoredPayloadType: number;
  malformed: number;
  skippedFrames: number;
  eventsDropped: number;
  sendErrors: number;
  /** SRTP only: dropped because they failed authentication, were replayed or malformed. */
  srtpFailed: number;
}

/** The two SRTP contexts of a call (sdes.ts srtpContexts): ours protects what we send. */
export interface SrtpContexts {
  outbound: SrtpContext;
  inbound: SrtpContext;
}

/**
 * SRTCP for the RTCP sender/receiver of the call: `protect` before sending, `unprotect` on receipt.
 * Without SRTP both return the packet unchanged; null means drop it (failed, or not SRTCP). Never throw.
 */
export interface RtcpTransform {
  protect(packet: Buffer): Buffer | null;
  unprotect(packet: Buffer): Buffer | null;
}

const CN_PAYLOAD_TYPE = 13; // comfort noise: proves the peer's media path, but we do not render it

/**
 * A locked audio SSRC that has sent nothing for this long may be replaced by a new one from the
 * same source (a peer that restarts its stream); a live stream cannot be taken over.
 */
export const RTP_SSRC_TAKEOVER_MS = 2000;

/**
 * "1.2.3.4", "::ffff:1.2.3.4" and "[::1]" compare as plain, lower-case IPs; an IPv6 address in
 * any spelling ("0:0:0:0:0:0:0:1", "::FFFF:7f00:1") becomes its one short form (RFC 5952), so
 * the SDP's address and a socket's rinfo.address compare equal.
 */
export function normalizeIp(address: string): string {
  const key = String(address);
  const known = normalizedIps.get(key);
  if (known !== undefined) return known;
  const result = normalizeIpText(key);
  // Asked for every received packet: remember the few addresses a process sees, within a bound.
  if (normalizedIps.size >= NORMALIZED_IP_CACHE_SIZE) normalizedIps.clear();
  normalizedIps.set(key, result);
  return result;
}

/** Addresses whose normalised form is remembered (a process talks to few; flushed when full). */
export const NORMALIZED_IP_CACHE_SIZE = 1024;
const normalizedIps = new Map<string, string>();

function normalizeIpText(address: string): string {
  const a = address
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (!isIPv6(a)) return a;
  let short = a;
  try {
    // The WHATWG URL parser writes an IPv6 host in its canonical compressed form.
    short = new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    // a zone id ("fe80::1%eth0") is not a URL host: keep the text
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(short);
  if (!mapped) return short;
  const hi = parseInt(mapped[1], 16);
  const lo = parseInt(mapped[2], 16);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
}

/** 0.0.0.0, ::, 0:0:0:0:0:0:0:0: the "no address" of a held stream (RFC 3264 §8.4, RFC 2543 hold). */
export function isUnspecified(address: string): boolean {
  const a = normalizeIp(address);
  return a === "0.0.0.0" || a === "::";
}

/**
 * The address to hand a socket of `type` to reach `address`, or null when it cannot: an IPv4
 * peer is reached from a dual-stack udp6 socket as ::ffff:a.b.c.d; a udp4 socket reaches no
 * IPv6 peer (an IPv4-mapped one excepted).
 */
export function socketAddressFor(type: "udp4" | "udp6", address: string): string | null {
  const ip = normalizeIp(address);
  if (type === "udp6") return isIPv4(ip) ? `::ffff:${ip}` : isIPv6(ip) ? ip : null;
  return isIPv4(ip) ? ip : null;
}

/** Longest close() waits for a queued RTCP send (the final BYE) before closing the sockets anyway. */
/** socketAddressFor, except that a udp6 socket bound to one IPv6 address (not "::") has no IPv4. */
export function wireAddressFor(type: "udp4" | "udp6", localAddress: string, address: string): string | null {
  const to = socketAddressFor(type, address);
  if (to !== null && type === "udp6" && localAddress !== "::" && to.startsWith("::ffff:")) return null;
  return to;
}

/** The peer of setRemote() checked (RangeError on a bad port or payload type), its event type null when out of range. */
export function checkedRemote(remote: RtpRemote): RtpRemote {
  if (!Number.isInteger(remote.port) || remote.port < 0 || remote.port > 65535) {
    throw new RangeError(`invalid RTP port ${remote.port}`);
  }
  if (!Number.isInteger(remote.payloadType) || remote.payloadType < 0 || remote.payloadType > 127) {
    throw new RangeError(`invalid payload type ${remote.payloadType}`);
  }
  const eventPt = remote.telephoneEventPt;
  // An out-of-range type would make every event frame throw in serializeRtp: no events then.
  const validEventPt = Number.isInteger(eventPt) && (eventPt as number) >= 0 && (eventPt as number) <= 127 ? (eventPt as number) : null;
  return { ...remote, telephoneEventPt: validEventPt };
}

/** A new media address (transfer, media server change; not hold's 0.0.0.0 or port 0): latch afresh. */
export function remoteMoved(prev: RtpRemote | null, next: RtpRemote): boolean {
  return !!prev && (prev.address !== next.address || prev.port !== next.port) && next.port !== 0 && next.address !== "0.0.0.0";
}

export const RTCP_CLOSE_GRACE_MS = 250;

export type SourceVerdict = "accept" | "latch" | "drop";

/**
 * RTP source policy (issue 8): whose packets we read at all.
 * - Once latched, only the latched address:port.
 * - The exact address:port of the peer's SDP, always.
 * - "latch" mode, after the dialog is confirmed: the SDP's IP on any port (NAT) or a signalling
 *   peer's IP, which then becomes the one latched source.
 * - Anyone else, and anything before we have the peer's SDP: dropped unread.
 */
export function acceptSource(p: {
  from: RtpEndpoint;
  sdp: RtpEndpoint | null;
  latched: RtpEndpoint | null;
  security: RtpSecurity;
  confirmed: boolean;
  signallingHosts: readonly string[];
}): SourceVerdict {
  const ip = normalizeIp(p.from.address);
  const same = (e: RtpEndpoint) => normalizeIp(e.address) === ip && e.port === p.from.port;
  if (p.latched) return same(p.latched) ? "accept" : "drop";
  if (!p.sdp) return "drop";
  const exact = same(p.sdp);
  if (p.security === "strict" || !p.confirmed) return exact ? "accept" : "drop";
  if (exact || normalizeIp(p.sdp.address) === ip || p.signallingHosts.some((h) => normalizeIp(h) === ip)) return "latch";
  return "drop";
}

function toFrameLength(pcm: Int16Array): Int16Array {
  if (pcm.length === SAMPLES_PER_FRAME) return pcm;
  // Keep every packet exactly 20 ms so timestamps stay truthful.
  const out = new Int16Array(SAMPLES_PER_FRAME);
  out.set(pcm.subarray(0, SAMPLES_PER_FRAME));
  return out;
}

function bindSocket(type: "udp4" | "udp6", address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    // ipv6Only false: a "::" socket also takes IPv4 (dual-stack), whatever the system default.
    const socket = dgram.createSocket(type === "udp6" ? { type, reuseAddr: false, ipv6Only: false } : { type, reuseAddr: false });
    const onError = (err: Error) => {
      try {
        socket.close();
      } catch {
        // already closed by the failed bind
      }
      reject(err);
    };
    socket.once("error", onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.removeListener("error", onError);
      resolve(socket);
    });
  });
}

/** Binds the RTP port and RTCP on port + 1 (RFC 3550 §11); both or neither. */
async function bindPair(type: "udp4" | "udp6", address: string, port: number): Promise<[dgram.Socket, dgram.Socket]> {
  const rtp = await bindSocket(type, address, port);
  try {
    return [rtp, await bindSocket(type, address, port + 1)];
  } catch (err) {
    rtp.close();
    throw err;
  }
}

/** RTCP datagrams the RTP session receives for the RTCP layer (rtcp-session.ts): on RTP port + 1, or muxed on the RTP port. */
export type RtcpReceiver = (packet: Buffer, from: RtpEndpoint, muxed: boolean) => void;

export class RtpSession extends EventEmitter<RtpSessionEvents> implements PacedStream {
  /** Binds a free even port in [portMin, portMax] for RTP and the odd one above it for RTCP, starting at a random pair. */
  static async open(options: RtpSessionOptions): Promise<RtpSession> {
    const { portMin, portMax } = options;
    // "[2001:db8::1]" as typed in a URL-minded field is the address inside the brackets.
    const bindAddress = options.bindAddress?.trim().replace(/^\[(.*)\]$/, "$1") || (options.family === 6 ? "::" : "0.0.0.0");
    if (!Number.isInteger(portMin) || !Number.isInteger(portMax) || portMin < 1 || portMax > 65535 || portMin > portMax) {
      throw new Error(`invalid RTP port range ${portMin}-${portMax}`);
    }
    const first = portMin + (portMin % 2);
    // The pair's odd port (RTCP) must be in the range too.
    const last = portMax - 1 - ((portMax - 1) % 2);
    const count = last >= first ? (last - first) / 2 + 1 : 0;
    if (count === 0) throw new Error(`RTP port range ${portMin}-${portMax} contains no even port with port + 1 for RTCP`);
    const type = isIPv6(bindAddress) ? "udp6" : "udp4";
    const start = randomInt(count);
    for (let i = 0; i < count; i++) {
      const port = first + 2 * ((start + i) % count);
      try {
        const [socket, rtcpSocket] = await bindPair(type, bindAddress, port);
        return new RtpSession(socket, rtcpSocket, type, options);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE" || code === "EACCES") continue;
        throw new Error(`cannot bind RTP socket on ${bindAddress}:${port}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no free even UDP port for RTP in ${portMin}-${portMax} on ${bindAddress}`);
  }

  readonly ssrc = randomInt(0x100000000);
  private readonly socket: dgram.Socket;
  /** RTCP on RTP port + 1 (also bound when rtcp-mux is offered, in case the answer declines it). */
  private readonly rtcpSocket: dgram.Socket;
  /** Gets every RTCP datagram (the RTCP layer judges its source); none = dropped. */
  rtcpReceiver: RtcpReceiver | null = null;
  /** RTCP sends not yet handed to the system; close() waits for them (the BYE). */
  private pendingRtcp = 0;
  private closeSocketsTimer: NodeJS.Timeout | null = null;
  /** udp4 reaches IPv4 peers only; udp6 (bound to "::" dual-stack, or an IPv6 address) IPv6 ones too. */
  readonly socketType: "udp4" | "udp6";
  private readonly pacer: Pacer;
  private readonly rtpTimeoutMs: number;
  private readonly localAddr: string;
  private readonly port: number;

  private readonly security: RtpSecurity;
  private readonly signallingHosts: () => readonly string[];
  private readonly clock: Pick<Clock, "now">;
  private remoteInfo: RtpRemote | null = null;
  private latch: RtpEndpoint | null = null;
  /** The dialog is confirmed (ACK received, or our INVITE's 2xx): sending is allowed. */
  private confirmedDialog = false;
  /** The SDP's exact address:port sent us valid media: it wants our RTP, so it may get it early. */
  private mediaSeen = false;
  /** Early media (183 + SDP) we chose to send: the SDP's address before the dialog is confirmed. */
  private earlySend = false;
  /** Locked SSRCs: audio (and comfort noise), and RFC 4733 events when they use their own SSRC. */
  private audioSsrc: { ssrc: number; lastAt: number } | null = null;
  private eventSsrc: number | null = null;
  private source: FrameSource | null = null;
  private readonly holdEarly: number;
  private early: { msg: Buffer; rinfo: dgram.RemoteInfo }[] = [];
  private sequence = randomInt(0x10000);
  private timestamp = randomInt(0x100000000);
  /** Timestamp shared by all packets of the RFC 4733 event being sent, if any. */
  private eventTimestamp: number | null = null;
  private needMarker = true;
  private lastRxAt: number | null = null;
  private timedOut = false;
  private closed = false;
  private counters: RtpSessionStats = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    ignoredFromOtherSources: 0,
    ignoredSsrc: 0,
    ignoredPayloadType: 0,
    malformed: 0,
    skippedFrames: 0,
    eventsDropped: 0,
    sendErrors: 0,
    srtpFailed: 0,
  };
  /** SRTP contexts while the media is SRTP (setSrtp); null = plain RTP. */
  private srtp: SrtpContexts | null = null;
  /**
   * Loss and jitter of the peer's audio stream, our sender counters, and what RTCP tells (RFC 3550).
   * CNAME: a random 96-bit identifier per session (RFC 7022), nothing about the user or host.
   */
  readonly rtcpMonitor: RtcpMonitor;

  private constructor(socket: dgram.Socket, rtcpSocket: dgram.Socket, type: "udp4" | "udp6", options: RtpSessionOptions) {
    super();
    this.socket = socket;
    this.rtcpSocket = rtcpSocket;
    this.rtcpMonitor = new RtcpMonitor({ ssrc: this.ssrc, cname: randomBytes(12).toString("base64") });
    this.socketType = type;
    this.pacer = options.pacer ?? defaultPacer;
    this.rtpTimeoutMs = Math.max(0, options.rtpTimeoutMs ?? 0);
    this.security = options.security === "strict" ? "strict" : "latch";
    this.signallingHosts = options.signallingHosts ?? (() => []);
    this.clock = options.clock ?? systemClock;
    this.holdEarly = Math.max(0, Math.floor(options.holdEarlyPackets ?? 0));
    const addr = socket.address();
    this.localAddr = addr.address;
    this.port = addr.port;
    socket.on("message", (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on("error", (err) => this.fail(err));
    rtcpSocket.on("message", (msg, rinfo) => this.onRtcpMessage(msg, rinfo));
    rtcpSocket.on("error", (err) => this.fail(err));
    // Registered from the start so the timestamp follows wall time even before sending.
    this.pacer.register(this);
  }

  get localPort(): number {
    return this.port;
  }

  get localAddress(): string {
    return this.localAddr;
  }

  /** Whether this socket can send to `address` (its family; see wireAddress). */
  canReach(address: string): boolean {
    return this.wireAddress(address) !== null;
  }

  private wireAddress(address: string): string | null {
    return wireAddressFor(this.socketType, this.localAddr, address);
  }

  get remote(): Readonly<RtpRemote> | null {
    return this.remoteInfo;
  }

  /** The peer's real source once symmetric RTP latched onto it. */
  get latched(): RtpEndpoint | null {
    return this.latch;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The dialog is confirmed; before this we send nothing (no reflection), unless the peer sent us media. */
  get confirmed(): boolean {
    return this.confirmedDialog;
  }

  /**
   * Where packets go right now (latched source wins over the SDP address), or null when not sending.
   * Never an address that neither confirmed the dialog nor sent us media: an INVITE whose SDP names
   * a third party must not turn us into an RTP amplifier aimed at it.
   */
  get sendTarget(): RtpEndpoint | null {
    const r = this.remoteInfo;
    if (!r || !canSend(r.direction) || r.port === 0 || isUnspecified(r.address)) return null;
    if (!this.confirmedDialog && !this.mediaSeen && !this.earlySend) return null;
    return this.latch ?? { address: r.address, port: r.port };
  }

  /** We send early media (an announcement or ringback in 183 + SDP, bounded by the call layer) before the ACK. */
  allowEarlySend(): void {
    this.earlySend = true;
  }

  /** The dialog is confirmed (inbound: the ACK arrived; outbound: the 2xx arrived). */
  confirm(): void {
    // The answer restarts the RTP timeout clock: early media (before it) may have stopped long ago.
    if (!this.confirmedDialog && this.lastRxAt !== null) {
      this.lastRxAt = this.clock.now();
      this.timedOut = false;
    }
    this.confirmedDialog = true;
  }

  /** Sets or updates the peer (initial answer, re-INVITE, hold). */
  setRemote(remote: RtpRemote): void {
    const next = checkedRemote(remote);
    if (remoteMoved(this.remoteInfo, next)) {
      this.latch = null;
      this.mediaSeen = false;
      this.audioSsrc = null;
      this.eventSsrc = null;
    }
    this.remoteInfo = next;
    // The answer starts (or restarts) the RTP timeout clock.
    this.lastRxAt = this.clock.now();
    // Packets that came before the answer are judged now, by its address.
    const held = this.early;
    this.early = [];
    for (const p of held) this.onMessage(p.msg, p.rinfo);
  }

  /** Protect what we send and unprotect what we receive from now on (null: plain RTP). */
  setSrtp(contexts: SrtpContexts | null): void {
    this.srtp = contexts;
  }

  /** The media is SRTP. */
  get secure(): boolean {
    return this.srtp !== null;
  }

  /** SRTCP for this call's RTCP (see RtcpTransform); follows setSrtp, so it can be taken once. */
  readonly rtcpTransform: RtcpTransform = {
    protect: (packet) => {
      const c = this.srtp;
      if (!c) return packet;
      try {
        // A libre (baresip) peer tags SRTCP with 32 bits under _32: answer in kind once seen.
        c.outbound.srtcpShortTag = c.inbound.shortSrtcpTagSeen;
        return c.outbound.protectRtcp(packet);
      } catch {
        return null;
      }
    },
    unprotect: (packet) => {
      const c = this.srtp;
      if (!c) return packet;
      // Not counted in srtpFailed: peers send some RTCP in the clear (libre: before SRTP is up, its BYE).
      return c.inbound.unprotectRtcp(packet);
    },
  };

  setFrameSource(source: FrameSource | null): void {
    this.source = source;
  }

  stats(): RtpSessionStats {
    return { ...this.counters };
  }

  /** stats().packetsSent without the copy (the media worker reads it for every session every report). */
  get packetsSent(): number {
    return this.counters.packetsSent;
  }

  /** stats().packetsReceived without the copy. */
  get packetsReceived(): number {
    return this.counters.packetsReceived;
  }

  /** Sent, received, lost, jitter: what a user needs to judge the call's audio path. */
  callStats(): CallStats {
    const c = this.counters;
    const rx = this.rtcpMonitor.rx.snapshot();
    return {
      packetsSent: c.packetsSent,
      packetsReceived: c.packetsReceived,
      packetsLost: rx ? Math.max(0, rx.packetsLost) : 0,
      jitterMs: rx ? Math.round(rx.jitterMs * 10) / 10 : 0,
      packetsIgnored: c.ignoredFromOtherSources + c.ignoredSsrc,
      ...(this.srtp ? { srtpFailed: c.srtpFailed } : {}),
    };
  }

  /** Closes the socket and leaves the pacer; safe to call repeatedly. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pacer.unregister(this);
    this.source = null;
    this.early = [];
    // A send still queued (the RTCP BYE sent just before) would be lost by closing now: wait for it, a bounded moment.
    if (this.pendingRtcp > 0) {
      this.closeSocketsTimer = setTimeout(() => this.closeSockets(), RTCP_CLOSE_GRACE_MS);
      this.closeSocketsTimer.unref();
    } else {
      this.closeSockets();
    }
    this.emit("close");
  }

  private closeSockets(): void {
    if (this.closeSocketsTimer) clearTimeout(this.closeSocketsTimer);
    this.closeSocketsTimer = null;
    for (const s of [this.socket, this.rtcpSocket]) {
      try {
        s.close();
      } catch {
        // socket already closed
      }
    }
  }

  /** Pacer callback: one 20 ms frame. */
  tick(skippedFrames = 0): void {
    if (this.closed) return;
    if (skippedFrames > 0) {
      this.timestamp = (this.timestamp + skippedFrames * SAMPLES_PER_FRAME) >>> 0;
      this.counters.skippedFrames += skippedFrames;
    }
    this.checkTimeout();
    const remote = this.remoteInfo;
    const target = this.sendTarget;
    if (remote && target) {
      this.sendFrame(remote, target);
    } else {
      // The next packet after a pause starts a new talkspurt.
      this.needMarker = true;
      this.eventTimestamp = null;
    }
    this.timestamp = (this.timestamp + SAMPLES_PER_FRAME) >>> 0;
  }

  private checkTimeout(): void {
    if (this.rtpTimeoutMs === 0 || this.timedOut || this.lastRxAt === null) return;
    const now = this.clock.now();
    if (!this.remoteInfo || !canReceive(this.remoteInfo.direction)) {
      // On hold the peer may legitimately stay silent; restart the clock.
      this.lastRxAt = now;
      return;
    }
    if (now - this.lastRxAt >= this.rtpTimeoutMs) {
      this.timedOut = true;
      this.safeEmit("timeout");
    }
  }

  private pullFrame(): OutgoingFrame | null {
    if (!this.source) return null;
    try {
      return this.source.nextFrame();
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  private sendFrame(remote: RtpRemote, target: RtpEndpoint): void {
    let frame = this.pullFrame();
    let marker = this.needMarker;
    let payloadType = remote.payloadType;
    let timestamp = this.timestamp;
    let payload: Uint8Array | null = null;
    let pcm: Int16Array | null = null;

    if (frame?.kind === "event" && remote.telephoneEventPt == null) {
      this.counters.eventsDropped++;
      frame = null;
    }
    if (frame?.kind === "event") {
      // RFC 4733 2.3.1: every packet of an event carries the event's start time.
      if (frame.eventStart || this.eventTimestamp === null) this.eventTimestamp = this.timestamp;
      timestamp = this.eventTimestamp;
      payloadType = remote.telephoneEventPt as number;
      payload = frame.payload;
      marker ||= frame.eventStart;
    } else {
      this.eventTimestamp = null;
      if (frame?.kind === "audio") {
        pcm = toFrameLength(frame.pcm);
        marker ||= frame.talkspurtStart === true;
      } else {
        payload = silenceFrame(remote.codec);
      }
    }

    const header = { marker, payloadType, sequenceNumber: this.sequence, timestamp, ssrc: this.ssrc };
    let packet: Buffer;
    if (pcm) {
      // Encoded straight into the packet: no payload buffer per frame.
      packet = rtpPacketWithRoom(header, pcm.length);
      encodeInto(remote.codec, pcm, packet, RTP_HEADER_BYTES);
    } else {
      packet = serializeRtp(header, payload as Uint8Array);
    }
    const payloadBytes = packet.length - RTP_HEADER_BYTES;
    this.sequence = (this.sequence + 1) & 0xffff;
    if (this.srtp) {
      try {
        packet = this.srtp.outbound.protectRtp(packet);
      } catch {
        // Only an exhausted key (2^48 packets) gets here: never send such a packet in the clear.
        this.counters.sendErrors++;
        return;
      }
    }
    this.needMarker = false;
    this.counters.packetsSent++;
    this.counters.bytesSent += packet.length;
    const to = this.wireAddress(target.address);
    if (to === null) {
      // Another family than our socket's (refused at negotiation; a latched source cannot be one).
      this.counters.sendErrors++;
      return;
    }
    this.socket.send(packet, target.port, to, this.afterSend);
    this.rtcpMonitor.onRtpSent(payloadBytes, timestamp);
  }

  /** One callback for every RTP send (not a closure per packet). */
  private readonly afterSend = (err: Error | null): void => {
    if (err) this.counters.sendErrors++;
  };

  /** The port RTCP uses without rtcp-mux (RTP port + 1). */
  get rtcpPort(): number {
    return this.port + 1;
  }

  /** Sends an RTCP compound from the RTP socket (muxed) or the RTCP one; false when it cannot go. */
  sendRtcp(packet: Buffer, target: RtpEndpoint, muxed: boolean): boolean {
    const to = this.wireAddress(target.address);
    if (this.closed || to === null || target.port <= 0 || target.port > 65535) return false;
    try {
      this.pendingRtcp++;
      (muxed ? this.socket : this.rtcpSocket).send(packet, target.port, to, (err) => {
        this.pendingRtcp--;
        if (err) this.counters.sendErrors++;
        if (this.closed && this.pendingRtcp === 0 && this.closeSocketsTimer) this.closeSockets();
      });
      return true;
    } catch {
      this.pendingRtcp--;
      this.counters.sendErrors++;
      return false;
    }
  }

  private sourceOf(rinfo: dgram.RemoteInfo): RtpEndpoint {
    return { address: rinfo.family === "IPv4" ? rinfo.address : normalizeIp(rinfo.address), port: rinfo.port };
  }

  private onRtcpMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    try {
      this.rtcpReceiver?.(msg, this.sourceOf(rinfo), false);
    } catch (err) {
      this.fail(err);
    }
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    try {
      this.receive(msg, rinfo);
    } catch (err) {
      // Nothing a packet contains may escape into the socket's callback.
      this.counters.malformed++;
      this.fail(err);
    }
  }

  private hostsOfSignalling(): readonly string[] {
    try {
      return this.signallingHosts();
    } catch {
      return [];
    }
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (isRtcp(msg)) {
      // RFC 5761 §4: on a shared port, second octet 192-223 is RTCP; the RTCP layer judges it.
      if (this.rtcpReceiver) this.rtcpReceiver(msg, this.sourceOf(rinfo), true);
      else this.counters.ignoredPayloadType++;
      return;
    }
    if (!this.remoteInfo && this.early.length < this.holdEarly) {
      this.early.push({ msg, rinfo });
      return;
    }
    const srtp = this.srtp;
    // SRTP: the header is in the clear but padding is not, so only the fixed header is read
    // before the packet authenticates (after the cheap source and payload type checks).
    let packet = srtp ? null : parseRtp(msg);
    if (srtp ? msg.length < RTP_HEADER_BYTES || msg[0] >> 6 !== 2 : !packet) {
      this.counters.malformed++;
      return;
    }
    const remote = this.remoteInfo;
    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: latch and report them as IPv4. An IPv4
    // socket's addresses are already plain, so that packet path skips the lookup.
    const from = { address: rinfo.family === "IPv4" ? rinfo.address : normalizeIp(rinfo.address), port: rinfo.port };
    const latch = this.latch;
    // Latched (every packet of a call once it talks): acceptSource's first rule, without its arguments.
    const verdict = latch
      ? from.address === latch.address && from.port === latch.port
        ? "accept"
        : "drop"
      : acceptSource({
          from,
          sdp: remote ? { address: remote.address, port: remote.port } : null,
          latched: null,
          security: this.security,
          confirmed: this.confirmedDialog,
          // Asked only when it matters (after the answer, before latching).
          signallingHosts: this.security === "latch" && this.confirmedDialog ? this.hostsOfSignalling() : [],
        });
    if (verdict === "drop") {
      this.counters.ignoredFromOtherSources++;
      return;
    }

    const pt = msg[1] & 0x7f;
    const codec = codecOfPayloadType(pt);
    const eventPt = remote?.telephoneEventPt ?? null;
    const isEvent = codec === null && eventPt !== null && pt === eventPt;
    if (codec === null && !isEvent && pt !== CN_PAYLOAD_TYPE) {
      // Unknown payload (e.g. multiplexed RTCP): neither latch nor count as media.
      this.counters.ignoredPayloadType++;
      return;
    }
    if (srtp) {
      // Nothing of a packet that fails here may latch, lock an SSRC or count as media.
      const plain = srtp.inbound.unprotectRtp(msg);
      packet = plain && parseRtp(plain);
      if (!packet) {
        this.counters.srtpFailed++;
        return;
      }
    }
    const rtp = packet as RtpPacket;
    const now = this.clock.now();
    if (verdict === "latch") {
      // Latching picks one source and, with the packet below, locks its SSRCs.
      this.latch = from;
      this.audioSsrc = null;
      this.eventSsrc = null;
    }
    if (!this.ssrcAllowed(rtp.ssrc >>> 0, isEvent, now)) {
      this.counters.ignoredSsrc++;
      return;
    }
    this.counters.packetsReceived++;
    this.counters.bytesReceived += msg.length;
    this.lastRxAt = now;
    this.mediaSeen = true;
    // Loss and jitter follow the audio stream's sequence (events count when they share its SSRC).
    if (!isEvent || this.audioSsrc?.ssrc === rtp.ssrc >>> 0) {
      this.rtcpMonitor.onRtpReceived(rtp);
    }
    if (verdict === "latch") this.safeEmit("latched", { ...from });

    const info = { ssrc: rtp.ssrc, seq: rtp.sequenceNumber, timestamp: rtp.timestamp, marker: rtp.marker };
    if (codec !== null) {
      // Decoding costs per packet: only when someone (the in-band DTMF detector) listens.
      if (this.listenerCount("audio") > 0) this.safeEmit("audio", decodeFrame(codec, rtp.payload), info);
    } else if (isEvent) {
      this.safeEmit("event", Buffer.from(rtp.payload), { ...info, payloadType: pt });
    } else {
      this.counters.ignoredPayloadType++;
    }
  }

  /**
   * SSRC lock, per payload kind: the first audio (or comfort noise) SSRC is kept while it is live;
   * RFC 4733 events may use the audio SSRC or one SSRC of their own, the first one seen.
   */
  private ssrcAllowed(ssrc: number, isEvent: boolean, now: number): boolean {
    const audio = this.audioSsrc;
    if (isEvent) {
      if (audio && audio.ssrc === ssrc) return true;
      if (this.eventSsrc === null) this.eventSsrc = ssrc;
      return this.eventSsrc === ssrc;
    }
    if (!audio || audio.ssrc === ssrc || now - audio.lastAt >= RTP_SSRC_TAKEOVER_MS) {
      this.audioSsrc = { ssrc, lastAt: now };
      return true;
    }
    return false;
  }

  private safeEmit<K extends keyof RtpSessionEvents>(name: K, ...args: RtpSessionEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: RtpSessionEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      // A throwing listener must not take down the socket's event loop callback.
      if (name !== "error") this.fail(err);
    }
  }

  private fail(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount("error") > 0) this.safeEmit("error", error);
  }
}
