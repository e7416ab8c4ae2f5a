import * as assert from "assert";
import { SAMPLES_PER_FRAME } from "../../../src/media/audio-format";
import { PlaybackQueue, type PlaybackItem } from "../../../src/call/playback-queue";

const FRAME = SAMPLES_PER_FRAME;
const ramp = (n: number, from: number): Int16Array => Int16Array.from({ length: n }, (_, i) => from + i);
const frames = (q: PlaybackQueue, n: number): Int16Array[] =>
  Array.from({ length: n }, () => {
    const f = q.nextFrame();
    assert.ok(f && f.kind === "audio");
    return Int16Array.from(f.pcm);
  });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("call/playback-queue", () => {
  it("plays a plain clip frame by frame and finishes it after its last frame", async () => {
    const q = new PlaybackQueue();
    const done: PlaybackItem[] = [];
    q.on("finished", (item) => done.push(item));
    q.enqueue(ramp(FRAME * 2 + 10, 0), "clip");
    const f = frames(q, 3);
    assert.strictEqual(f[2][9], FRAME * 2 + 9);
    assert.strictEqual(f[2][10], 0, "the last frame is padded");
    await tick();
    assert.strictEqual(done.length, 1);
    assert.strictEqual(q.nextFrame(), null);
  });

  it("streams a clip: frames run across pieces without a gap, silence while the next piece is late", async () => {
    const q = new PlaybackQueue();
    const done: Array<[PlaybackItem, boolean]> = [];
    q.on("finished", (item, interrupted) => done.push([item, interrupted]));
    const clip = q.enqueueStream(ramp(FRAME + 50, 0), "speech");
    let [a, b] = frames(q, 2);
    assert.strictEqual(a[0], 0);
    assert.strictEqual(b[49], FRAME + 49);
    assert.strictEqual(b[50], 0, "no next piece yet: the rest of the frame is silence");
    assert.strictEqual(q.underruns, 1);
    [a] = frames(q, 1);
    assert.ok(
      a.every((v) => v === 0),
      "a whole silent frame while waiting",
    );
    assert.strictEqual(q.underruns, 2);
    clip.append(ramp(FRAME + 30, 1000));
    clip.append(ramp(FRAME - 30, 5000));
    [a, b] = frames(q, 2);
    assert.strictEqual(a[0], 1000);
    assert.strictEqual(b[29], 1000 + FRAME + 29);
    assert.strictEqual(b[30], 5000, "a frame across two pieces");
    await tick();
    assert.strictEqual(done.length, 0, "not finished while more may come");
    clip.end(); // everything has played: finished at once
    await tick();
    assert.strictEqual(done.length, 1);
    assert.strictEqual(done[0][1], false);
    assert.strictEqual(done[0][0].pcm.length, 3 * FRAME + 50, "the item holds the whole clip at the end");
  });

  it("ending a stream whose audio has all played finishes it at once", async () => {
    const q = new PlaybackQueue();
    let finished = 0;
    q.on("finished", () => finished++);
    const clip = q.enqueueStream(ramp(FRAME, 0), "speech");
    frames(q, 2);
    clip.end();
    await tick();
    assert.strictEqual(finished, 1);
    assert.strictEqual(q.playing, false);
  });

  it("stop() marks a stream stopped, so its producer makes no more, and drops later pieces", async () => {
    const q = new PlaybackQueue();
    const clip = q.enqueueStream(ramp(FRAME, 0), "speech");
    frames(q, 1);
    q.stop();
    assert.strictEqual(clip.stopped, true);
    clip.append(ramp(FRAME, 0));
    assert.strictEqual(q.nextFrame(), null);
  });
});
