// SRTP offer/answer decisions (RFC 3711 media, RFC 4568 SDES keys) per account setting:
//   off        plain RTP/AVP; an RTP/SAVP offer is refused, a=crypto on RTP/AVP ignored
//   optional   offer RTP/AVP with a=crypto (best effort); take SRTP when the peer offers or answers keys
//   mandatory  offer RTP/SAVP; refuse anything without usable keys
// SDES keys travel inside the SDP in the clear: they are only sent or accepted when the call's
// signalling is TLS/WSS, or the user accepted the risk (srtpOverInsecure). Pure: no I/O.

import type { SrtpMode } from "../types";
import { acceptAnswerCryptos, selectOfferedCrypto, type SdesCrypto } from "./sdes";

export const PLAIN_PROFILE = "RTP/AVP";
export const SECURE_PROFILE = "RTP/SAVP";

export interface SrtpPolicy {
  mode: SrtpMode;
  /** SDES keys may be exchanged on this call: its signalling is TLS/WSS, or srtpOverInsecure is set. */
  keysAllowed: boolean;
}

export const SRTP_OFF: SrtpPolicy = { mode: "off", keysAllowed: false };

/** Signalling that protects SDES keys in transit. */
export function isSecureSignalling(transport: string | undefined): boolean {
  return transport === "tls" || transport === "wss";
}

/** The policy of an account: its mode, and whether keys may go over its transport. */
export function srtpPolicyFor(mode: SrtpMode | undefined, transport: string | undefined, overInsecure = false): SrtpPolicy {
  const m: SrtpMode = mode === "optional" || mode === "mandatory" ? mode : "off";
  return { mode: m, keysAllowed: m !== "off" && (isSecureSignalling(transport) || overInsecure === true) };
}

export type SrtpRefusalReason = "no audio stream" | "srtp required" | "srtp refused";
export interface SrtpRefusal {
  refuse: SrtpRefusalReason;
  detail: string;
}

const KEYS_ONLY_OVER_TLS = "SRTP keys (a=crypto) are only exchanged over TLS/WSS signalling (see srtpOverInsecure)";

/** Our offer: the profile and whether it carries a=crypto lines; a refusal when mandatory SRTP cannot be offered. */
export function planOffer(p: SrtpPolicy): { proto: string; crypto: boolean } | SrtpRefusal {
  if (p.mode === "off") return { proto: PLAIN_PROFILE, crypto: false };
  if (!p.keysAllowed) {
    if (p.mode === "mandatory") return { refuse: "srtp required", detail: `SRTP is mandatory, but ${KEYS_ONLY_OVER_TLS}` };
    return { proto: PLAIN_PROFILE, crypto: false };
  }
  return p.mode === "mandatory" ? { proto: SECURE_PROFILE, crypto: true } : { proto: PLAIN_PROFILE, crypto: true };
}

export type SrtpVerdict = { srtp: null } | { srtp: SdesCrypto } | SrtpRefusal;

export function isRefusal(v: object): v is SrtpRefusal {
  return "refuse" in v;
}

/**
 * One offered RTP/AVP or RTP/SAVP audio line (`cryptos`: its a=crypto values): plain (srtp null),
 * SRTP with the peer's chosen key line, or refused.
 */
export function judgeOffer(p: SrtpPolicy, proto: string, cryptos: readonly string[]): SrtpVerdict {
  const secure = proto.toUpperCase() === SECURE_PROFILE;
  if (p.mode === "off") {
    return secure ? { refuse: "no audio stream", detail: `only unsupported profile ${proto} (plain RTP/AVP required)` } : { srtp: null };
  }
  if (!p.keysAllowed) {
    if (p.mode === "mandatory") return { refuse: "srtp required", detail: `SRTP is mandatory, but ${KEYS_ONLY_OVER_TLS}` };
    // Optional: a plain offer's keys are ignored; an RTP/SAVP one cannot be answered plain.
    return secure ? { refuse: "srtp refused", detail: `${proto} offered, but ${KEYS_ONLY_OVER_TLS}` } : { srtp: null };
  }
  const crypto = selectOfferedCrypto(cryptos);
  if (crypto) return { srtp: crypto };
  if (secure)
    return { refuse: "srtp refused", detail: `${proto} offered without a usable a=crypto (AES_CM_128_HMAC_SHA1_80 or _32 with an inline key)` };
  if (p.mode === "mandatory") return { refuse: "srtp required", detail: "plain RTP offered (no usable a=crypto), and SRTP is mandatory" };
  return { srtp: null };
}

export type SrtpAnswerVerdict = { srtp: null } | { srtp: { local: SdesCrypto; remote: SdesCrypto } } | SrtpRefusal;

/**
 * The answer to our offer, which carried the keys `offered` (empty: a plain offer): plain, SRTP with
 * the matched pair (ours and the peer's), or refused (the call is then ended).
 */
export function judgeAnswer(p: SrtpPolicy, offered: readonly SdesCrypto[], proto: string, cryptos: readonly string[]): SrtpAnswerVerdict {
  const secure = proto.toUpperCase() === SECURE_PROFILE;
  if (offered.length === 0) {
    // We sent no keys: a=crypto in the answer means nothing (RFC 4568 section 5.1.3).
    return secure ? { refuse: "srtp refused", detail: `the answer is ${proto}, but we offered plain RTP` } : { srtp: null };
  }
  const agreement = acceptAnswerCryptos(offered, cryptos);
  if (agreement) return { srtp: agreement };
  if (cryptos.length > 0) return { refuse: "srtp refused", detail: "the answer's a=crypto does not match a key line we offered" };
  if (p.mode === "mandatory" || secure) return { refuse: "srtp required", detail: "the answer has no a=crypto, and SRTP is mandatory" };
  return { srtp: null };
}
