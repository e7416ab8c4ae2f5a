// The bodies and headers of a transfer's progress reports (RFC 3515 REFER, RFC 3420 message/sipfrag,
// RFC 6665 Subscription-State): read from a NOTIFY the peer sends, written into the NOTIFY we send.
// Everything read here comes from the network: bounded, never throws.

/** Longest sipfrag body looked at (a status line is ~40 bytes; the rest of a sipfrag is ignored). */
export const SIPFRAG_MAX_BYTES = 1024;
/** Longest reason phrase kept from a status line (it is remote-controlled). */
export const SIPFRAG_REASON_MAX = 60;

/** The status line of a message/sipfrag body. */
export interface SipfragStatus {
  statusCode: number;
  reason: string;
}

/**
 * "SIP/2.0 180 Ringing" (the first line of the body, RFC 3515 §2.4.5) → {180, "Ringing"}; undefined
 * when the body does not start with a SIP status line (a request line, garbage, a code out of 100-699).
 */
export function parseSipfrag(body: unknown): SipfragStatus | undefined {
  if (typeof body !== "string" && !Buffer.isBuffer(body)) return undefined;
  const text = (typeof body === "string" ? body : body.toString("latin1")).slice(0, SIPFRAG_MAX_BYTES);
  const line = text.replace(/^[\r\n]+/, "").split(/\r?\n/, 1)[0] ?? "";
  const m = /^SIP\/2\.0[ \t]+([1-6]\d\d)(?:[ \t]+(.*))?$/i.exec(line.trim());
  if (!m) return undefined;
  const reason = (m[2] ?? "").replace(/[^\x20-\x7e]/g, "?").trim();
  return { statusCode: Number(m[1]), reason: reason.length > SIPFRAG_REASON_MAX ? reason.slice(0, SIPFRAG_REASON_MAX) : reason };
}

/** The sipfrag body we send: one status line (RFC 3515 §2.4.5: at least the status line). */
export function buildSipfrag(statusCode: number, reason: string): string {
  const code = Number.isInteger(statusCode) && statusCode >= 100 && statusCode <= 699 ? statusCode : 500;
  const text = String(reason ?? "")
    .replace(/[^\x20-\x7e]/g, "")
    .slice(0, SIPFRAG_REASON_MAX)
    .trim();
  return `SIP/2.0 ${code} ${text || "Unknown"}\r\n`;
}

/** A Subscription-State header: "active;expires=60", "terminated;reason=noresource"... */
export interface SubscriptionState {
  state: "active" | "pending" | "terminated" | "unknown";
  reason?: string;
}

/** Reads Subscription-State (RFC 6665 §8.2.3); a missing or odd header is "unknown". */
export function parseSubscriptionState(header: unknown): SubscriptionState {
  if (typeof header !== "string") return { state: "unknown" };
  const parts = header.slice(0, 200).split(";");
  const word = (parts[0] ?? "").trim().toLowerCase();
  const state = word === "active" || word === "pending" || word === "terminated" ? word : "unknown";
  const reasonParam = parts.slice(1).find((p) => /^\s*reason\s*=/i.test(p));
  const reason = reasonParam
    ?.split("=")[1]
    ?.trim()
    .replace(/[^A-Za-z0-9_.-]/g, "")
    .slice(0, 30);
  return reason ? { state, reason } : { state };
}
