// SRTP and SRTCP (RFC 3711) for the two SDES suites of RFC 4568 section 6.2:
// AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32. Pure node:crypto.
//
// One SrtpContext per direction (one for what we send, one for what we
// receive), each keyed by that direction's master key and salt. Inside, state
// is kept per SSRC: the rollover counter (ROC), the highest sequence number
// seen and a replay window, separately for SRTP and SRTCP.
//
// Speed: AES-CM is done with one long-lived AES-128-ECB cipher per context
// (the counter blocks are built here and encrypted in one update() call), and
// HMAC-SHA1 from one-shot SHA-1 over scratch buffers holding the padded
// keys, so no key schedule and no crypto object is made per packet.

import crypto from "crypto";
import { createCipheriv, createHash, timingSafeEqual, type Cipher } from "crypto";

export type SrtpSuite = "AES_CM_128_HMAC_SHA1_80" | "AES_CM_128_HMAC_SHA1_32";

export interface SrtpSuiteParams {
  /** Master (and session) cipher key length in bytes. */
  keyLength: number;
  /** Master (and session) salt length in bytes. */
  saltLength: number;
  /** SRTP authentication tag length in bytes. */
  rtpTagLength: number;
  /** SRTCP authentication tag length in bytes (80 bits for both suites, RFC 4568 section 6.2). */
  rtcpTagLength: number;
  /**
   * Other SRTCP tag length some peers use with this suite, accepted on
   * receipt: libre (baresip) applies the 32-bit SRTP tag to SRTCP as well.
   * 0 = none.
   */
  rtcpTagLengthAlt: number;
}

export const SRTP_SUITES: Readonly<Record<SrtpSuite, SrtpSuiteParams>> = {
  AES_CM_128_HMAC_SHA1_80: { keyLength: 16, saltLength: 14, rtpTagLength: 10, rtcpTagLength: 10, rtcpTagLengthAlt: 0 },
  AES_CM_128_HMAC_SHA1_32: { keyLength: 16, saltLength: 14, rtpTagLength: 4, rtcpTagLength: 10, rtcpTagLengthAlt: 4 },
};

export function isSrtpSuite(name: string): name is SrtpSuite {
  return Object.prototype.hasOwnProperty.call(SRTP_SUITES, name);
}

/**
 * Replay window, in packets, per SSRC (RFC 3711 section 3.3.2 asks for at
 * least 64). 128 tolerates the reordering of a jittery path at 50 packets/s.
 */
export const SRTP_REPLAY_WINDOW = 128;

/**
 * Most SSRCs one context keeps state for (SRTP and SRTCP each). A call has one
 * per direction; a few more cover an SSRC change (re-INVITE, transfer).
 * Receiving, the least recently used stream is then forgotten (state is only
 * created by a packet that authenticates, so an attacker without the key
 * cannot fill it). Sending, a new SSRC past the limit is refused instead:
 * forgetting a sender's ROC or SRTCP index would reuse keystream.
 */
export const SRTP_MAX_STREAMS = 8;

/** Largest packet handled (UDP payload limit); anything longer is refused. */
export const SRTP_MAX_PACKET_BYTES = 65535;

/** Key derivation labels (RFC 3711 section 4.3.2). */
const LABEL_RTP_CIPHER = 0;
const LABEL_RTP_AUTH = 1;
const LABEL_RTP_SALT = 2;
const LABEL_RTCP_CIPHER = 3;
const LABEL_RTCP_AUTH = 4;
const LABEL_RTCP_SALT = 5;

/** HMAC-SHA1 session key length (n_a = 160 bits, RFC 3711 section 8.2). */
const AUTH_KEY_BYTES = 20;
const SHA1_BLOCK_BYTES = 64;
const AES_BLOCK = 16;
const EMPTY = Buffer.alloc(0);
const RTP_HEADER_BYTES = 12;
const RTCP_HEADER_BYTES = 8;
/** SRTCP: E flag and 31-bit index trailer. */
const SRTCP_INDEX_BYTES = 4;
const SRTCP_MAX_INDEX = 0x7fffffff;
/** 2^48: the packet index space of SRTP (ROC 32 bits, SEQ 16 bits). */
const SRTP_INDEX_LIMIT = 2 ** 48;

export interface SrtpContextOptions {
  suite: SrtpSuite;
  /** 16 bytes. */
  masterKey: Uint8Array;
  /** 14 bytes. */
  masterSalt: Uint8Array;
  /**
   * Master Key Identifier carried in every packet (RFC 3711 section 3.1), as
   * negotiated by SDES "|MKI:len". Omit when the key line has none.
   */
  mki?: Uint8Array;
  /**
   * Send SRTCP with the suite's short alternative tag (32 bits under
   * AES_CM_128_HMAC_SHA1_32) instead of RFC 4568's 80 bits, for peers built
   * on libre (baresip) which expect that. Default false. See
   * SrtpContext.shortSrtcpTagSeen for telling such a peer apart.
   */
  srtcpShortTag?: boolean;
}

/** Session keys of one packet kind (RTP or RTCP), derived with kdr = 0. */
export interface SrtpSessionKeys {
  cipherKey: Buffer;
  cipherSalt: Buffer;
  authKey: Buffer;
}

/**
 * The AES-CM PRF of RFC 3711 section 4.3.3 with key_derivation_rate 0:
 * x = label at octet 7 of the master salt, IV = x * 2^16, output the first
 * `length` bytes of the AES-CM keystream under the master key.
 */
export function deriveSessionKey(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, length: number): Buffer {
  const iv = Buffer.alloc(AES_BLOCK);
  iv.set(masterSalt.subarray(0, 14), 0);
  // key_id = label || (index DIV kdr) = label || 0x000000000000, right-aligned
  // against the 14-byte salt: the label lands on octet 7.
  iv[7] ^= label;
  const cipher = createCipheriv("aes-128-ctr", masterKey, iv);
  return cipher.update(Buffer.alloc(length));
}

/** The three session keys for SRTP (rtcp = false, labels 0..2) or SRTCP (labels 3..5). */
export function deriveSessionKeys(masterKey: Uint8Array, masterSalt: Uint8Array, rtcp: boolean): SrtpSessionKeys {
  return {
    cipherKey: deriveSessionKey(masterKey, masterSalt, rtcp ? LABEL_RTCP_CIPHER : LABEL_RTP_CIPHER, 16),
    authKey: deriveSessionKey(masterKey, masterSalt, rtcp ? LABEL_RTCP_AUTH : LABEL_RTP_AUTH, AUTH_KEY_BYTES),
    cipherSalt: deriveSessionKey(masterKey, masterSalt, rtcp ? LABEL_RTCP_SALT : LABEL_RTP_SALT, 14),
  };
}

/**
 * AES in counter mode as SRTP uses it (RFC 3711 section 4.1.1), with one
 * reusable ECB cipher and a reusable counter buffer.
 */
export class AesCmKeystream {
  private readonly ecb: Cipher;
  private counters = Buffer.alloc(0);

  constructor(key: Uint8Array) {
    this.ecb = createCipheriv("aes-128-ecb", key, null);
    this.ecb.setAutoPadding(false);
  }

  /** The first `length` keystream bytes for the 16-byte IV (block counter in its last two bytes). */
  keystream(iv: Uint8Array, length: number): Buffer {
    const blocks = Math.ceil(length / AES_BLOCK);
    const need = blocks * AES_BLOCK;
    if (this.counters.length < need) this.counters = Buffer.alloc(Math.max(need, 2 * this.counters.length));
    const c = this.counters;
    for (let b = 0; b < blocks; b++) {
      const o = b * AES_BLOCK;
      c.set(iv, o);
      // The IV's last two bytes are zero; the block number (< 2^16) goes there.
      // Node's own CTR adds over all 128 bits, which gives the same result.
      c[o + 14] = iv[14] ^ (b >>> 8);
      c[o + 15] = iv[15] ^ (b & 0xff);
    }
    return this.ecb.update(c.subarray(0, need));
  }

  /** XORs the keystream into buf[start, end) in place. */
  xorInPlace(iv: Uint8Array, buf: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len <= 0) return;
    const ks = this.keystream(iv, len);
    for (let i = 0; i < len; i++) buf[start + i] ^= ks[i];
  }
}

/** One-shot SHA-1 (crypto.hash, Node >= 20.12) without a Hash object per call; createHash before that. */
const sha1: (data: Buffer) => Buffer =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (data) => crypto.hash("sha1", data, "buffer")
    : (data) => createHash("sha1").update(data).digest();

/**
 * HMAC-SHA1 (RFC 2104) as H(K^opad || H(K^ipad || m)) over reusable scratch
 * buffers that already hold the padded keys: no Hash/Hmac object and no key
 * schedule per packet (they cost more than the hashing itself).
 */
class HmacSha1 {
  /** K^ipad followed by room for the message. */
  private inner: Buffer;
  /** K^opad followed by the 20-byte inner digest. */
  private readonly outer = Buffer.alloc(SHA1_BLOCK_BYTES + 20);

  constructor(key: Buffer) {
    const k = Buffer.alloc(SHA1_BLOCK_BYTES);
    (key.length > SHA1_BLOCK_BYTES ? sha1(key) : key).copy(k);
    this.inner = Buffer.alloc(SHA1_BLOCK_BYTES + 256);
    for (let i = 0; i < SHA1_BLOCK_BYTES; i++) {
      this.inner[i] = k[i] ^ 0x36;
      this.outer[i] = k[i] ^ 0x5c;
    }
  }

  /** HMAC over a || b. */
  mac(a: Uint8Array, b: Uint8Array): Buffer {
    const len = SHA1_BLOCK_BYTES + a.length + b.length;
    if (this.inner.length < len) {
      const grown = Buffer.alloc(Math.max(len, 2 * this.inner.length));
      this.inner.copy(grown, 0, 0, SHA1_BLOCK_BYTES);
      this.inner = grown;
    }
    this.inner.set(a, SHA1_BLOCK_BYTES);
    this.inner.set(b, SHA1_BLOCK_BYTES + a.length);
    sha1(this.inner.subarray(0, len)).copy(this.outer, SHA1_BLOCK_BYTES);
    return sha1(this.outer);
  }
}

/**
 * Replay list of RFC 3711 section 3.3.2 as a ring bitmap of
 * SRTP_REPLAY_WINDOW bits: bit (index mod W) is set once that index was
 * accepted. `highest` is the largest index accepted so far.
 */
class ReplayWindow {
  highest = -1;
  private readonly bits = new Uint32Array(SRTP_REPLAY_WINDOW / 32);

  /** True when `index` is new and not older than the window. */
  check(index: number): boolean {
    if (this.highest < 0 || index > this.highest) return true;
    if (this.highest - index >= SRTP_REPLAY_WINDOW) return false;
    const bit = index % SRTP_REPLAY_WINDOW;
    return (this.bits[bit >>> 5] & (1 << (bit & 31))) === 0;
  }

  /** Records `index` as received (call only after check() and authentication passed). */
  accept(index: number): void {
    if (index > this.highest) {
      // Clear the slots the window slides over (all of them after a big jump).
      const first = this.highest < 0 ? index : this.highest + 1;
      if (index - first + 1 >= SRTP_REPLAY_WINDOW) this.bits.fill(0);
      else for (let i = first; i <= index; i++) this.clear(i % SRTP_REPLAY_WINDOW);
      this.highest = index;
    }
    const bit = index % SRTP_REPLAY_WINDOW;
    this.bits[bit >>> 5] |= 1 << (bit & 31);
  }

  private clear(bit: number): void {
    this.bits[bit >>> 5] &= ~(1 << (bit & 31));
  }
}

interface StreamState {
  /** SRTP: highest packet index (ROC * 65536 + s_l) seen; SRTCP: highest index sent. */
  highestIndex: number;
  replay: ReplayWindow;
  lastUsed: number;
}

/**
 * Packet index estimate of RFC 3711 section 3.3.1 and Appendix A: the ROC
 * value v (ROC - 1, ROC or ROC + 1) that puts SEQ closest to s_l.
 * Returns -1 when the guess would fall before index 0.
 */
export function estimateSrtpIndex(highestIndex: number, seq: number): number {
  if (highestIndex < 0) return seq;
  const roc = Math.floor(highestIndex / 65536);
  const sl = highestIndex % 65536;
  let v = roc;
  if (sl < 32768) {
    if (seq - sl > 32768) v = roc - 1;
  } else if (sl - 32768 > seq) {
    v = roc + 1;
  }
  if (v < 0 || v > 0xffffffff) return -1;
  return v * 65536 + seq;
}

/** Length of the RTP header (fixed part, CSRCs, extension), or -1 if malformed. */
function rtpHeaderLength(p: Buffer, end: number): number {
  if (end < RTP_HEADER_BYTES || p[0] >> 6 !== 2) return -1;
  let n = RTP_HEADER_BYTES + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (n + 4 > end) return -1;
    n += 4 + 4 * p.readUInt16BE(n + 2);
  }
  return n <= end ? n : -1;
}

class Direction {
  readonly cipher: AesCmKeystream;
  readonly hmac: HmacSha1;
  readonly salt: Buffer;
  readonly streams = new Map<number, StreamState>();

  constructor(keys: SrtpSessionKeys) {
    this.cipher = new AesCmKeystream(keys.cipherKey);
    this.hmac = new HmacSha1(keys.authKey);
    this.salt = keys.cipherSalt;
  }

  /** IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16), RFC 3711 section 4.1.1. */
  iv(out: Buffer, ssrc: number, index: number): Buffer {
    out.fill(0);
    out.set(this.salt, 0);
    out[4] ^= ssrc >>> 24;
    out[5] ^= (ssrc >>> 16) & 0xff;
    out[6] ^= (ssrc >>> 8) & 0xff;
    out[7] ^= ssrc & 0xff;
    const hi = Math.floor(index / 2 ** 32);
    const lo = index >>> 0;
    out[8] ^= (hi >>> 8) & 0xff;
    out[9] ^= hi & 0xff;
    out[10] ^= lo >>> 24;
    out[11] ^= (lo >>> 16) & 0xff;
    out[12] ^= (lo >>> 8) & 0xff;
    out[13] ^= lo & 0xff;
    return out;
  }

  stream(ssrc: number, tick: number): StreamState | undefined {
    const s = this.streams.get(ssrc);
    if (s) s.lastUsed = tick;
    return s;
  }

  /**
   * New state for `ssrc`. Beyond SRTP_MAX_STREAMS a receiver forgets the least
   * recently used stream; a sender (evict = false) throws RangeError.
   */
  addStream(ssrc: number, tick: number, evict: boolean): StreamState {
    if (this.streams.size >= SRTP_MAX_STREAMS) {
      if (!evict) throw new RangeError(`more than ${SRTP_MAX_STREAMS} SSRCs sent under one SRTP context`);
      let victim = -1;
      let oldest = Infinity;
      for (const [k, s] of this.streams) {
        if (s.lastUsed < oldest) {
          oldest = s.lastUsed;
          victim = k;
        }
      }
      this.streams.delete(victim);
    }
    const s: StreamState = { highestIndex: -1, replay: new ReplayWindow(), lastUsed: tick };
    this.streams.set(ssrc, s);
    return s;
  }
}

/**
 * SRTP/SRTCP crypto context for one direction. protect* are for packets we
 * built and throw RangeError on a programming error: a malformed packet, a
 * sequence number that does not advance (keystream reuse), a new SSRC past
 * SRTP_MAX_STREAMS, an exhausted index;
 * unprotect* take network input and never throw: null means malformed,
 * failed authentication or replayed.
 */
export class SrtpContext {
  readonly suite: SrtpSuite;
  private readonly params: SrtpSuiteParams;
  private readonly rtp: Direction;
  private readonly rtcp: Direction;
  private readonly mki: Buffer;
  private readonly ivBuf = Buffer.alloc(AES_BLOCK);
  private readonly rocBuf = Buffer.alloc(4);
  /** Use counter for least-recently-used eviction. */
  private tick = 0;
  /** Send SRTCP with the short alternative tag (see SrtpContextOptions.srtcpShortTag). */
  srtcpShortTag: boolean;
  /** True once an authentic SRTCP packet arrived with the short alternative tag (a libre peer). */
  shortSrtcpTagSeen = false;

  constructor(opts: SrtpContextOptions) {
    if (!isSrtpSuite(opts.suite)) throw new RangeError("unsupported SRTP suite");
    this.suite = opts.suite;
    this.params = SRTP_SUITES[opts.suite];
    if (opts.masterKey.length !== this.params.keyLength) throw new RangeError("SRTP master key has the wrong length");
    if (opts.masterSalt.length !== this.params.saltLength) throw new RangeError("SRTP master salt has the wrong length");
    this.mki = Buffer.from(opts.mki ?? []);
    this.srtcpShortTag = opts.srtcpShortTag === true;
    this.rtp = new Direction(deriveSessionKeys(opts.masterKey, opts.masterSalt, false));
    this.rtcp = new Direction(deriveSessionKeys(opts.masterKey, opts.masterSalt, true));
  }

  /** Bytes protectRtp adds to a packet (MKI + tag). */
  get rtpOverhead(): number {
    return this.mki.length + this.params.rtpTagLength;
  }

  /** Bytes protectRtcp adds to a packet (E|index + MKI + tag). */
  get rtcpOverhead(): number {
    return SRTCP_INDEX_BYTES + this.mki.length + this.rtcpSendTagLength();
  }

  private rtcpSendTagLength(): number {
    return this.srtcpShortTag && this.params.rtcpTagLengthAlt > 0 ? this.params.rtcpTagLengthAlt : this.params.rtcpTagLength;
  }

  /** Number of SSRCs with SRTP state (for tests and diagnostics). */
  get rtpStreamCount(): number {
    return this.rtp.streams.size;
  }

  /** Number of SSRCs with SRTCP state. */
  get rtcpStreamCount(): number {
    return this.rtcp.streams.size;
  }

  /** RTP in, SRTP out (a new buffer; the input is not modified). */
  protectRtp(packet: Uint8Array): Buffer {
    const len = packet.length;
    const tagLen = this.params.rtpTagLength;
    if (len + this.rtpOverhead > SRTP_MAX_PACKET_BYTES) throw new RangeError("RTP packet too long");
    const out = Buffer.allocUnsafe(len + this.mki.length + tagLen);
    out.set(packet, 0);
    const headerLen = rtpHeaderLength(out, len);
    if (headerLen < 0) throw new RangeError("malformed RTP packet");
    const seq = out.readUInt16BE(2);
    const ssrc = out.readUInt32BE(8);
    const tick = ++this.tick;
    const state = this.rtp.stream(ssrc, tick) ?? this.rtp.addStream(ssrc, tick, false);
    // The sender tracks its own ROC the same way a receiver guesses it, and
    // the index must advance: a re-sent or backwards sequence number would
    // encrypt a new payload under keystream already used.
    const index = estimateSrtpIndex(state.highestIndex, seq);
    if (index <= state.highestIndex) throw new RangeError("SRTP sequence number did not advance: would reuse keystream");
    if (index >= SRTP_INDEX_LIMIT) throw new RangeError("SRTP packet index exhausted: re-key");
    state.highestIndex = index;

    this.rtp.cipher.xorInPlace(this.rtp.iv(this.ivBuf, ssrc, index), out, headerLen, len);
    this.rocBuf.writeUInt32BE(Math.floor(index / 65536), 0);
    const tag = this.rtp.hmac.mac(out.subarray(0, len), this.rocBuf);
    this.mki.copy(out, len);
    tag.copy(out, len + this.mki.length, 0, tagLen);
    return out;
  }

  /** SRTP in, RTP out (a new buffer), or null. Never throws. */
  unprotectRtp(packet: Uint8Array): Buffer | null {
    try {
      return this.unprotectRtpUnsafe(packet);
    } catch {
      return null;
    }
  }

  private unprotectRtpUnsafe(packet: Uint8Array): Buffer | null {
    if (!(packet instanceof Uint8Array) || packet.length > SRTP_MAX_PACKET_BYTES) return null;
    const tagLen = this.params.rtpTagLength;
    const mkiLen = this.mki.length;
    const end = packet.length - tagLen - mkiLen;
    const p = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
    const headerLen = rtpHeaderLength(p, end);
    if (headerLen < 0) return null;
    if (mkiLen > 0 && !p.subarray(end, end + mkiLen).equals(this.mki)) return null;
    const seq = p.readUInt16BE(2);
    const ssrc = p.readUInt32BE(8);
    const state = this.rtp.streams.get(ssrc);
    const index = estimateSrtpIndex(state ? state.highestIndex : -1, seq);
    if (index < 0 || index >= SRTP_INDEX_LIMIT) return null;
    if (state && !state.replay.check(index)) return null;

    this.rocBuf.writeUInt32BE(Math.floor(index / 65536), 0);
    const tag = this.rtp.hmac.mac(p.subarray(0, end), this.rocBuf);
    if (!timingSafeEqual(tag.subarray(0, tagLen), p.subarray(end + mkiLen, end + mkiLen + tagLen))) return null;

    // Authentic: only now may the packet change state.
    const tick = ++this.tick;
    const s = state ?? this.rtp.addStream(ssrc, tick, true);
    s.lastUsed = tick;
    s.replay.accept(index);
    if (index > s.highestIndex) s.highestIndex = index;

    const out = Buffer.allocUnsafe(end);
    p.copy(out, 0, 0, end);
    this.rtp.cipher.xorInPlace(this.rtp.iv(this.ivBuf, ssrc, index), out, headerLen, end);
    return out;
  }

  /** RTCP (compound) in, SRTCP out with E = 1 and the next SRTCP index. */
  protectRtcp(packet: Uint8Array): Buffer {
    const len = packet.length;
    if (len < RTCP_HEADER_BYTES || packet[0] >> 6 !== 2) throw new RangeError("malformed RTCP packet");
    if (len + this.rtcpOverhead > SRTP_MAX_PACKET_BYTES) throw new RangeError("RTCP packet too long");
    const mkiLen = this.mki.length;
    const out = Buffer.allocUnsafe(len + this.rtcpOverhead);
    out.set(packet, 0);
    const ssrc = out.readUInt32BE(4);
    const tick = ++this.tick;
    const state = this.rtcp.stream(ssrc, tick) ?? this.rtcp.addStream(ssrc, tick, false);
    // The SRTCP index starts at 0 and counts every packet sent (RFC 3711 section 3.4).
    const index = state.highestIndex + 1;
    if (index > SRTCP_MAX_INDEX) throw new RangeError("SRTCP index exhausted: re-key");
    state.highestIndex = index;

    this.rtcp.cipher.xorInPlace(this.rtcp.iv(this.ivBuf, ssrc, index), out, RTCP_HEADER_BYTES, len);
    out.writeUInt32BE((0x80000000 | index) >>> 0, len);
    const authEnd = len + SRTCP_INDEX_BYTES;
    const tag = this.rtcp.hmac.mac(out.subarray(0, authEnd), EMPTY);
    this.mki.copy(out, authEnd);
    tag.copy(out, authEnd + mkiLen, 0, this.rtcpSendTagLength());
    return out;
  }

  /** SRTCP in, RTCP out (a new buffer), or null. Never throws. */
  unprotectRtcp(packet: Uint8Array): Buffer | null {
    try {
      if (!(packet instanceof Uint8Array) || packet.length > SRTP_MAX_PACKET_BYTES) return null;
      const p = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
      const out = this.unprotectRtcpWithTag(p, this.params.rtcpTagLength);
      if (out || this.params.rtcpTagLengthAlt === 0) return out;
      // Same key, other tag length: a libre peer under the _32 suite. Its
      // forgery odds are those of the suite's own SRTP tag.
      const alt = this.unprotectRtcpWithTag(p, this.params.rtcpTagLengthAlt);
      if (alt) this.shortSrtcpTagSeen = true;
      return alt;
    } catch {
      return null;
    }
  }

  private unprotectRtcpWithTag(p: Buffer, tagLen: number): Buffer | null {
    const mkiLen = this.mki.length;
    const authEnd = p.length - tagLen - mkiLen;
    const end = authEnd - SRTCP_INDEX_BYTES;
    if (end < RTCP_HEADER_BYTES) return null;
    if (p[0] >> 6 !== 2) return null;
    if (mkiLen > 0 && !p.subarray(authEnd, authEnd + mkiLen).equals(this.mki)) return null;
    const word = p.readUInt32BE(end);
    const encrypted = (word & 0x80000000) !== 0;
    const index = word & SRTCP_MAX_INDEX;
    const ssrc = p.readUInt32BE(4);
    const state = this.rtcp.streams.get(ssrc);
    if (state && !state.replay.check(index)) return null;

    const tag = this.rtcp.hmac.mac(p.subarray(0, authEnd), EMPTY);
    if (!timingSafeEqual(tag.subarray(0, tagLen), p.subarray(authEnd + mkiLen, authEnd + mkiLen + tagLen))) return null;

    const tick = ++this.tick;
    const s = state ?? this.rtcp.addStream(ssrc, tick, true);
    s.lastUsed = tick;
    s.replay.accept(index);

    const out = Buffer.allocUnsafe(end);
    p.copy(out, 0, 0, end);
    if (encrypted) this.rtcp.cipher.xorInPlace(this.rtcp.iv(this.ivBuf, ssrc, index), out, RTCP_HEADER_BYTES, end);
    return out;
  }
}
