import assert from "node:assert/strict";
import type { Clock } from "../../../src/clock.js";
import { Pacer, type PacedStream, defaultPacer } from "../../../src/media/pacer.js";

/** Simulated monotonic clock with a single-threaded timer queue. */
class FakeClock implements Clock {
  t = 0;
  private nextId = 1;
  readonly timers = new Map<number, { at: number; cb: () => void }>();
  /** Requested wake-up times, to check the pacer asks for exact deadlines. */
  readonly requested: number[] = [];

  now(): number {
    return this.t;
  }
  setTimeout(cb: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + delayMs, cb });
    this.requested.push(this.t + delayMs);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Fires the earliest timer `latency` ms after its due time (never before "now"). */
  fireNext(latency = 0): boolean {
    let first: [number, { at: number; cb: () => void }] | null = null;
    for (const entry of this.timers) if (!first || entry[1].at < first[1].at) first = entry;
    if (!first) return false;
    this.timers.delete(first[0]);
    this.t = Math.max(this.t, first[1].at + latency);
    first[1].cb();
    return true;
  }
}

class Recorder implements PacedStream {
  readonly times: number[] = [];
  readonly skips: number[] = [];
  constructor(private readonly clock: FakeClock) {}
  tick(skipped: number): void {
    this.times.push(this.clock.now());
    this.skips.push(skipped);
  }
}

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("media/pacer", () => {
  it("does not drift over 10 000 frames with random timer lateness", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    const stream = new Recorder(clock);
    pacer.register(stream);
    const rand = lcg(7);
    // Node timers typically fire 0-4 ms late; a naive setInterval would accumulate that.
    while (stream.times.length < 10_000) assert.ok(clock.fireNext(rand() * 4));
    assert.equal(stream.times.length, 10_000);
    for (let k = 0; k < stream.times.length; k++) {
      const deadline = k * 20;
      assert.ok(stream.times[k] >= deadline, `frame ${k} early at ${stream.times[k]}`);
      assert.ok(stream.times[k] < deadline + 4, `frame ${k} late at ${stream.times[k]}`);
    }
    // Every requested wake-up is an exact grid point: lateness never feeds back.
    assert.ok(clock.requested.every((at) => Math.abs(at / 20 - Math.round(at / 20)) < 1e-9));
    assert.equal(clock.requested[clock.requested.length - 1], 10_000 * 20);
    assert.deepEqual(pacer.stats(), { streams: 1, wakeups: 10_000, frames: 10_000, skippedFrames: 0, resyncs: 0, errors: 0 });
    assert.ok(stream.skips.every((s) => s === 0));
    pacer.unregister(stream);
  });

  it("catches up by bursting when a wake-up is a few frames late", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    const stream = new Recorder(clock);
    pacer.register(stream);
    for (let i = 0; i < 5; i++) clock.fireNext(); // frames 0-4 at 0..80 ms
    clock.fireNext(65); // frame 5 was due at 100, we wake at 165: frames 5..8 are due
    assert.equal(stream.times.length, 9);
    assert.deepEqual(stream.times.slice(5), [165, 165, 165, 165]);
    assert.ok(stream.skips.every((s) => s === 0));
    clock.fireNext();
    assert.equal(stream.times[9], 180, "back on the original grid");
    pacer.unregister(stream);
  });

  it("resynchronises after a stall and reports the skipped frames", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock, maxCatchUpFrames: 5 });
    const a = new Recorder(clock);
    const b = new Recorder(clock);
    pacer.register(a);
    pacer.register(b);
    for (let i = 0; i < 10; i++) clock.fireNext(); // frames 0..9 (0..180 ms)
    clock.fireNext(1000); // frame 10 due at 200, process stalled until 1200: frames 10..60 due
    assert.equal(a.times.length, 11, "one frame sent, not a burst of 51");
    assert.equal(a.times[10], 1200);
    assert.equal(a.skips[10], 50);
    assert.equal(b.skips[10], 50);
    assert.deepEqual(pacer.stats().skippedFrames, 50);
    assert.equal(pacer.stats().resyncs, 1);
    clock.fireNext();
    assert.equal(a.times[11], 1220, "next frame stays on the grid");
    assert.equal(a.skips[11], 0);
    pacer.unregister(a);
    pacer.unregister(b);
  });

  it("re-arms after an early wake-up unless the frame is within the tolerance", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    const stream = new Recorder(clock);
    pacer.register(stream);
    clock.fireNext(); // frame 0
    const fireEarly = (ms: number) => {
      const [id, timer] = [...clock.timers][0];
      clock.timers.delete(id);
      clock.t = timer.at - ms;
      timer.cb();
    };
    fireEarly(3); // beyond the 1 ms tolerance: nothing is due yet
    assert.equal(stream.times.length, 1);
    assert.equal([...clock.timers.values()][0].at, 20, "re-armed for the same deadline");
    clock.fireNext();
    assert.deepEqual(stream.times, [0, 20]);
    fireEarly(0.5); // within tolerance: tick now rather than re-arm for half a millisecond
    assert.deepEqual(stream.times, [0, 20, 39.5]);
    assert.equal([...clock.timers.values()][0].at, 60, "the grid is unchanged");
    pacer.unregister(stream);
  });

  it("uses one timer for all streams and stops when the last one leaves", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    const streams = Array.from({ length: 50 }, () => new Recorder(clock));
    for (const s of streams) pacer.register(s);
    assert.equal(clock.timers.size, 1);
    for (let i = 0; i < 3; i++) clock.fireNext();
    assert.ok(streams.every((s) => s.times.length === 3));
    assert.equal(clock.timers.size, 1);
    for (const s of streams) pacer.unregister(s);
    assert.equal(pacer.running, false);
    assert.equal(clock.timers.size, 0);
    assert.equal(pacer.size, 0);
  });

  it("starts a fresh grid when a stream registers after an idle period", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    const a = new Recorder(clock);
    pacer.register(a);
    clock.fireNext();
    pacer.unregister(a);
    clock.t = 1234.5;
    const b = new Recorder(clock);
    pacer.register(b);
    clock.fireNext();
    clock.fireNext();
    assert.deepEqual(b.times, [1234.5, 1254.5]);
    assert.equal(pacer.stats().skippedFrames, 0);
    pacer.unregister(b);
  });

  it("tolerates streams leaving and joining from inside a tick", () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    const late = new Recorder(clock);
    const victim = new Recorder(clock);
    const actor: PacedStream = {
      tick: () => {
        pacer.unregister(victim);
        pacer.register(late);
        pacer.unregister(actor);
      },
    };
    pacer.register(actor);
    pacer.register(victim);
    clock.fireNext();
    assert.equal(victim.times.length, 0, "unregistered before its turn");
    assert.equal(late.times.length, 0, "joins from the next frame");
    assert.equal(pacer.running, true);
    clock.fireNext();
    assert.deepEqual(late.times, [20]);
    pacer.unregister(late);
    assert.equal(pacer.running, false);
  });

  it("keeps ticking the other streams when one throws", () => {
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const pacer = new Pacer({ clock, onError: (e) => errors.push(e) });
    const bad: PacedStream = {
      tick: () => {
        throw new Error("boom");
      },
    };
    const good = new Recorder(clock);
    pacer.register(bad);
    pacer.register(good);
    clock.fireNext();
    clock.fireNext();
    assert.equal(good.times.length, 2);
    assert.equal(errors.length, 2);
    assert.equal(pacer.stats().errors, 2);
    pacer.unregister(bad);
    pacer.unregister(good);
  });

  it("the default pacer ticks on real time and releases its timer", async () => {
    let ticks = 0;
    const stream: PacedStream = { tick: () => void ticks++ };
    defaultPacer.register(stream);
    assert.equal(defaultPacer.running, true);
    await new Promise<void>((resolve) => {
      const check = () => (ticks >= 3 ? resolve() : setTimeout(check, 5));
      check();
    });
    defaultPacer.unregister(stream);
    assert.equal(defaultPacer.running, false);
  });
});
