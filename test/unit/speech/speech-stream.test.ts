import * as assert from "assert";
import type { EngineSynthesisRequest, SpeechEngine } from "../../../src/speech/engine";
import { SpeechService } from "../../../src/speech/index";
import { splitForSpeech } from "../../../src/speech/text-chunks";

/** An engine that answers each text with as many 16 kHz samples as it has characters x 100, after `delayMs`. */
function engine(calls: EngineSynthesisRequest[], opts: { delayMs?: number; failOn?: string; made?: string[] } = {}): SpeechEngine {
  return {
    describe: (req) => ({ language: req.language }),
    synthesize: async (req) => {
      calls.push(req);
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
      if (opts.failOn && req.text.includes(opts.failOn)) throw new Error("engine broke");
      opts.made?.push(req.text);
      const samples = new Int16Array(req.text.length * 100);
      for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin(i / 5));
      return { samples, sampleRate: 16000 };
    },
    languages: () => [],
    close: async () => undefined,
  };
}

const TEXT = "Hello Anna, the alarm in the kitchen went off. Please check the house. Call me back.";

async function collect(gen: AsyncGenerator<Int16Array>): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for await (const p of gen) out.push(p);
  return out;
}

describe("speech/speech-service stream()", function () {
  this.timeout(10_000);
  const services: SpeechService[] = [];
  const make = (calls: EngineSynthesisRequest[], opts: { delayMs?: number; failOn?: string; made?: string[] } = {}): SpeechService => {
    const s = new SpeechService({ engines: { fake: () => engine(calls, opts) }, defaultEngine: "fake", telephoneEq: false });
    services.push(s);
    return s;
  };
  after(() => Promise.all(services.map((s) => s.close())));

  it("hands out the first piece before the rest is made, and the pieces are the text's pieces", async () => {
    const calls: EngineSynthesisRequest[] = [];
    const made: string[] = [];
    const s = make(calls, { delayMs: 20, made });
    const gen = s.stream({ text: TEXT });
    const first = await gen.next();
    assert.ok(!first.done);
    assert.deepStrictEqual(made, ["Hello Anna,"], "only the first piece was made when it arrived");
    assert.strictEqual(calls[0].text, "Hello Anna,");
    const rest = await collect(gen);
    assert.deepStrictEqual(
      calls.map((c) => c.text),
      splitForSpeech(TEXT),
    );
    assert.strictEqual(1 + rest.length, calls.length);
  });

  it("joined, the pieces are what synthesize() returns; a cached text comes as one piece", async () => {
    const calls: EngineSynthesisRequest[] = [];
    const s = make(calls);
    const pieces = await collect(s.stream({ text: TEXT }));
    const whole = await s.synthesize({ text: TEXT });
    const n = calls.length;
    assert.deepStrictEqual(
      Array.from(whole),
      pieces.flatMap((p) => Array.from(p)),
    );
    const again = await collect(s.stream({ text: TEXT }));
    assert.strictEqual(again.length, 1);
    assert.deepStrictEqual(again[0], whole);
    assert.strictEqual(calls.length, n, "nothing synthesised again");
  });

  it("shares one synthesis between a stream and a synthesize() of the same text, and finishes it when the reader stops", async () => {
    const calls: EngineSynthesisRequest[] = [];
    const s = make(calls, { delayMs: 10 });
    const gen = s.stream({ text: TEXT });
    await gen.next();
    await gen.return(undefined); // barge-in: the reader goes away
    const whole = await s.synthesize({ text: TEXT });
    assert.strictEqual(calls.length, splitForSpeech(TEXT).length, "each piece once");
    assert.ok(whole.length > 0);
  });

  it("an engine failure part-way reaches the reader after the pieces made, and is not cached", async () => {
    const calls: EngineSynthesisRequest[] = [];
    const s = make(calls, { failOn: "house" });
    const got: Int16Array[] = [];
    await assert.rejects(
      (async () => {
        for await (const p of s.stream({ text: TEXT })) got.push(p);
      })(),
      /engine broke/,
    );
    assert.strictEqual(splitForSpeech(TEXT).length, 2);
    assert.strictEqual(got.length, 1, "the first piece was delivered");
    await assert.rejects(s.synthesize({ text: TEXT }), /engine broke/);
  });

  it("refuses empty and over-long text at once", () => {
    const s = make([]);
    assert.throws(() => s.stream({ text: "  " }), /empty/);
    assert.throws(() => s.stream({ text: "x".repeat(10_001) }), /too long/);
  });
});
