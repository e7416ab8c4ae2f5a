// G.711 (PCMU / PCMA, ITU-T G.711) by lookup tables: one 64 Ki-entry encode table and one 256-entry
// decode table per law, built once per thread (256 KiB in all). A table lookup per sample instead of
// a segment search: the media worker codes every frame of every call.
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

/** μ-law: 14-bit magnitude plus bias 0x84, eight segments; the code is sent inverted. */
const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

function mulawEncodeSample(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = sign ? -sample : sample;
  if (magnitude > MULAW_CLIP) magnitude = MULAW_CLIP;
  magnitude += MULAW_BIAS;
  // The segment is the position of the highest set bit above bit 7.
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function mulawDecodeSample(code: number): number {
  const u = ~code & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

/** A-law: eight segments from 256 up (below, 16 steps of 16); even bits are inverted on the wire (XOR 0x55). */
const ALAW_CLIP = 32635;

function alawEncodeSample(sample: number): number {
  const sign = sample >= 0 ? 0x80 : 0;
  let magnitude = sample >= 0 ? sample : -sample;
  if (magnitude > ALAW_CLIP) magnitude = ALAW_CLIP;
  let code: number;
  if (magnitude >= 256) {
    // The segment is one more than the position of the highest set bit of magnitude >> 8.
    let exponent = 7;
    for (let mask = 0x4000; (magnitude & mask) === 0; mask >>= 1) exponent--;
    code = (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0f);
  } else {
    code = magnitude >> 4;
  }
  return code ^ (sign ^ 0x55);
}

function alawDecodeSample(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

function encodeTable(encodeSample: (s: number) => number): Uint8Array {
  const t = new Uint8Array(0x10000);
  for (let i = 0; i < 0x10000; i++) t[i] = encodeSample((i << 16) >> 16);
  return t;
}

function decodeTable(decodeSample: (b: number) => number): Int16Array {
  const t = new Int16Array(256);
  for (let i = 0; i < 256; i++) t[i] = decodeSample(i);
  return t;
}

const ENCODE: Record<Codec, Uint8Array> = { PCMU: encodeTable(mulawEncodeSample), PCMA: encodeTable(alawEncodeSample) };
const DECODE: Record<Codec, Int16Array> = { PCMU: decodeTable(mulawDecodeSample), PCMA: decodeTable(alawDecodeSample) };

/** Writes the G.711 code of each sample of `pcm` into `out` from `offset` on (pcm.length bytes). */
export function encodeInto(codec: Codec, pcm: Int16Array, out: Uint8Array, offset: number): void {
  const table = ENCODE[codec];
  for (let i = 0; i < pcm.length; i++) out[offset + i] = table[pcm[i] & 0xffff];
}

/** Encodes linear 16-bit PCM (any length, normally SAMPLES_PER_FRAME) to G.711 bytes. */
export function encodeFrame(codec: Codec, pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length);
  encodeInto(codec, pcm, out, 0);
  return out;
}

/** Decodes G.711 bytes to linear 16-bit PCM (one sample per byte). */
export function decodeFrame(codec: Codec, payload: Uint8Array): Int16Array {
  const table = DECODE[codec];
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]];
  return out;
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
