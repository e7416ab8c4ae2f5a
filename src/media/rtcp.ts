// RTCP (RFC 3550 section 6): build and parse compound packets of SR, RR, SDES and BYE, plus
// the NTP timestamp helpers used by sender reports and round-trip time (section 6.4.1).
//
// Parsing is defensive: the input comes from the network. parseRtcp() never throws and returns
// null for anything whose framing is broken (the validity checks of RFC 3550 Appendix A.2:
// version, length words adding up to the datagram, padding only on the last packet). Packet
// types we do not use (APP, XR, feedback, ...) are kept as "other" so a caller can ignore them.

export const RTCP_VERSION = 2;
export const RTCP_HEADER_BYTES = 4;

export const RTCP_PT_SR = 200;
export const RTCP_PT_RR = 201;
export const RTCP_PT_SDES = 202;
export const RTCP_PT_BYE = 203;
export const RTCP_PT_APP = 204;

/** SDES item types (RFC 3550 section 6.5). */
export const SDES_END = 0;
export const SDES_CNAME = 1;

/** The 5-bit count field caps report blocks (and SDES chunks, BYE sources) per packet at 31. */
export const RTCP_MAX_COUNT = 31;
/**
 * At most this many packets are parsed out of one compound datagram; a longer one is rejected.
 * A real compound holds 2-4 (SR/RR, SDES, maybe BYE or XR); the cap bounds work per datagram.
 */
export const RTCP_MAX_PACKETS_PER_COMPOUND = 16;
/** At most this many SDES items are kept per chunk (CNAME comes first in practice); the rest are skipped. */
export const RTCP_MAX_SDES_ITEMS_PER_CHUNK = 8;

const REPORT_BLOCK_BYTES = 24;
const SENDER_INFO_BYTES = 20;

/** Seconds between 1900-01-01 (NTP era 0) and 1970-01-01 (Unix epoch). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;
const TWO_32 = 2 ** 32;

export interface RtcpReportBlock {
  /** The source this block reports on. */
  ssrc: number;
  /** Fraction of packets lost since the previous report, in 1/256 (0-255). */
  fractionLost: number;
  /** Cumulative packets lost; signed 24 bits (duplicates can make it negative). */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | seq). */
  highestSeq: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR received from this source; 0 = none. */
  lsr: number;
  /** Delay since that SR was received, in 1/65536 s; 0 when lsr is 0. */
  dlsr: number;
}

export interface RtcpSenderInfo {
  /** NTP timestamp, integer seconds since 1900 (uint32). */
  ntpSec: number;
  /** NTP timestamp, fraction of a second in 1/2^32 (uint32). */
  ntpFrac: number;
  /** The same instant in RTP timestamp units of the sent stream. */
  rtpTimestamp: number;
  /** RTP data packets sent since the start of transmission. */
  packetCount: number;
  /** RTP payload octets sent since the start of transmission. */
  octetCount: number;
}

export interface RtcpSenderReport {
  type: "sr";
  ssrc: number;
  sender: RtcpSenderInfo;
  reports: RtcpReportBlock[];
}

export interface RtcpReceiverReport {
  type: "rr";
  ssrc: number;
  reports: RtcpReportBlock[];
}

export interface RtcpSdesItem {
  type: number;
  value: string;
}

export interface RtcpSdesChunk {
  ssrc: number;
  items: RtcpSdesItem[];
}

export interface RtcpSdes {
  type: "sdes";
  chunks: RtcpSdesChunk[];
}

export interface RtcpBye {
  type: "bye";
  ssrcs: number[];
  reason?: string;
}

/** Any other packet type (APP, XR, RTPFB, PSFB, ...): kept raw, never interpreted. */
export interface RtcpOther {
  type: "other";
  packetType: number;
  /** The 5-bit count/subtype field. */
  count: number;
  /** Body after the 4-byte header, padding removed. A slice of the input (no copy). */
  body: Buffer;
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpBye | RtcpOther;

/**
 * True when a datagram on a multiplexed RTP/RTCP port (RFC 5761 section 4) is RTCP: version 2
 * and the second octet in 192-223 (RTP payload types 64-95 are not used with rtcp-mux).
 */
export function isRtcp(buf: Buffer): boolean {
  if (!Buffer.isBuffer(buf) || buf.length < RTCP_HEADER_BYTES) return false;
  return buf[0] >> 6 === RTCP_VERSION && buf[1] >= 192 && buf[1] <= 223;
}

/** Parses a compound (or single, RFC 5506) RTCP datagram. Returns null when malformed; never throws. */
export function parseRtcp(buf: Buffer): RtcpPacket[] | null {
  try {
    return parseCompound(buf);
  } catch {
    // Every read below is bounds-checked; this is a last line of defence for the caller's process.
    return null;
  }
}

function parseCompound(buf: Buffer): RtcpPacket[] | null {
  if (!Buffer.isBuffer(buf) || buf.length < RTCP_HEADER_BYTES || buf.length % 4 !== 0) return null;
  const packets: RtcpPacket[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (packets.length >= RTCP_MAX_PACKETS_PER_COMPOUND) return null;
    if (offset + RTCP_HEADER_BYTES > buf.length) return null;
    const b0 = buf[offset];
    if (b0 >> 6 !== RTCP_VERSION) return null;
    const padding = (b0 & 0x20) !== 0;
    const count = b0 & 0x1f;
    const packetType = buf[offset + 1];
    const end = offset + 4 * (buf.readUInt16BE(offset + 2) + 1);
    if (end > buf.length) return null;
    let bodyEnd = end;
    if (padding) {
      // A.2: only the last packet of a compound may be padded; the last octet counts the padding.
      if (end !== buf.length) return null;
      const pad = buf[end - 1];
      if (pad === 0 || pad > end - offset - RTCP_HEADER_BYTES) return null;
      bodyEnd = end - pad;
    }
    const body = buf.subarray(offset + RTCP_HEADER_BYTES, bodyEnd);
    const packet = parseOne(packetType, count, body);
    if (!packet) return null;
    packets.push(packet);
    offset = end;
  }
  return packets;
}

function parseOne(packetType: number, count: number, body: Buffer): RtcpPacket | null {
  switch (packetType) {
    case RTCP_PT_SR: {
      if (body.length < 4 + SENDER_INFO_BYTES + count * REPORT_BLOCK_BYTES) return null;
      const sender: RtcpSenderInfo = {
        ntpSec: body.readUInt32BE(4),
        ntpFrac: body.readUInt32BE(8),
        rtpTimestamp: body.readUInt32BE(12),
        packetCount: body.readUInt32BE(16),
        octetCount: body.readUInt32BE(20),
      };
      // Anything after the blocks is a profile-specific extension (section 6.4.1): ignored.
      return { type: "sr", ssrc: body.readUInt32BE(0), sender, reports: parseBlocks(body, 4 + SENDER_INFO_BYTES, count) };
    }
    case RTCP_PT_RR:
      if (body.length < 4 + count * REPORT_BLOCK_BYTES) return null;
      return { type: "rr", ssrc: body.readUInt32BE(0), reports: parseBlocks(body, 4, count) };
    case RTCP_PT_SDES:
      return parseSdes(body, count);
    case RTCP_PT_BYE:
      return parseBye(body, count);
    default:
      return { type: "other", packetType, count, body };
  }
}

function parseBlocks(body: Buffer, start: number, count: number): RtcpReportBlock[] {
  const blocks: RtcpReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = start + i * REPORT_BLOCK_BYTES;
    const lostWord = body.readUInt32BE(o + 4);
    let cumulativeLost = lostWord & 0xffffff;
    if (cumulativeLost & 0x800000) cumulativeLost -= 0x1000000;
    blocks.push({
      ssrc: body.readUInt32BE(o),
      fractionLost: lostWord >>> 24,
      cumulativeLost,
      highestSeq: body.readUInt32BE(o + 8),
      jitter: body.readUInt32BE(o + 12),
      lsr: body.readUInt32BE(o + 16),
      dlsr: body.readUInt32BE(o + 20),
    });
  }
  return blocks;
}

function parseSdes(body: Buffer, count: number): RtcpSdes | null {
  const chunks: RtcpSdesChunk[] = [];
  let o = 0;
  for (let c = 0; c < count; c++) {
    if (o + 4 > body.length) return null;
    const chunk: RtcpSdesChunk = { ssrc: body.readUInt32BE(o), items: [] };
    o += 4;
    // Items until a zero type octet; the chunk then pads to the next 32-bit boundary.
    for (;;) {
      if (o >= body.length) return null;
      const itemType = body[o];
      if (itemType === SDES_END) {
        o += 1;
        break;
      }
      if (o + 2 > body.length) return null;
      const len = body[o + 1];
      if (o + 2 + len > body.length) return null;
      if (chunk.items.length < RTCP_MAX_SDES_ITEMS_PER_CHUNK) {
        chunk.items.push({ type: itemType, value: body.toString("utf8", o + 2, o + 2 + len) });
      }
      o += 2 + len;
    }
    o = (o + 3) & ~3;
    if (o > body.length) return null;
    chunks.push(chunk);
  }
  return { type: "sdes", chunks };
}

function parseBye(body: Buffer, count: number): RtcpBye | null {
  if (body.length < 4 * count) return null;
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(body.readUInt32BE(4 * i));
  const o = 4 * count;
  if (o >= body.length) return { type: "bye", ssrcs };
  const len = body[o];
  if (o + 1 + len > body.length) return null;
  return { type: "bye", ssrcs, reason: body.toString("utf8", o + 1, o + 1 + len) };
}

// ---------------------------------------------------------------------------------------------
// Building. Out-of-range values are programming errors: RangeError, like serializeRtp().

export type RtcpPacketInit = RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpBye;

/** Serialises packets back to back into one compound datagram (no padding). */
export function serializeRtcp(packets: readonly RtcpPacketInit[]): Buffer {
  return Buffer.concat(packets.map(serializeOne));
}

function serializeOne(p: RtcpPacketInit): Buffer {
  switch (p.type) {
    case "sr": {
      checkCount(p.reports.length, "report blocks");
      const body = Buffer.alloc(4 + SENDER_INFO_BYTES + p.reports.length * REPORT_BLOCK_BYTES);
      body.writeUInt32BE(p.ssrc >>> 0, 0);
      body.writeUInt32BE(p.sender.ntpSec >>> 0, 4);
      body.writeUInt32BE(p.sender.ntpFrac >>> 0, 8);
      body.writeUInt32BE(p.sender.rtpTimestamp >>> 0, 12);
      body.writeUInt32BE(p.sender.packetCount >>> 0, 16);
      body.writeUInt32BE(p.sender.octetCount >>> 0, 20);
      writeBlocks(body, 4 + SENDER_INFO_BYTES, p.reports);
      return withHeader(RTCP_PT_SR, p.reports.length, body);
    }
    case "rr": {
      checkCount(p.reports.length, "report blocks");
      const body = Buffer.alloc(4 + p.reports.length * REPORT_BLOCK_BYTES);
      body.writeUInt32BE(p.ssrc >>> 0, 0);
      writeBlocks(body, 4, p.reports);
      return withHeader(RTCP_PT_RR, p.reports.length, body);
    }
    case "sdes": {
      checkCount(p.chunks.length, "SDES chunks");
      const parts: Buffer[] = [];
      for (const chunk of p.chunks) {
        const items: Buffer[] = [];
        for (const item of chunk.items) {
          if (item.type <= SDES_END || item.type > 255) throw new RangeError(`SDES item type out of range: ${item.type}`);
          const text = Buffer.from(item.value, "utf8");
          if (text.length > 255) throw new RangeError("SDES item longer than 255 octets");
          items.push(Buffer.from([item.type, text.length]), text);
        }
        const head = Buffer.alloc(4);
        head.writeUInt32BE(chunk.ssrc >>> 0, 0);
        const used = 4 + items.reduce((n, b) => n + b.length, 0);
        // At least one zero octet ends the item list, then zeros up to a 32-bit boundary.
        const end = Buffer.alloc(4 - (used % 4));
        parts.push(head, ...items, end);
      }
      return withHeader(RTCP_PT_SDES, p.chunks.length, Buffer.concat(parts));
    }
    case "bye": {
      checkCount(p.ssrcs.length, "BYE sources");
      const ids = Buffer.alloc(4 * p.ssrcs.length);
      p.ssrcs.forEach((s, i) => ids.writeUInt32BE(s >>> 0, 4 * i));
      if (p.reason === undefined) return withHeader(RTCP_PT_BYE, p.ssrcs.length, ids);
      const text = Buffer.from(p.reason, "utf8");
      if (text.length > 255) throw new RangeError("BYE reason longer than 255 octets");
      const reason = Buffer.alloc((1 + text.length + 3) & ~3);
      reason[0] = text.length;
      text.copy(reason, 1);
      return withHeader(RTCP_PT_BYE, p.ssrcs.length, Buffer.concat([ids, reason]));
    }
    default:
      throw new RangeError(`cannot serialise RTCP packet type ${(p as { type: string }).type}`);
  }
}

function checkCount(n: number, what: string): void {
  if (n > RTCP_MAX_COUNT) throw new RangeError(`at most ${RTCP_MAX_COUNT} ${what} per packet`);
}

function withHeader(packetType: number, count: number, body: Buffer): Buffer {
  const head = Buffer.alloc(RTCP_HEADER_BYTES);
  head[0] = (RTCP_VERSION << 6) | count;
  head[1] = packetType;
  head.writeUInt16BE(body.length / 4, 2); // words after the header = total words - 1
  return Buffer.concat([head, body]);
}

function writeBlocks(body: Buffer, start: number, blocks: readonly RtcpReportBlock[]): void {
  blocks.forEach((b, i) => {
    const o = start + i * REPORT_BLOCK_BYTES;
    const fraction = Math.max(0, Math.min(255, Math.trunc(b.fractionLost)));
    body.writeUInt32BE(b.ssrc >>> 0, o);
    body.writeUInt32BE(((fraction << 24) | (clampCumulativeLost(b.cumulativeLost) & 0xffffff)) >>> 0, o + 4);
    body.writeUInt32BE(b.highestSeq >>> 0, o + 8);
    body.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.trunc(b.jitter))), o + 12);
    body.writeUInt32BE(b.lsr >>> 0, o + 16);
    body.writeUInt32BE(b.dlsr >>> 0, o + 20);
  });
}

/** Clamps a packet-loss count to the signed 24-bit field (RFC 3550 section 6.4.1, Appendix A.3). */
export function clampCumulativeLost(lost: number): number {
  return Math.max(-0x800000, Math.min(0x7fffff, Math.trunc(lost)));
}

export interface CompoundReportInit {
  /** Our SSRC. */
  ssrc: number;
  /** Our CNAME (required in every compound, section 6.5.1). */
  cname: string;
  /** Sender info when we sent RTP recently (then an SR is built, else an RR). */
  sender?: RtcpSenderInfo | null;
  /** Report blocks about the sources we receive. More than 31 spill into extra RR packets. */
  reports?: readonly RtcpReportBlock[];
  /** Append a BYE for our SSRC (the last compound of a session, section 6.3.7). */
  bye?: { reason?: string };
}

/** Builds the compound packet of section 6.1: SR or RR first, then SDES with CNAME, then BYE. */
export function buildCompoundReport(init: CompoundReportInit): Buffer {
  const reports = init.reports ?? [];
  const first = reports.slice(0, RTCP_MAX_COUNT);
  const packets: RtcpPacketInit[] = [
    init.sender ? { type: "sr", ssrc: init.ssrc, sender: init.sender, reports: first } : { type: "rr", ssrc: init.ssrc, reports: first },
  ];
  for (let i = RTCP_MAX_COUNT; i < reports.length; i += RTCP_MAX_COUNT) {
    packets.push({ type: "rr", ssrc: init.ssrc, reports: reports.slice(i, i + RTCP_MAX_COUNT) });
  }
  packets.push({ type: "sdes", chunks: [{ ssrc: init.ssrc, items: [{ type: SDES_CNAME, value: init.cname }] }] });
  if (init.bye) packets.push({ type: "bye", ssrcs: [init.ssrc], reason: init.bye.reason });
  return serializeRtcp(packets);
}

/** The CNAME of an SDES chunk, if present. */
export function sdesCname(chunk: RtcpSdesChunk): string | undefined {
  return chunk.items.find((i) => i.type === SDES_CNAME)?.value;
}

// ---------------------------------------------------------------------------------------------
// NTP timestamps (RFC 3550 section 4): 32.32 fixed point seconds since 1900-01-01 UTC.

export interface NtpTimestamp {
  sec: number;
  frac: number;
}

/** Converts milliseconds since the Unix epoch to an NTP timestamp (era 0 wraps in 2036, as on the wire). */
export function ntpFromUnixMs(ms: number): NtpTimestamp {
  const totalSec = ms / 1000 + NTP_UNIX_OFFSET_SECONDS;
  const whole = Math.floor(totalSec);
  let frac = Math.round((totalSec - whole) * TWO_32);
  let sec = whole;
  if (frac >= TWO_32) {
    frac -= TWO_32;
    sec += 1;
  }
  return { sec: (sec % TWO_32) >>> 0, frac: frac >>> 0 };
}

/** Converts an NTP timestamp to milliseconds since the Unix epoch (era 0). */
export function ntpToUnixMs(t: NtpTimestamp): number {
  return (t.sec - NTP_UNIX_OFFSET_SECONDS) * 1000 + (t.frac / TWO_32) * 1000;
}

/** The middle 32 bits of an NTP timestamp (16.16 seconds): the LSR field and the "A" of section 6.4.1. */
export function ntpMiddle32(t: NtpTimestamp): number {
  return (((t.sec & 0xffff) << 16) | (t.frac >>> 16)) >>> 0;
}

/** Seconds in a 16.16 "short" NTP value (DLSR, and differences of middle-32 values). */
export function ntpShortToSeconds(v: number): number {
  return (v >>> 0) / 65536;
}

/** A duration in 1/65536 s units (DLSR), clamped to 32 bits. */
export function secondsToNtpShort(seconds: number): number {
  return Math.max(0, Math.min(0xffffffff, Math.round(seconds * 65536)));
}
