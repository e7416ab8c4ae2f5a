// DTMF carried in SIP INFO bodies. Two formats are in common use:
//   application/dtmf-relay  "Signal=5\r\nDuration=160\r\n" (Cisco style, ms)
//   application/dtmf        "5" (or an event code: 10 = *, 11 = #, 12-15 = A-D)
// Parsing is tolerant of what real phones send; building is strict.
import { DTMF_DIGITS, isDtmfDigit, type DtmfDigit } from "../types";

export const DTMF_RELAY_CONTENT_TYPE = "application/dtmf-relay";
export const DTMF_CONTENT_TYPE = "application/dtmf";

export type SipInfoDtmfResult = { ok: true; digit: DtmfDigit; durationMs?: number } | { ok: false; error: string };

/**
 * One key from a token: "0"-"9", "*", "#", "A"-"D" (any case), or the
 * RFC 4733 event codes 10-15 that several phones send instead of * # A-D.
 */
export function parseDigitToken(token: string): SipInfoDtmfResult {
  const t = token.trim();
  if (t === "") return { ok: false, error: "empty DTMF signal" };
  if (/^\d+$/.test(t)) {
    const code = Number(t);
    if (code < DTMF_DIGITS.length) return { ok: true, digit: DTMF_DIGITS[code] };
    if (code === 16) return { ok: false, error: "signal 16 is a hook flash, not a key" };
    return { ok: false, error: `unknown DTMF event code ${t}` };
  }
  const d = t.toUpperCase();
  if (isDtmfDigit(d)) return { ok: true, digit: d };
  return { ok: false, error: `not a DTMF key: ${JSON.stringify(t.slice(0, 20))}` };
}

/** Parses an application/dtmf-relay body. Keys are case-insensitive; Duration is optional. */
export function parseDtmfRelayBody(body: string): SipInfoDtmfResult {
  let signal: string | undefined;
  let durationMs: number | undefined;
  for (const line of body.split(/\r\n|\r|\n/)) {
    const m = /^\s*([A-Za-z-]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const key = m[1].toLowerCase();
    if (key === "signal" && signal === undefined) signal = m[2];
    else if (key === "duration" && /^\d+$/.test(m[2])) durationMs = Number(m[2]);
  }
  if (signal === undefined) return { ok: false, error: "no Signal= line in dtmf-relay body" };
  const r = parseDigitToken(signal);
  if (!r.ok) return r;
  return durationMs === undefined ? r : { ...r, durationMs };
}

/** Parses an application/dtmf body: just the key (or its event code). */
export function parseDtmfBody(body: string): SipInfoDtmfResult {
  return parseDigitToken(body);
}

/**
 * Parses an INFO body by its Content-Type (parameters and case ignored).
 * Other content types give an error, so the caller can answer 415.
 */
export function parseSipInfoDtmf(contentType: string, body: string | Uint8Array): SipInfoDtmfResult {
  const type = contentType.split(";")[0].trim().toLowerCase();
  const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  if (type === DTMF_RELAY_CONTENT_TYPE) return parseDtmfRelayBody(text);
  if (type === DTMF_CONTENT_TYPE) return parseDtmfBody(text);
  return { ok: false, error: `unsupported content type for DTMF: ${contentType}` };
}

export type SipInfoDtmfFormat = "dtmf-relay" | "dtmf";

/** Content-Type and body for sending one key by INFO. */
export function buildSipInfoDtmf(digit: string, format: SipInfoDtmfFormat = "dtmf-relay", durationMs = 160): { contentType: string; body: string } {
  const d = checkDigit(digit);
  if (format === "dtmf") return { contentType: DTMF_CONTENT_TYPE, body: d };
  if (!Number.isInteger(durationMs) || durationMs < 1 || durationMs > 60_000) throw new RangeError(`bad duration: ${durationMs}`);
  return { contentType: DTMF_RELAY_CONTENT_TYPE, body: `Signal=${d}\r\nDuration=${durationMs}\r\n` };
}

function checkDigit(digit: string): DtmfDigit {
  const d = digit.toUpperCase();
  if (!isDtmfDigit(d)) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return d;
}
