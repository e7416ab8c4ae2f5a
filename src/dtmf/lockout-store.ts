// Where keypad lock-outs persist: a small JSON file, written atomically
// (temporary file + rename) so a crash mid-write never leaves half a file.
// A missing, unreadable or corrupt file means "no lock-outs", with a warning:
// it must never stop the node from starting.

import fs from "fs";
import path from "path";
import type { LockoutEntry } from "./code-guard";

/** A larger file is not read (it cannot be ours: MAX_LOCKOUT_ENTRIES rows are far smaller). */
export const MAX_LOCKOUT_FILE_BYTES = 1024 * 1024;

export interface LockoutStore {
  /** Valid entries only; never throws. */
  load(): Record<string, LockoutEntry>;
  /** Never throws. */
  save(entries: Record<string, LockoutEntry>): void;
}

/** Keeps only rows whose fields are finite, non-negative numbers. */
export function sanitizeLockouts(data: unknown): Record<string, LockoutEntry> | undefined {
  if (!data || typeof data !== "object" || Array.isArray(data)) return undefined;
  const rows = (data as { entries?: unknown }).entries;
  if (!rows || typeof rows !== "object" || Array.isArray(rows)) return undefined;
  const out: Record<string, LockoutEntry> = {};
  for (const [k, v] of Object.entries(rows as Record<string, unknown>)) {
    if (!v || typeof v !== "object") continue;
    const e = v as Record<string, unknown>;
    const ok = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0;
    if (!ok(e.failures) || !ok(e.level) || !ok(e.lockedUntil) || !ok(e.lastAt)) continue;
    out[k] = { failures: Math.floor(e.failures), level: Math.min(64, Math.floor(e.level)), lockedUntil: e.lockedUntil, lastAt: e.lastAt };
  }
  return out;
}

export class JsonFileLockoutStore implements LockoutStore {
  private warnedSave = false;

  constructor(
    readonly file: string,
    private readonly warn: (text: string) => void = () => undefined,
  ) {}

  load(): Record<string, LockoutEntry> {
    let text: string;
    try {
      const st = fs.statSync(this.file);
      if (st.size > MAX_LOCKOUT_FILE_BYTES) {
        this.warn(`keypad lock-out file ${this.file} is too large (${st.size} bytes): starting with no lock-outs`);
        return {};
      }
      text = fs.readFileSync(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        this.warn(`keypad lock-out file ${this.file} cannot be read (${(e as Error).message}): starting with no lock-outs`);
      }
      return {};
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const entries = sanitizeLockouts(parsed);
    if (!entries) {
      this.warn(`keypad lock-out file ${this.file} is corrupt: starting with no lock-outs`);
      return {};
    }
    return entries;
  }

  save(entries: Record<string, LockoutEntry>): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(tmp, JSON.stringify({ version: 1, entries }), { mode: 0o600 });
      fs.renameSync(tmp, this.file);
      this.warnedSave = false;
    } catch (e) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* nothing left to clean */
      }
      // One warning per run of failures, not one per wrong code.
      if (!this.warnedSave) this.warn(`keypad lock-outs cannot be saved to ${this.file}: ${(e as Error).message}`);
      this.warnedSave = true;
    }
  }
}
