// SIP MESSAGE (RFC 3428): short text messages out of a call or inside one.
// Outgoing text goes through sip.js's public Messager (the core does the transaction and the
// digest); incoming requests are screened here (type, size, decoding) before anyone sees them.

import { Core, Message, Messager, UserAgent } from "sip.js";
import type { CallParty } from "../types";
import { partyFromUri } from "./caller-match";

/**
 * Largest text body sent or accepted, in UTF-8 bytes. RFC 3428 §8: a MESSAGE over UDP must stay
 * under the path MTU (1300 bytes of body leaves room for the headers in a 1500-byte Ethernet frame),
 * and longer text belongs to a session (MSRP), not to a pager-mode message.
 */
export const MAX_TEXT_MESSAGE_BYTES = 1300;

/** The only body type we send and accept (RFC 3428 §11: every UA must support text/plain). */
export const TEXT_MESSAGE_CONTENT_TYPE = "text/plain; charset=UTF-8";

/** How a sent MESSAGE ended: the final response (a timeout is 408, a lost connection 503, as in sip.js). */
export interface TextMessageOutcome {
  /** A 2xx came back. */
  delivered: boolean;
  statusCode: number;
  reason: string;
  /** The Request-URI it was sent to. */
  to: string;
}

/** A text that arrived (out of dialog, or inside a call when `callId` is set by the caller). */
export interface IncomingTextMessage {
  text: string;
  from: CallParty;
  to: CallParty;
}

/** Why an incoming MESSAGE is refused, as a SIP status; undefined = acceptable. */
export interface TextMessageRefusal {
  statusCode: 413 | 415;
  reason: string;
  extraHeaders: string[];
}

/** Same rule as dialing: a SIP URI as is, user@host gets "sip:", a number goes to the account's domain. */
export function messageTargetUri(target: string, domain: string): string {
  const t = String(target ?? "").trim();
  if (!t) throw new Error("message: msg.to must be a number or a SIP URI");
  return /^sips?:/i.test(t) ? t : /@/.test(t) ? `sip:${t}` : `sip:${t.replace(/[\s()/-]/g, "")}@${domain}`;
}

/** Checks the text we are asked to send; throws a clear error (empty, too long). */
export function checkOutgoingText(text: unknown): string {
  if (typeof text !== "string" || text.length === 0) throw new Error("message: msg.payload must be the text to send");
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_TEXT_MESSAGE_BYTES) throw new Error(`message: the text is ${bytes} bytes, more than ${MAX_TEXT_MESSAGE_BYTES} (UTF-8)`);
  return text;
}

/** Sends one MESSAGE; resolves with its outcome (never rejects for a SIP failure, only for bad input). */
export function sendTextMessage(ua: UserAgent, target: string, text: string, domain: string): Promise<TextMessageOutcome> {
  const body = checkOutgoingText(text);
  const uriText = messageTargetUri(target, domain);
  const uri = UserAgent.makeURI(uriText);
  if (!uri) return Promise.reject(new Error(`message: not a number or SIP URI: ${target}`));
  const messager = new Messager(ua, uri, body, TEXT_MESSAGE_CONTENT_TYPE);
  return new Promise<TextMessageOutcome>((resolve) => {
    const done = (response: Core.IncomingResponse) => {
      const code = response.message.statusCode ?? 0;
      resolve({ delivered: code >= 200 && code < 300, statusCode: code, reason: response.message.reasonPhrase || "", to: uriText });
    };
    // sip.js turns a transaction timeout into 408 and a transport error into 503: both end up here.
    messager.message({ requestDelegate: { onAccept: done, onReject: done } }).catch((err: Error) => {
      resolve({ delivered: false, statusCode: 503, reason: err?.message || "not sent", to: uriText });
    });
  });
}

/** RFC 3428 §7: a type we do not understand is 415 (with Accept); an oversized body 413. */
export function screenIncomingMessage(contentType: string | undefined, body: string): TextMessageRefusal | undefined {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "text/plain") return { statusCode: 415, reason: "Unsupported Media Type", extraHeaders: ["Accept: text/plain"] };
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1]?.toLowerCase();
  if (charset && !["utf-8", "utf8", "us-ascii"].includes(charset))
    return { statusCode: 415, reason: "Unsupported Media Type", extraHeaders: ["Accept: text/plain; charset=UTF-8"] };
  if (Buffer.byteLength(body, "utf8") > MAX_TEXT_MESSAGE_BYTES) return { statusCode: 413, reason: "Request Entity Too Large", extraHeaders: [] };
  return undefined;
}

/** The text as a flow may show it: control characters other than tab and newlines removed. */
export function cleanText(body: string): string {
  // eslint-disable-next-line no-control-regex
  return body.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "");
}

/**
 * Reads a MESSAGE from sip.js. Refused (415/413) here, with an answer; else the text and its parties,
 * and the caller answers (200 when someone takes it).
 */
export function readIncomingMessage(message: Message): IncomingTextMessage | TextMessageRefusal {
  const req = message.request;
  const body = typeof req.body === "string" ? req.body : "";
  const refusal = screenIncomingMessage(req.getHeader("content-type"), body);
  if (refusal) return refusal;
  return {
    text: cleanText(body),
    from: partyFromUri(req.from?.uri, req.from?.displayName),
    to: partyFromUri(req.to?.uri, req.to?.displayName),
  };
}

export function isRefusal(x: IncomingTextMessage | TextMessageRefusal): x is TextMessageRefusal {
  return (x as TextMessageRefusal).statusCode !== undefined;
}

/** Answers a MESSAGE; never throws (the request may already be answered or gone). */
export function answerMessage(message: Message, statusCode: number, reason?: string, extraHeaders: string[] = []): void {
  try {
    const p =
      statusCode < 300 ? message.accept({ statusCode, reasonPhrase: reason }) : message.reject({ statusCode, reasonPhrase: reason, extraHeaders });
    p.catch(() => undefined);
  } catch {
    /* already answered */
  }
}
