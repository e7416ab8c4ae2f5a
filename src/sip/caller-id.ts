// Caller ID (issue 9): who is calling, from the headers of an incoming INVITE.
//
// Precedence for number and name: P-Asserted-Identity (RFC 3325) > Remote-Party-ID
// (draft-ietf-sip-privacy-04, party=calling) > From. PAI and RPID are believed only
// from the registrar/proxy or a listed trusted network: the transport removes them
// from every request of any other source (stripUntrustedIdentity), so a stranger
// reached with acceptFrom "anyone" cannot assert a number. The From stays in `uri`.
// Anonymous: the From says so ("anonymous", anonymous.invalid, "restricted"...),
// or the caller asked for privacy (Privacy: id/header/user, RPID privacy=full|name|uri).
// An anonymous caller's number is "" unless the trusted network asserted one.
// Everything here reads network input: bounded, and it never throws.

import { safeDecodeURIComponent } from "./safe-decode";
import { WireMessage, headerName, rebuild, startLineOf } from "./wire-message";

/** A PAI / RPID / Privacy header value longer than this is ignored (malformed or hostile). */
export const MAX_IDENTITY_HEADER_LENGTH = 1024;
/** Entries (name-addrs) read from all PAI or all RPID values of one request; the rest are ignored. */
export const MAX_IDENTITY_ENTRIES = 4;
/** Caller numbers and names are cut to this many characters. */
export const MAX_CALLER_FIELD_LENGTH = 128;

/** Headers that assert an identity; believed only from a trusted source. */
export const IDENTITY_HEADERS: readonly string[] = ["p-asserted-identity", "remote-party-id"];

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;

/** User parts (and display names) that mean "no number": the caller withheld it or the network has none. */
const ANONYMOUS_USERS = new Set(["anonymous", "restricted", "private", "withheld", "unavailable", "unknown"]);

export type CallerIdSource = "pai" | "rpid" | "from";

export interface CallerId {
  number: string;
  name: string;
  /** The From header's URI, as before (the caller's claim, unverified). */
  uri: string;
  anonymous: boolean;
  source: CallerIdSource;
  /** The asserted URI that gave number/name (source "pai"/"rpid"). */
  identityUri?: string;
}

export interface CallerIdInput {
  /** From: URI text, its user part (raw, still percent-encoded) and the display name. */
  fromUri: string;
  fromUser: string;
  fromName?: string;
  /** Every value of a header, by lower-case name (sip.js `getHeaders`). */
  header: (name: string) => string[];
}

interface NameAddr {
  name: string;
  uri: string;
  params: string;
}

/** Removes PAI and RPID from a request of an untrusted source (RFC 3325 §5: the trust domain's edge). */
export function stripUntrustedIdentity(msg: WireMessage): WireMessage {
  if (!msg.isRequest) return msg;
  const headers = msg.headers.filter((l) => !IDENTITY_HEADERS.includes(headerName(l)));
  if (headers.length === msg.headers.length) return msg;
  return { ...msg, headers, raw: rebuild(startLineOf(msg.raw), headers, msg.body) };
}

/** The caller of an incoming INVITE; never throws (a failure gives the From as it is). */
export function callerId(input: CallerIdInput): CallerId {
  const fromNumber = safeDecodeURIComponent(input.fromUser);
  const fromName = cleanName(input.fromName);
  const fallback: CallerId = { number: bound(fromNumber), name: bound(fromName), uri: input.fromUri, anonymous: false, source: "from" };
  try {
    const fromAnonymous = isAnonymousUser(fromNumber) || /@anonymous\.invalid(?:[;:>?]|$)/i.test(input.fromUri);
    let privacy = privacyRequested(values(input.header, "privacy"));
    let chosen: { source: CallerIdSource; entry: NameAddr; number: string } | undefined;
    const pai = entries(values(input.header, "p-asserted-identity"));
    const paiNumber = pickNumber(pai);
    if (paiNumber) chosen = { source: "pai", ...paiNumber };
    const rpid = entries(values(input.header, "remote-party-id")).filter((e) => {
      const party = param(e.params, "party");
      return !party || party.toLowerCase() === "calling";
    });
    if (rpid.some((e) => /^(full|name|uri)$/i.test(param(e.params, "privacy") ?? ""))) privacy = true;
    if (!chosen) {
      const r = pickNumber(rpid);
      if (r) chosen = { source: "rpid", ...r };
    }
    const anonymous = privacy || fromAnonymous;
    if (!chosen) {
      const number = fromAnonymous ? "" : fromNumber;
      const name = fromAnonymous && isAnonymousUser(fromName) ? "" : fromName;
      return { ...fallback, number: bound(number), name: bound(name), anonymous };
    }
    // The name: the asserted one, else the other asserted header's, else the From's (unless it only says "Anonymous").
    const names = [chosen.entry.name, ...pai.map((e) => e.name), ...rpid.map((e) => e.name), fromAnonymous ? "" : fromName];
    const name = names.find((n) => n && !isAnonymousUser(n)) ?? "";
    return { number: bound(chosen.number), name: bound(name), uri: input.fromUri, anonymous, source: chosen.source, identityUri: chosen.entry.uri };
  } catch {
    return fallback;
  }
}

/** The first entry with a usable number: a tel: URI is preferred (it is the number), then a sip(s): user. */
function pickNumber(list: NameAddr[]): { entry: NameAddr; number: string } | undefined {
  let best: { entry: NameAddr; number: string } | undefined;
  for (const entry of list) {
    const n = numberOfUri(entry.uri);
    if (!n || isAnonymousUser(n)) continue;
    if (/^tel:/i.test(entry.uri)) return { entry, number: n };
    best ??= { entry, number: n };
  }
  return best;
}

/** "tel:+4930123;ext=1" → "+4930123"; "sip:+4930123;npdi@host;user=phone" → "+4930123". */
export function numberOfUri(uri: string): string {
  const tel = /^tel:([^;?>\s]*)/i.exec(uri);
  if (tel) return safeDecodeURIComponent(tel[1]);
  const sip = /^sips?:([^@;?>\s]*)(?:;[^@]*)?@/i.exec(uri);
  return sip ? safeDecodeURIComponent(sip[1]) : "";
}

function isAnonymousUser(value: string): boolean {
  return ANONYMOUS_USERS.has(value.trim().toLowerCase());
}

/** Privacy (RFC 3323 / 3325): id, header or user hide the caller; none and session do not. */
export function privacyRequested(list: string[]): boolean {
  return list.some((v) => v.split(/[;,]/).some((t) => /^(id|header|user)$/i.test(t.trim())));
}

/** Every value of a header, the over-long ones dropped. */
function values(header: (name: string) => string[], name: string): string[] {
  const raw = header(name);
  if (!Array.isArray(raw)) return [];
  return raw.filter((v): v is string => typeof v === "string" && v.length <= MAX_IDENTITY_HEADER_LENGTH);
}

/** name-addr / addr-spec entries of comma-separated header values (RFC 3261 §25.1), at most MAX_IDENTITY_ENTRIES. */
export function entries(list: string[]): NameAddr[] {
  const out: NameAddr[] = [];
  for (const value of list) {
    for (const part of splitTopLevel(value)) {
      if (out.length >= MAX_IDENTITY_ENTRIES) return out;
      const e = parseNameAddr(part);
      if (e) out.push(e);
    }
  }
  return out;
}

/** Splits on commas outside quotes and angle brackets. */
function splitTopLevel(value: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "<") angle = true;
    else if (c === ">") angle = false;
    else if (c === "," && !angle) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** `"Name" <uri>;params`, `Name <uri>;params` or a bare `uri`; undefined when malformed. */
function parseNameAddr(text: string): NameAddr | undefined {
  const m = /^(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^<>]*)>\s*(.*)$/.exec(text);
  if (m) {
    const uri = m[3].trim();
    if (!/^(sips?|tel):/i.test(uri)) return undefined;
    const name = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? "");
    return { name: cleanName(name), uri, params: m[4] };
  }
  // addr-spec: header parameters follow the first ';' (a URI in this form cannot have its own).
  const bare = /^((?:sips?|tel):[^;\s<>"]+)(.*)$/i.exec(text);
  return bare ? { name: "", uri: bare[1], params: bare[2] } : undefined;
}

function param(params: string, name: string): string | undefined {
  for (const p of params.split(";")) {
    const [k, v] = p.split("=");
    if (k.trim().toLowerCase() === name) return (v ?? "").trim().replace(/^"|"$/g, "");
  }
  return undefined;
}

/** A display name: unquoted, control characters removed, trimmed. */
function cleanName(name: unknown): string {
  if (typeof name !== "string") return "";
  return name.replace(/^"|"$/g, "").replace(CONTROL_CHARS, "").trim();
}

/** Control characters out (a decoded "%0A" must not forge a log line), then cut to MAX_CALLER_FIELD_LENGTH. */
function bound(text: string): string {
  const clean = text.replace(CONTROL_CHARS, "");
  return clean.length > MAX_CALLER_FIELD_LENGTH ? clean.slice(0, MAX_CALLER_FIELD_LENGTH) : clean;
}
