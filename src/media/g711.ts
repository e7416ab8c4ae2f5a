// G.711 (PCMU / PCMA) framing on top of the alawmulaw sample codecs.
import { alaw, mulaw } from "alawmulaw";
import type { Codec } from "../types";
import { SAMPLES_PER_FRAME } from "./audio-format";

/** Static RTP payload types from RFC 3551. */
export function payloadTypeOf(codec: Codec): 0 | 8 {
  return codec === "PCMU" ? 0 : 8;
}

/** Inverse of payloadTypeOf; null for anything that is not G.711. */
export function codecOfPayloadType(pt: number): Codec | null {
  if (pt === 0) return "PCMU";
  if (pt === 8) return "PCMA";
  return null;
}

/** Encodes linear 16-bit PCM (any length, normally SAMPLES_PER_FRAME) to G.711 bytes. */
export function encodeFrame(codec: Codec, pcm: Int16Array): Buffer {
  const bytes = codec === "PCMU" ? mulaw.encode(pcm) : alaw.encode(pcm);
  // Wrap without copying: alawmulaw returns a fresh Uint8Array per call.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes G.711 bytes to linear 16-bit PCM (one sample per byte). */
export function decodeFrame(codec: Codec, payload: Uint8Array): Int16Array {
  return codec === "PCMU" ? mulaw.decode(payload) : alaw.decode(payload);
}

const silenceCache = new Map<Codec, Buffer>();

/**
 * One 20 ms frame of encoded silence (0xFF for PCMU, 0xD5 for PCMA).
 * Cached and shared: treat it as read-only.
 */
export function silenceFrame(codec: Codec): Buffer {
  let frame = silenceCache.get(codec);
  if (!frame) {
    frame = encodeFrame(codec, new Int16Array(SAMPLES_PER_FRAME));
    silenceCache.set(codec, frame);
  }
  return frame;
}
