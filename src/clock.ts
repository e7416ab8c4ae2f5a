// Time for the core, injectable in tests: one interface for "what time is it" and for timers.
// Code that only reads the time takes a `Pick<Clock, "now">`.

export interface Clock {
  /** Milliseconds (fractions allowed). The scale is the instance's: see systemClock and wallClock. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Node runs a timer of less than 1 ms after 1 ms anyway; an early wake-up just re-arms.
const setTimer = (callback: () => void, delayMs: number): unknown => setTimeout(callback, Math.max(1, delayMs));
const clearTimer = (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout);

/** Monotonic milliseconds (performance.now()): for intervals, deadlines and pacing. */
export const systemClock: Clock = { now: () => performance.now(), setTimeout: setTimer, clearTimeout: clearTimer };

/** Milliseconds on the Unix epoch (Date.now()): for times that outlive the process. */
export const wallClock: Clock = { now: () => Date.now(), setTimeout: setTimer, clearTimeout: clearTimer };
