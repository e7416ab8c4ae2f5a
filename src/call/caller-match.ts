// Caller numbers: picking them out of SIP URIs and matching them against the
// patterns users type ("0612345678", "+49 30 *", "06??????", "" = anyone).

import { safeDecodeURIComponent } from "../sip/safe-decode";

export interface Party {
  number: string;
  name: string;
  uri: string;
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

export function isCallerAllowed(mode: "off" | "allow" | "block" | undefined, list: string[], number: string): boolean {
  if (!mode || mode === "off") return true;
  const hit = list.some((p) => patternMatches(p, number));
  return mode === "allow" ? hit : !hit;
}

export interface Greeting {
  number?: string;
  message: string;
  language?: string;
}

/** The greeting for a caller: an exact number first, then the most specific wildcard, then the generic entry. */
export function pickGreeting(greetings: Greeting[] | undefined, number: string): Greeting | undefined {
  const list = (greetings ?? []).filter((g) => g && typeof g.message === "string" && g.message.trim());
  const n = normalizeNumber(number);
  const exact = list.find((g) => g.number && normalizeNumber(g.number) === n && !/[*?]/.test(g.number));
  if (exact) return exact;
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
