// Caller numbers: picking them out of SIP URIs and matching them against the
// patterns users type ("0612345678", "+49 30 *", "06??????", "" = anyone).

import { safeDecodeURIComponent } from "../sip/safe-decode";
import { callerId } from "../sip/caller-id";
import type { CallParty, MatchedRule } from "../types";
import { conditionsHold, hasConditions, RuleConditions, RuleContext } from "./time-rules";

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

/**
 * A row of the greeting table. Optional time window and mode (see time-rules.ts): the row applies
 * only then. `action` "reject" refuses the caller (603) instead of greeting them.
 */
export interface Greeting extends RuleConditions {
  number?: string;
  message: string;
  language?: string;
  action?: "greet" | "reject";
}

/**
 * The greeting for a caller: an exact number first, then (anonymous callers) the "anonymous"
 * entry, then the most specific wildcard, then the generic entry. Rows with time or mode
 * conditions count only when they hold (see matchGreeting); without a context they are skipped.
 */
export function pickGreeting(greetings: Greeting[] | undefined, number: string, anonymous = false, ctx?: RuleContext): Greeting | undefined {
  return matchGreeting(greetings, number, anonymous, ctx)?.greeting;
}

/**
 * The greeting row for a caller and its index (0 = first row). Only rows whose conditions hold at
 * ctx (time, zone, mode) take part; at the same level of precedence a row with conditions wins over
 * one without, else table order. Rows without conditions match as they always did.
 */
export function matchGreeting(
  greetings: Greeting[] | undefined,
  number: string,
  anonymous = false,
  ctx?: RuleContext,
): { greeting: Greeting; index: number } | undefined {
  const rows = (greetings ?? [])
    .map((greeting, index) => ({ greeting, index }))
    .filter(({ greeting: g }) => g && ((typeof g.message === "string" && g.message.trim()) || g.action === "reject"))
    .filter(({ greeting: g }) => (hasConditions(g) ? !!ctx && conditionsHold(g, ctx) : true));
  const first = (list: typeof rows) => list.find((r) => hasConditions(r.greeting)) ?? list[0];
  const n = normalizeNumber(number);
  const exact = first(
    rows.filter(({ greeting: g }) => g.number && !isAnonymousPattern(g.number) && n && normalizeNumber(g.number) === n && !/[*?]/.test(g.number)),
  );
  if (exact) return exact;
  const anon = anonymous ? first(rows.filter(({ greeting: g }) => isAnonymousPattern(g.number))) : undefined;
  if (anon) return anon;
  const wild = rows
    .filter(({ greeting: g }) => g.number && /[*?]/.test(g.number) && patternMatches(g.number, number))
    .sort((a, b) => specificity(b.greeting.number!) - specificity(a.greeting.number!));
  if (wild.length) return first(wild.filter((w) => specificity(w.greeting.number!) === specificity(wild[0].greeting.number!)));
  return first(rows.filter(({ greeting: g }) => !g.number || !g.number.trim()));
}

/** msg.call.rule for a matched greeting row (index 1 = first row, as in the editor). */
export function matchedRule(m: { greeting: Greeting; index: number }, ctx?: RuleContext): MatchedRule {
  const g = m.greeting;
  const text = (v: unknown): string => (typeof v === "string" ? v.trim() : "");
  const rule: MatchedRule = { table: "greetings", index: m.index + 1, pattern: text(g.number), action: g.action === "reject" ? "reject" : "greet" };
  if (text(g.mode)) rule.mode = ctx?.mode ?? "";
  const days = text(g.days);
  const from = text(g.from);
  const to = text(g.to);
  if (days || from || to) {
    rule.window = {};
    if (days) rule.window.days = days;
    if (from) rule.window.from = from;
    if (to) rule.window.to = to;
  }
  return rule;
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
