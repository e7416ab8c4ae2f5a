import assert from "assert";
import { isCallerAllowed, parsePatternList, patternMatches, pickGreeting } from "../../../src/call/caller-match";
import { PlaybackQueue } from "../../../src/call/playback-queue";

describe("caller matching and playback", () => {
  it("matches numbers with wildcards, ignoring formatting", () => {
    assert.ok(patternMatches("+49 30 *", "+4930123456"));
    assert.ok(patternMatches("06??????", "06123456"));
    assert.ok(!patternMatches("06??????", "061234567"));
    assert.ok(patternMatches("", "anything"));
    assert.ok(!patternMatches("0612", "0613"));
  });

  it("allow and block lists", () => {
    const list = parsePatternList("0612*, +33 1 *\n112");
    assert.deepStrictEqual(list, ["0612*", "+33 1 *", "112"]);
    assert.ok(isCallerAllowed("allow", list, "0612345"));
    assert.ok(!isCallerAllowed("allow", list, "0700000"));
    assert.ok(!isCallerAllowed("block", list, "112"));
    assert.ok(isCallerAllowed("off", list, "112"));
  });

  it("picks the exact number, then the most specific wildcard, then the generic greeting", () => {
    const g = [
      { number: "", message: "generic" },
      { number: "06*", message: "mobile" },
      { number: "0612*", message: "family" },
      { number: "0612345678", message: "mum" },
    ];
    assert.strictEqual(pickGreeting(g, "0612345678")!.message, "mum");
    assert.strictEqual(pickGreeting(g, "0612999999")!.message, "family");
    assert.strictEqual(pickGreeting(g, "0699999999")!.message, "mobile");
    assert.strictEqual(pickGreeting(g, "0142000000")!.message, "generic");
    assert.strictEqual(pickGreeting([{ number: "1", message: "x" }], "2"), undefined);
  });

  it("cuts queued clips into 20 ms frames, pads the last, reports start/finish and interruptions", async () => {
    const q = new PlaybackQueue();
    const events: string[] = [];
    q.on("started", (i) => events.push(`start ${i.label}`));
    q.on("finished", (i, interrupted) => events.push(`${interrupted ? "stop" : "end"} ${i.label}`));
    q.enqueue(new Int16Array(400).fill(7), "a");
    q.enqueue(new Int16Array(160).fill(9), "b");
    const frames = [q.nextFrame(), q.nextFrame(), q.nextFrame()];
    assert.ok(frames.every((f) => f?.kind === "audio" && f.pcm.length === 160));
    const third = frames[2]!;
    assert.ok(third.kind === "audio" && third.pcm[79] === 7 && third.pcm[80] === 0, "last frame zero-padded");
    assert.ok(frames[0]!.kind === "audio" && frames[0]!.talkspurtStart === true);
    await new Promise((r) => setImmediate(r));
    const f4 = q.nextFrame();
    assert.ok(f4 && f4.kind === "audio" && f4.pcm[0] === 9);
    await new Promise((r) => setImmediate(r)); // frames are 20 ms apart in real life
    q.enqueue(new Int16Array(800), "c");
    q.nextFrame();
    q.enqueue(new Int16Array(800), "d", true);
    await new Promise((r) => setImmediate(r));
    assert.deepStrictEqual(events, ["start a", "end a", "start b", "end b", "start c", "stop c"]);
    assert.strictEqual(q.nextFrame() !== null, true);
  });
});
