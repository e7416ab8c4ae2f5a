// Time and mode conditions of a caller rule (a greeting table row): days of the week, a time of
// day window (one that crosses midnight belongs to the day it starts), and the flow's current
// mode ("home", "away", "night"...). Local time is computed in the user's time zone with
// Intl.DateTimeFormat, at a time given by the caller (an injected clock in tests).

/** Longest mode name (characters); a mode is letters, digits, "-" and "_". */
export const MAX_MODE_LENGTH = 32;
/** Time zone formatters kept (one per zone name seen). */
export const MAX_TIME_ZONE_FORMATTERS = 16;

const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY = 24 * 60;

/** The conditions a rule may carry; all optional, none = always. */
export interface RuleConditions {
  /** "mon-fri", "sat,sun", "1-5" (1 = Monday … 7 = Sunday); empty = every day. */
  days?: string;
  /** "HH:MM" local time; empty = 00:00. */
  from?: string;
  /** "HH:MM" local time, exclusive; empty = 24:00. Before `from`: the window crosses midnight. */
  to?: string;
  /** Mode names, comma separated ("away,night"); empty = any mode. */
  mode?: string;
}

/** When a rule is asked: the time (ms since the epoch), the zone (default: the system's), the mode. */
export interface RuleContext {
  now: number;
  timeZone?: string;
  mode?: string;
}

/** The local day (1 = Monday … 7 = Sunday) and minute of the day at `now` in `timeZone`. */
export interface LocalTime {
  day: number;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A condition field as text: a hand-edited flow may hold anything there. */
const text = (v: unknown): string => (typeof v === "string" ? v.trim() : "");

function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? "";
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: timeZone || undefined, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    if (formatters.size >= MAX_TIME_ZONE_FORMATTERS) formatters.clear();
    formatters.set(key, f);
  }
  return f;
}

/** True for a time zone name Intl knows ("Europe/Paris", "UTC"); "" = the system's. */
export function isValidTimeZone(timeZone: string | undefined): boolean {
  if (!timeZone) return true;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Local day and minute; throws RangeError for an unknown zone (check with isValidTimeZone). */
export function localTime(now: number, timeZone?: string): LocalTime {
  const parts = formatter(timeZone).formatToParts(new Date(now));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const day = DAY_NAMES.indexOf(get("weekday").slice(0, 3).toLowerCase()) + 1;
  return { day, minutes: (Number(get("hour")) % 24) * 60 + Number(get("minute")) };
}

/** "HH:MM" (or "H:MM", "HH") → minutes of the day; undefined when empty; NaN when unreadable. */
export function parseClock(text: string | undefined): number | undefined {
  const t = (text ?? "").trim();
  if (!t) return undefined;
  const m = /^(\d{1,2})(?::(\d{2}))?$/.exec(t);
  if (!m) return NaN;
  const h = Number(m[1]);
  const min = Number(m[2] ?? 0);
  if (h > 24 || min > 59 || (h === 24 && min > 0)) return NaN;
  return h * 60 + min;
}

/** "mon-fri,sun" / "1-5" → the set of days (1-7); undefined when empty (every day); throws when unreadable. */
export function parseDays(text: string | undefined): Set<number> | undefined {
  const t = (text ?? "")
    .trim()
    .toLowerCase()
    .replace(/\s*-\s*/g, "-");
  if (!t || t === "*") return undefined;
  const day = (s: string): number => {
    const v = s.trim();
    const n = /^[1-7]$/.test(v) ? Number(v) : DAY_NAMES.indexOf(v.slice(0, 3)) + 1;
    if (n < 1 || (!/^[1-7]$/.test(v) && !/^[a-z]{3,9}$/.test(v))) throw new Error(`unknown day "${s.trim().slice(0, 12)}": use mon…sun or 1…7`);
    return n;
  };
  const days = new Set<number>();
  for (const part of t.split(/[,;\s]+/).filter(Boolean)) {
    const [a, b] = part.split("-");
    const first = day(a);
    const last = b === undefined ? first : day(b);
    // A range may wrap over the week's end: "fri-mon".
    for (let d = first, i = 0; i < 7; d = (d % 7) + 1, i++) {
      days.add(d);
      if (d === last) break;
    }
  }
  return days;
}

/** The modes a rule asks for, lower case; undefined = any. */
export function parseModes(value: string | undefined): string[] | undefined {
  const list = text(value)
    .split(/[,;\s]+/)
    .map((m) => m.trim().toLowerCase())
    .filter(Boolean);
  return list.length ? list : undefined;
}

/** A mode set by a flow: trimmed, lower case; "" clears it. Throws on anything else than a short name. */
export function checkMode(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new Error("mode: msg.payload must be a mode name (e.g. home, away, night) or empty");
  const m = value.trim().toLowerCase();
  if (m.length > MAX_MODE_LENGTH || !/^[a-z0-9_-]*$/.test(m))
    throw new Error(`mode: msg.payload must be letters, digits, - or _ (at most ${MAX_MODE_LENGTH})`);
  return m;
}

/** Why a rule's conditions cannot be read (for the editor and the node's start), or undefined. */
export function conditionsError(c: RuleConditions): string | undefined {
  try {
    parseDays(text(c.days));
  } catch (err) {
    return (err as Error).message;
  }
  for (const t of [text(c.from), text(c.to)]) if (Number.isNaN(parseClock(t))) return `"${t.slice(0, 12)}" is not a time (HH:MM)`;
  return undefined;
}

/** The rule has a time or mode condition. */
export function hasConditions(c: RuleConditions): boolean {
  return !!(text(c.days) || text(c.from) || text(c.to) || text(c.mode));
}

/**
 * Do the rule's conditions hold at ctx.now (in ctx.timeZone) with ctx.mode? An unreadable
 * condition never holds (the rule is skipped), so a typo cannot widen a rule.
 */
export function conditionsHold(c: RuleConditions, ctx: RuleContext): boolean {
  const modes = parseModes(c.mode);
  if (modes && !modes.includes(text(ctx.mode).toLowerCase())) return false;
  if (!text(c.days) && !text(c.from) && !text(c.to)) return true;
  let days: Set<number> | undefined;
  try {
    days = parseDays(text(c.days));
  } catch {
    return false;
  }
  const from = parseClock(text(c.from)) ?? 0;
  const to = parseClock(text(c.to)) ?? MINUTES_PER_DAY;
  if (Number.isNaN(from) || Number.isNaN(to)) return false;
  let local: LocalTime;
  try {
    local = localTime(ctx.now, ctx.timeZone);
  } catch {
    return false;
  }
  const onDay = (d: number) => !days || days.has(d);
  const yesterday = ((local.day + 5) % 7) + 1;
  if (from < to) return onDay(local.day) && local.minutes >= from && local.minutes < to;
  if (from === to) return onDay(local.day);
  // Crosses midnight: the evening part on a listed day, the morning part on the day after one.
  return (onDay(local.day) && local.minutes >= from) || (onDay(yesterday) && local.minutes < to);
}
