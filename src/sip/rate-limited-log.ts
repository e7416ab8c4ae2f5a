// A log that cannot be flooded: the network decides how often we would log a dropped
// message, so at most a fixed number of lines per window go out, and the first line
// of the next window says how many were suppressed.

/** Lines written per window, per log (shared by all keys). */
export const LOG_LINES_PER_WINDOW = 10;
/** Window length in ms. */
export const LOG_WINDOW_MS = 60_000;

export type LogSink = (text: string) => void;

export interface RateLimitedLogOptions {
  linesPerWindow?: number;
  windowMs?: number;
  now?: () => number;
}

export class RateLimitedLog {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;
  private readonly lines: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly sink: LogSink,
    opts: RateLimitedLogOptions = {},
  ) {
    this.lines = opts.linesPerWindow ?? LOG_LINES_PER_WINDOW;
    this.windowMs = opts.windowMs ?? LOG_WINDOW_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Total lines suppressed since construction (for diagnostics). */
  totalSuppressed = 0;

  log(text: string): void {
    const now = this.now();
    let prefix = "";
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) prefix = `(${this.suppressed} similar message(s) suppressed) `;
      this.windowStart = now;
      this.written = 0;
      this.suppressed = 0;
    }
    if (this.written >= this.lines) {
      this.suppressed++;
      this.totalSuppressed++;
      return;
    }
    this.written++;
    try {
      this.sink(prefix + text);
    } catch {
      /* a failing logger must not break the receive path */
    }
  }
}
