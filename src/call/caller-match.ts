// Caller numbers: picking them out of SIP URIs and matching them against the
// patterns users type ("0612345678", "+49 30 *", "06??????", "" = anyone).

import { safeDecodeURIComponent } from "../sip/safe-decode";
import { callerId } from "../sip/caller-id";
import type { CallParty } from "../types";

export type Party = CallParty;

/** The pattern that matches anonymous callers (case-insensitive) in filter and greeting tables. */
export const ANONYMOUS_PATTERN = "anonymous";

function isAnonymousPattern(pattern: string | undefined): boolean {
  return typeof pattern === "string" && pattern.trim().toLowerCase() === ANONYMOUS_PATTERN;
}

/** Digits and + only, so "+49 (30) 1234" matches "+49301234". */
export function normalizeNumber(value: string): string {
  return value.replace(/[^0-9+*#A-Za-z?]/g, "");
}

export function patternMatches(pattern: string, number: string): boolean {
  const p = normalizeNumber(pattern.trim());
  if (!p) return true;
  const re = new RegExp(
    "^" +
      p
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
    "i",
  );
  return re.test(normalizeNumber(number));
}

export function parsePatternList(list: string | string[] | undefined): string[] {
  if (!list) return [];
  const parts = Array.isArray(list) ? list : list.split(/[,;\n]/);
  return parts.map((s) => s.trim()).filter(Boolean);
}

/** The pattern "anonymous" matches anonymous callers only (never a number); the others match the number. */
export function callerMatches(pattern: string, number: string, anonymous = false): boolean {
  if (isAnonymousPattern(pattern)) return anonymous;
  return patternMatches(pattern, number);
}

export function isCallerAllowed(mode: "off" | "allow" | "block" | undefined, list: string[], number: string, anonymous = false): boolean {
  if (!mode || mode === "off") return true;
  const hit = list.some((p) => callerMatches(p, number, anonymous));
  return mode === "allow" ? hit : !hit;
}

export interface Greeting {
  number?: string;
  message: string;
  language?: string;
}

/**
 * The greeting for a caller: an exact number first, then (anonymous callers) the "anonymous"
 * entry, then the most specific wildcard, then the generic entry.
 */
export function pickGreeting(greetings: Greeting[] | undefined, number: string, anonymous = false): Greeting | undefined {
  const list = (greetings ?? []).filter((g) => g && typeof g.message === "string" && g.message.trim());
  const n = normalizeNumber(number);
  const exact = list.find((g) => g.number && !isAnonymousPattern(g.number) && n && normalizeNumber(g.number) === n && !/[*?]/.test(g.number));
  if (exact) return exact;
  const anon = anonymous ? list.find((g) => isAnonymousPattern(g.number)) : undefined;
  if (anon) return anon;
  const wild = list
    .filter((g) => g.number && /[*?]/.test(g.number) && patternMatches(g.number, number))
    .sort((a, b) => specificity(b.number!) - specificity(a.number!));
  if (wild.length) return wild[0];
  return list.find((g) => !g.number || !g.number.trim());
}

function specificity(pattern: string): number {
  return normalizeNumber(pattern).replace(/[*?]/g, "").length;
}

/**
 * "sip:0612@host" / tel: → number; display name from the header. The user part comes
 * from the network: a bad escape ("%FF") must not throw (it would kill the host).
 */
export function partyFromUri(uri: { user?: string; toString(): string } | undefined, displayName?: string): Party {
  const user = typeof uri?.user === "string" ? uri.user : "";
  let text = "";
  try {
    text = uri ? String(uri.toString()) : "";
  } catch {
    text = "";
  }
  const name = typeof displayName === "string" ? displayName.replace(/^"|"$/g, "") : "";
  return { number: safeDecodeURIComponent(user), name, uri: text };
}

/**
 * The caller of an incoming INVITE (sip.js request): number and name from P-Asserted-Identity,
 * Remote-Party-ID or From, anonymity and source; see src/sip/caller-id.ts. Never throws.
 */
export function callerParty(
  uri: { user?: string; toString(): string } | undefined,
  displayName: string | undefined,
  header: (name: string) => string[],
): CallParty {
  const from = partyFromUri(uri, displayName);
  const id = callerId({ fromUri: from.uri, fromUser: typeof uri?.user === "string" ? uri.user : "", fromName: from.name, header });
  const party: CallParty = { number: id.number, name: id.name, uri: id.uri, anonymous: id.anonymous, source: id.source };
  if (id.identityUri) party.identityUri = id.identityUri;
  return party;
}
