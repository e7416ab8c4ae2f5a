// SDES: SRTP master keys in the SDP "a=crypto" attribute (RFC 4568).
//
//   a=crypto:<tag> <suite> inline:<base64(key || salt)>[|<lifetime>][|<MKI>:<length>] [<session params>]
//
// Parsing is strict and never throws: a line is either a usable key for a
// suite we implement (srtp.ts) or a typed refusal. The key travels in the
// clear inside the SDP, so it is only as secret as the signalling (TLS); the
// caller decides whether SDES may be used on a given transport.

import { randomBytes } from "crypto";
import { inspect } from "util";
import { SRTP_SUITES, SrtpContext, isSrtpSuite, type SrtpSuite } from "./srtp";

/** Longest a=crypto value parsed; real ones are under 100 characters. */
export const SDES_MAX_ATTRIBUTE_LENGTH = 1024;

/** Most a=crypto lines of one media section looked at when choosing a suite. */
export const SDES_MAX_OFFERED_ATTRIBUTES = 16;

/** Suites we offer and accept, in order of preference. */
export const SDES_SUITES: readonly SrtpSuite[] = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"];

/** Largest master key lifetime, in packets (2^48 SRTP packets, RFC 3711 section 9.2). */
const MAX_LIFETIME = 2 ** 48;
/** Tag: 1 to 9 digits (RFC 4568 section 9.1). */
const TAG_RE = /^[0-9]{1,9}$/;
const SUITE_RE = /^[A-Za-z0-9_]+$/;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
/** Session parameters that change nothing for us and may be ignored. */
const IGNORABLE_SESSION_PARAMS = /^(WSH=[0-9]{1,9}|FEC_ORDER=FEC_SRTP)$/;

export type SdesParseError =
  "too-long" | "syntax" | "unsupported-suite" | "unsupported-key-method" | "bad-key" | "bad-lifetime" | "bad-mki" | "unsupported-parameter";

export interface SdesKeyMaterial {
  masterKey: Buffer;
  masterSalt: Buffer;
}

/**
 * One usable a=crypto line. The key material is hidden from util.inspect and
 * JSON.stringify so that logging the object does not leak it.
 */
export class SdesCrypto implements SdesKeyMaterial {
  constructor(
    readonly tag: number,
    readonly suite: SrtpSuite,
    readonly masterKey: Buffer,
    readonly masterSalt: Buffer,
    /** Master key lifetime in packets, null when not given. */
    readonly lifetime: number | null = null,
    /** MKI as carried in packets (value big-endian in `length` bytes), null when none. */
    readonly mki: Buffer | null = null,
    /** Session parameters we accepted (and ignore). */
    readonly sessionParams: readonly string[] = [],
  ) {}

  toJSON(): object {
    return { tag: this.tag, suite: this.suite, lifetime: this.lifetime, mki: this.mki?.length ?? null, key: "[redacted]" };
  }

  [inspect.custom](): string {
    return `SdesCrypto { tag: ${this.tag}, suite: ${this.suite}, key: [redacted] }`;
  }

  /** The attribute value (what follows "a=crypto:"). Contains the key: never log it. */
  toAttributeValue(): string {
    let inline = Buffer.concat([this.masterKey, this.masterSalt]).toString("base64");
    if (this.lifetime !== null) inline += `|${this.lifetime}`;
    if (this.mki) inline += `|${mkiValue(this.mki)}:${this.mki.length}`;
    return [`${this.tag}`, this.suite, `inline:${inline}`, ...this.sessionParams].join(" ");
  }

  /** SRTP context keyed with this line's key (for the direction this key protects). */
  createContext(): SrtpContext {
    return new SrtpContext({ suite: this.suite, masterKey: this.masterKey, masterSalt: this.masterSalt, mki: this.mki ?? undefined });
  }
}

export type SdesParseResult = { ok: true; crypto: SdesCrypto } | { ok: false; error: SdesParseError; tag: number | null };

function mkiValue(mki: Buffer): string {
  let v = 0n;
  for (const b of mki) v = (v << 8n) | BigInt(b);
  return v.toString();
}

/**
 * Parses an a=crypto value ("1 AES_CM_128_HMAC_SHA1_80 inline:..."); a
 * leading "a=crypto:" or "crypto:" is allowed. Never throws.
 */
export function parseCryptoAttribute(input: unknown): SdesParseResult {
  try {
    return parseUnsafe(input);
  } catch {
    return { ok: false, error: "syntax", tag: null };
  }
}

function parseUnsafe(input: unknown): SdesParseResult {
  if (typeof input !== "string") return { ok: false, error: "syntax", tag: null };
  if (input.length > SDES_MAX_ATTRIBUTE_LENGTH) return { ok: false, error: "too-long", tag: null };
  let text = input.trim();
  if (text.startsWith("a=")) text = text.slice(2);
  if (text.startsWith("crypto:")) text = text.slice(7);
  const fields = text.split(/[ \t]+/);
  if (fields.length < 3 || !TAG_RE.test(fields[0])) return { ok: false, error: "syntax", tag: null };
  const tag = Number(fields[0]);
  const fail = (error: SdesParseError): SdesParseResult => ({ ok: false, error, tag });
  const suiteName = fields[1];
  if (!SUITE_RE.test(suiteName)) return fail("syntax");
  if (!isSrtpSuite(suiteName)) return fail("unsupported-suite");
  const suite = SRTP_SUITES[suiteName];

  // Several keys (";"-separated) need MKIs to tell them apart; we use one key.
  const keyParams = fields[2];
  if (keyParams.includes(";")) return fail("unsupported-parameter");
  const colon = keyParams.indexOf(":");
  if (colon < 0) return fail("syntax");
  if (keyParams.slice(0, colon) !== "inline") return fail("unsupported-key-method");
  const parts = keyParams.slice(colon + 1).split("|");
  if (parts.length > 3) return fail("syntax");

  const b64 = parts[0];
  const keyBytes = suite.keyLength + suite.saltLength;
  if (!BASE64_RE.test(b64) || b64.length % 4 !== 0) return fail("bad-key");
  const keySalt = Buffer.from(b64, "base64");
  if (keySalt.length !== keyBytes || keySalt.toString("base64") !== b64) return fail("bad-key");

  let lifetime: number | null = null;
  let mki: Buffer | null = null;
  for (const p of parts.slice(1)) {
    if (p.includes(":")) {
      if (mki) return fail("bad-mki");
      mki = parseMki(p);
      if (!mki) return fail("bad-mki");
    } else {
      // The lifetime comes before the MKI.
      if (lifetime !== null || mki) return fail("bad-lifetime");
      lifetime = parseLifetime(p);
      if (lifetime === null) return fail("bad-lifetime");
    }
  }

  const sessionParams = fields.slice(3);
  for (const sp of sessionParams) {
    // UNENCRYPTED_*, UNAUTHENTICATED_SRTP, KDR=, FEC_KEY= and anything unknown
    // would change the transform: refuse the line rather than ignore them.
    if (!IGNORABLE_SESSION_PARAMS.test(sp)) return fail("unsupported-parameter");
  }

  return {
    ok: true,
    crypto: new SdesCrypto(
      tag,
      suiteName,
      Buffer.from(keySalt.subarray(0, suite.keyLength)),
      Buffer.from(keySalt.subarray(suite.keyLength)),
      lifetime,
      mki,
      sessionParams,
    ),
  };
}

/** "2^31" or a decimal packet count, 1..2^48; null when invalid. */
function parseLifetime(s: string): number | null {
  let m = /^2\^([0-9]{1,2})$/.exec(s);
  if (m) {
    const e = Number(m[1]);
    return e <= 48 ? 2 ** e : null;
  }
  m = /^[0-9]{1,15}$/.exec(s);
  if (!m) return null;
  const n = Number(s);
  return n >= 1 && n <= MAX_LIFETIME ? n : null;
}

/** "<value>:<length>" with length 1..128 bytes and value fitting in them; the packet bytes, or null. */
function parseMki(s: string): Buffer | null {
  const m = /^([0-9]{1,40}):([0-9]{1,3})$/.exec(s);
  if (!m) return null;
  const length = Number(m[2]);
  if (length < 1 || length > 128) return null;
  let v = BigInt(m[1]);
  const out = Buffer.alloc(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return v === 0n ? out : null;
}

/** A fresh key for `suite` with crypto.randomBytes. */
export function createCrypto(tag: number, suite: SrtpSuite): SdesCrypto {
  if (!Number.isInteger(tag) || tag < 0 || tag > 999999999) throw new RangeError("a=crypto tag out of range");
  const p = SRTP_SUITES[suite];
  if (!p) throw new RangeError("unsupported SRTP suite");
  return new SdesCrypto(tag, suite, randomBytes(p.keyLength), randomBytes(p.saltLength));
}

/** Our offer: one line per suite in SDES_SUITES order, tags 1, 2, ... each with its own key. */
export function createOfferCryptos(suites: readonly SrtpSuite[] = SDES_SUITES): SdesCrypto[] {
  return suites.map((s, i) => createCrypto(i + 1, s));
}

/**
 * The first a=crypto value of an offer we can use (the offerer lists them in
 * its order of preference), or null. At most SDES_MAX_OFFERED_ATTRIBUTES
 * values are looked at.
 */
export function selectOfferedCrypto(values: readonly string[], suites: readonly SrtpSuite[] = SDES_SUITES): SdesCrypto | null {
  for (const v of values.slice(0, SDES_MAX_OFFERED_ATTRIBUTES)) {
    const r = parseCryptoAttribute(v);
    if (r.ok && suites.includes(r.crypto.suite)) return r.crypto;
  }
  return null;
}

export interface SdesAgreement {
  /** Our key: protects what we send. */
  local: SdesCrypto;
  /** The peer's key: protects what we receive. */
  remote: SdesCrypto;
}

/**
 * Answerer side (RFC 4568 section 7.1.2): picks the first usable offered line
 * and answers with the same tag and suite and a fresh key of ours. The answer
 * attribute is `local.toAttributeValue()`. Null when nothing is usable.
 */
export function answerCryptos(offered: readonly string[], suites: readonly SrtpSuite[] = SDES_SUITES): SdesAgreement | null {
  const remote = selectOfferedCrypto(offered, suites);
  if (!remote) return null;
  return { local: createCrypto(remote.tag, remote.suite), remote };
}

/**
 * Offerer side (RFC 4568 section 7.1.3): the answer must carry exactly one
 * usable a=crypto whose tag and suite match a line we offered. Null otherwise.
 */
export function acceptAnswerCryptos(offered: readonly SdesCrypto[], answer: readonly string[]): SdesAgreement | null {
  if (answer.length !== 1) return null;
  const r = parseCryptoAttribute(answer[0]);
  if (!r.ok) return null;
  const local = offered.find((c) => c.tag === r.crypto.tag && c.suite === r.crypto.suite);
  return local ? { local, remote: r.crypto } : null;
}

/** The two SRTP contexts of an agreement: outbound under our key, inbound under the peer's. */
export function srtpContexts(a: SdesAgreement): { outbound: SrtpContext; inbound: SrtpContext } {
  return { outbound: a.local.createContext(), inbound: a.remote.createContext() };
}

/** Replaces every inline key in SDP (or any text) with "[redacted]", for logs and traces. */
export function redactSdesKeys(text: string): string {
  return text.replace(/(inline:)[^\s;|]+/g, "$1[redacted]");
}
