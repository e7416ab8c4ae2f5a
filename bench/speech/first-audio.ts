// First audio of `say`: the time from the request to the moment its first 20 ms frame can be
// sent, with streaming speech (SpeechService.stream + PlaybackQueue.enqueueStream, what a call
// does) against waiting for the whole text (what a call did before, the time synthesize() takes),
// in the same run, for a 12-word and a 120-word text, uncached and cached. No assertions.
// The pacer then sends that frame at its next 20 ms slot: 0-20 ms more, the same before and after.
// This is not on the wire: bench/calls.ts measures ANSWERED → the first RTP packet in a capture
// (`node dist/bench/calls.js 1 5 --first-audio-only`, with the same texts).
//
//   node dist/bench/speech/first-audio.js [runs=20]
import { performance } from "perf_hooks";
import { PlaybackQueue } from "../../src/call/playback-queue";
import { SpeechService } from "../../src/speech/speech-service";
import { LONG, SHORT, VARIANTS } from "../lib/speech-texts";

const f = (v: number): string => v.toFixed(1);
function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const p = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `median ${f(p(0.5))}  p90 ${f(p(0.9))}  max ${f(s[s.length - 1])} ms`;
}

/** Request → first frame of the clip handed to the pacer (streaming, as CallManager.say does). */
async function firstFrameStreaming(service: SpeechService, text: string): Promise<number> {
  const queue = new PlaybackQueue();
  const t0 = performance.now();
  const pieces = service.stream({ text });
  const first = await pieces.next();
  if (first.done) throw new Error("no audio");
  const clip = queue.enqueueStream(first.value, text);
  const frame = queue.nextFrame();
  const t = performance.now() - t0;
  if (!frame) throw new Error("no frame");
  for await (const p of pieces) clip.append(p); // let the rest finish before the next run
  clip.end();
  return t;
}

/** Request → whole text ready: what a call waited for before streaming (synthesize(), made in the same pieces). */
async function wholeText(service: SpeechService, text: string): Promise<number> {
  const t0 = performance.now();
  await service.synthesize({ text });
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const runs = Math.min(Number(process.argv[2] ?? 20), (VARIANTS.length * VARIANTS.length) / 2);
  const service = new SpeechService({ telephoneEq: true });
  await service.warmUp(["en-US"]);
  for (const [name, base] of [
    ["12 words", SHORT],
    ["120 words", LONG],
  ] as const) {
    const words = base.split(/\s+/).length;
    // A different text each time (one word changes), so nothing comes from the cache.
    const text = (i: number): string => {
      const w = VARIANTS[i % VARIANTS.length];
      return base.replace("NOW", i < VARIANTS.length ? w : `${w}${VARIANTS[Math.floor(i / VARIANTS.length) % VARIANTS.length]}`);
    };
    const streamed: number[] = [];
    const whole: number[] = [];
    const cached: number[] = [];
    for (let i = 0; i < runs; i++) {
      streamed.push(await firstFrameStreaming(service, text(2 * i)));
      whole.push(await wholeText(service, text(2 * i + 1)));
      cached.push(await firstFrameStreaming(service, text(2 * i))); // the same text again
    }
    console.log(`${name} (${words} words), ${runs} runs`);
    console.log(`  streaming, uncached: first frame after ${stats(streamed)}`);
    console.log(`  whole text (before): ready after      ${stats(whole)}`);
    console.log(`  streaming, cached:   first frame after ${stats(cached)}`);
  }
  await service.close();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
