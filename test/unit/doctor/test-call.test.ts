import * as assert from "assert";
import { PROBE_TONE_BACK_HZ, PROBE_TONE_OUT_HZ, probeTone, ToneDetector } from "../../../src/doctor/tone-probe";
import { generateDtmfTone } from "../../../src/dtmf/tone-generator";
import { runTestCall, type TestCallPort, type TestCallWatcher } from "../../../src/doctor/test-call";
import type { CallInfo } from "../../../src/types";

const frames = (pcm: Int16Array) => Array.from({ length: Math.floor(pcm.length / 160) }, (_, i) => pcm.subarray(i * 160, i * 160 + 160));

describe("doctor/tone-probe", () => {
  it("hears its tone from the first frame of a 60 ms run; not the other tone, not a DTMF key, not silence", () => {
    const d = new ToneDetector(PROBE_TONE_OUT_HZ);
    let t = 0;
    for (const f of frames(new Int16Array(800))) d.push(f, (t += 20));
    for (const f of frames(probeTone(PROBE_TONE_BACK_HZ))) d.push(f, (t += 20));
    for (const f of frames(generateDtmfTone("9", 200))) d.push(f, (t += 20));
    assert.strictEqual(d.heardAt, undefined);
    const start = t + 20;
    for (const f of frames(probeTone(PROBE_TONE_OUT_HZ))) d.push(f, (t += 20));
    assert.strictEqual(d.heardAt, start);
  });
});

/** A port whose dialled call rings forever (or ends at once): what the test call does on its own. */
function fakePort(dialed: "ringing" | "refused"): TestCallPort & { hungUp: string[]; trapped: unknown[] } {
  const call = (id: string, state: CallInfo["state"]): CallInfo =>
    ({
      id,
      state,
      direction: "outbound",
      from: { number: "620", name: "", uri: "" },
      to: { number: "620", name: "", uri: "" },
    }) as unknown as CallInfo;
  const watchers = new Map<string, TestCallWatcher>();
  const port = {
    hungUp: [] as string[],
    trapped: [] as unknown[],
    dial: () => {
      if (dialed === "refused")
        setTimeout(() => watchers.get("a")?.state?.("ENDED", { ...call("a", "ENDED"), outcome: "rejected", statusCode: 486 }), 5);
      return call("a", "DIALING");
    },
    trapInbound: (t: unknown) => port.trapped.push(t),
    answer: () => Promise.resolve(),
    hangup: (id: string) => {
      port.hungUp.push(id);
      return Promise.resolve();
    },
    playPcm: () => Promise.resolve(),
    stopPlayback: () => undefined,
    sendDtmf: () => Promise.resolve(),
    watchCall: (id: string, w: TestCallWatcher) => {
      watchers.set(id, w);
      return () => watchers.delete(id);
    },
    listenAudio: () => () => undefined,
    receiveMethods: ["rfc4733", "info", "inband"] as const,
    user: "620",
    selfTarget: "620",
  };
  return port;
}

describe("doctor/test-call", () => {
  it("a call nobody answers ends at the total timeout: hung up, the trap removed, one failure that says so", async () => {
    const port = fakePort("ringing");
    const f = await runTestCall(port, undefined, { timeoutMs: 50 });
    assert.deepStrictEqual(port.hungUp, ["a"]);
    assert.strictEqual(port.trapped[port.trapped.length - 1], undefined, "no incoming call is taken any more");
    assert.deepStrictEqual(
      f.map((x) => [x.id, x.level, x.facts.timeout]),
      [["test-call", "fail", true]],
    );
  });

  it("a refused call (486) fails with the reason, and is hung up all the same", async () => {
    const port = fakePort("refused");
    const f = await runTestCall(port, "*43", { timeoutMs: 2000 });
    assert.strictEqual(f.length, 1);
    assert.strictEqual(f[0].level, "fail");
    assert.strictEqual(f[0].facts.target, "*43");
    assert.match(String(f[0].facts.reason), /rejected 486/);
    assert.deepStrictEqual(port.hungUp, ["a"]);
    assert.deepStrictEqual(port.trapped, [undefined], "a given number sets no trap");
  });
});
