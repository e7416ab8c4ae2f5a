// The media worker's per-session frame ring (frame-ring.ts): order, wrap-around, growth, flush, bounds.
import assert from "node:assert/strict";
import { FrameRing, FRAME_RING_INITIAL_SLOTS } from "../../../src/media/worker/frame-ring.js";
import { FRAME_SLOT_BYTES, packFrames, packedSessions } from "../../../src/media/worker/protocol.js";
import type { OutgoingFrame } from "../../../src/media/rtp-session.js";

/** A batch of one session's audio frames whose samples are all `values[i]`. */
function batch(first: number, values: number[]): { bytes: Uint8Array; offset: number; count: number; first: number } {
  const frames: OutgoingFrame[] = values.map((v, i) => ({ kind: "audio", pcm: new Int16Array(160).fill(v), talkspurtStart: i === 0 }));
  const buf = packFrames([{ id: 1, first, frames }]);
  const [s] = packedSessions(buf);
  return { bytes: new Uint8Array(buf), offset: s.offset, count: s.count, first: s.first };
}

function push(ring: FrameRing, first: number, values: number[]): void {
  const b = batch(first, values);
  ring.push(b.first, b.bytes, b.offset, b.count);
}

/** The value of each frame played, until the ring is empty. */
function drain(ring: FrameRing): number[] {
  const out: number[] = [];
  for (let f = ring.nextFrame(); f; f = ring.nextFrame()) {
    assert.equal(f.kind, "audio");
    if (f.kind === "audio") {
      assert.equal(f.pcm.length, 160);
      assert.ok(f.pcm.every((x) => x === f.pcm[0]));
      out.push(f.pcm[0]);
    }
  }
  return out;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("media worker: frame ring", () => {
  it("plays frames in order across wrap-around and counts what it played", () => {
    const ring = new FrameRing(250);
    let next = 0;
    const played: number[] = [];
    // Top up 15 ahead, play 2, as the pump and the pacer do, many times round the ring.
    for (let cycle = 0; cycle < 100; cycle++) {
      const want = 15 - ring.length;
      push(ring, next, range(next, want));
      next += want;
      for (let i = 0; i < 2; i++) {
        const f = ring.nextFrame();
        if (f?.kind === "audio") played.push(f.pcm[0]);
      }
    }
    assert.deepEqual(played, range(0, 200));
    assert.equal(ring.played, 200);
    assert.deepEqual(drain(ring), range(200, 13));
    assert.equal(ring.nextFrame(), null);
  });

  it("grows past its first slots, keeping the order, up to its bound", () => {
    const ring = new FrameRing(100);
    push(ring, 0, range(0, 10));
    assert.deepEqual(
      [ring.nextFrame(), ring.nextFrame()].map((f) => f?.kind === "audio" && f.pcm[0]),
      [0, 1],
    );
    push(ring, 10, range(10, FRAME_RING_INITIAL_SLOTS * 2)); // wraps, then grows
    push(ring, 10 + FRAME_RING_INITIAL_SLOTS * 2, range(10 + FRAME_RING_INITIAL_SLOTS * 2, 200)); // past the bound
    assert.equal(ring.length, 100);
    assert.deepEqual(drain(ring), range(2, 100));
  });

  it("after a flush drops what the main thread numbered before its flush point", () => {
    const ring = new FrameRing(250);
    push(ring, 0, range(0, 10));
    ring.nextFrame();
    ring.flush(12); // the main thread dropped everything it had pulled up to frame 12
    assert.equal(ring.played, 12);
    push(ring, 8, range(8, 10)); // a batch sent before the flush arrived: 8..11 are stale
    assert.deepEqual(drain(ring), range(12, 6));
  });

  it("keeps event frames with their flag and length", () => {
    const ring = new FrameRing(250);
    const buf = packFrames([{ id: 1, first: 0, frames: [{ kind: "event", payload: Buffer.from([5, 0x8a, 0, 160]), eventStart: true }] }]);
    const [s] = packedSessions(buf);
    ring.push(0, new Uint8Array(buf), s.offset, s.count);
    const f = ring.nextFrame();
    assert.ok(f?.kind === "event");
    assert.deepEqual([...f.payload], [5, 0x8a, 0, 160]);
    assert.equal(f.eventStart, true);
    assert.equal(FRAME_SLOT_BYTES % 4, 0, "slots stay aligned for 16-bit views");
  });
});
