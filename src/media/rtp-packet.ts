// RTP fixed header (RFC 3550 section 5.1) parsing and serialisation.

export const RTP_VERSION = 2;
export const RTP_HEADER_BYTES = 12;

export interface RtpHeaderExtension {
  /** 16-bit profile-defined identifier. */
  profile: number;
  /** Extension body; its length must be a multiple of 4 bytes. */
  data: Buffer;
}

export interface RtpPacket {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  headerExtension: RtpHeaderExtension | null;
  /** A slice of the input buffer (no copy): header, extension and padding removed. */
  payload: Buffer;
}

export interface RtpPacketInit {
  marker?: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: number[];
  headerExtension?: RtpHeaderExtension | null;
  /** Number of padding bytes to append (0-255; 0 = no padding bit). */
  paddingBytes?: number;
}

/** Parses an RTP packet. Returns null for anything malformed; never throws. */
export function parseRtp(buf: Buffer): RtpPacket | null {
  if (!Buffer.isBuffer(buf) || buf.length < RTP_HEADER_BYTES) return null;
  const b0 = buf[0];
  const version = b0 >> 6;
  if (version !== RTP_VERSION) return null;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  const b1 = buf[1];
  let offset = RTP_HEADER_BYTES + 4 * csrcCount;
  if (offset > buf.length) return null;
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(buf.readUInt32BE(RTP_HEADER_BYTES + 4 * i));

  let headerExtension: RtpHeaderExtension | null = null;
  if (extension) {
    if (offset + 4 > buf.length) return null;
    const profile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    const start = offset + 4;
    const end = start + 4 * words;
    if (end > buf.length) return null;
    headerExtension = { profile, data: buf.subarray(start, end) };
    offset = end;
  }

  let end = buf.length;
  if (padding) {
    // The last octet counts the padding octets including itself (so >= 1).
    if (end <= offset) return null;
    const count = buf[end - 1];
    if (count === 0 || count > end - offset) return null;
    end -= count;
  }

  return {
    version,
    padding,
    extension,
    csrcCount,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    headerExtension,
    payload: buf.subarray(offset, end),
  };
}

/** Builds an RTP packet. Throws RangeError on out-of-range header values (programming errors). */
export function serializeRtp(init: RtpPacketInit, payload: Uint8Array): Buffer {
  const csrcs = init.csrcs ?? [];
  const ext = init.headerExtension ?? null;
  const paddingBytes = init.paddingBytes ?? 0;
  if (csrcs.length > 15) throw new RangeError("at most 15 CSRCs");
  checkPayloadType(init.payloadType);
  if (paddingBytes < 0 || paddingBytes > 255) throw new RangeError("padding must be 0-255 bytes");
  if (ext && (ext.data.length % 4 !== 0 || ext.data.length / 4 > 0xffff)) {
    throw new RangeError("extension data must be a multiple of 4 bytes");
  }

  const headerLen = RTP_HEADER_BYTES + 4 * csrcs.length + (ext ? 4 + ext.data.length : 0);
  const out = Buffer.allocUnsafe(headerLen + payload.length + paddingBytes);
  writeFixedHeader(out, init, (paddingBytes > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length);
  let offset = RTP_HEADER_BYTES;
  for (const c of csrcs) {
    out.writeUInt32BE(c >>> 0, offset);
    offset += 4;
  }
  if (ext) {
    out.writeUInt16BE(ext.profile & 0xffff, offset);
    out.writeUInt16BE(ext.data.length / 4, offset + 2);
    out.set(ext.data, offset + 4);
    offset += 4 + ext.data.length;
  }
  out.set(payload, offset);
  offset += payload.length;
  if (paddingBytes > 0) {
    out.fill(0, offset, offset + paddingBytes - 1);
    out[offset + paddingBytes - 1] = paddingBytes;
  }
  return out;
}

/**
 * A packet of the fixed header alone (no CSRCs, extension or padding) with `payloadBytes` of room
 * after it, for a payload written in place (the media worker encodes G.711 straight into it).
 * Same checks as serializeRtp.
 */
export function rtpPacketWithRoom(init: RtpPacketInit, payloadBytes: number): Buffer {
  checkPayloadType(init.payloadType);
  const out = Buffer.allocUnsafe(RTP_HEADER_BYTES + payloadBytes);
  writeFixedHeader(out, init, 0);
  return out;
}

/** The 12 fixed header bytes; `flags` are the first octet's P, X and CC bits. */
function writeFixedHeader(out: Buffer, init: RtpPacketInit, flags: number): void {
  out[0] = (RTP_VERSION << 6) | flags;
  out[1] = (init.marker ? 0x80 : 0) | init.payloadType;
  // Masking makes wrap-around the caller's non-issue.
  out.writeUInt16BE(init.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(init.timestamp >>> 0, 4);
  out.writeUInt32BE(init.ssrc >>> 0, 8);
}

function checkPayloadType(pt: number): void {
  if (!Number.isInteger(pt) || pt < 0 || pt > 127) throw new RangeError(`payload type out of range: ${pt}`);
}
