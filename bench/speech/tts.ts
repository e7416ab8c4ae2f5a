// Text-to-speech benchmark: prints latency, throughput, resampling cost and how much a 20 ms
// main-thread timer (the RTP pacing clock) is delayed while speech is produced. No assertions.
//
//   node dist/bench/speech/tts.js [sentences=20]
import { performance } from "perf_hooks";
import { PicoEngine, picoWorkerRunning } from "../../src/speech/pico/pico-engine";
import { resampleInt16, initResampler } from "../../src/speech/resample";
import { SpeechService } from "../../src/speech/speech-service";
import { applyTelephoneEq } from "../../src/speech/telephone-eq";
import { encodeWav } from "../../src/speech/wav";

const SENTENCES = [
  "Somebody is standing at the front door and would like to talk to you right now.",
  "The washing machine in the basement has finished its program and can be emptied.",
  "Please press one to open the garage door or press two to keep it closed.",
  "The temperature in the living room has dropped below eighteen degrees this evening.",
  "Your parcel was delivered to the neighbour on the second floor this afternoon.",
  "The alarm system has been armed and all windows on the ground floor are closed.",
  "Motion was detected in the garden while nobody was at home this morning.",
  "The battery of the smoke detector in the kitchen is low and should be replaced soon.",
];

const f = (v: number, d = 1): string => v.toFixed(d);

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const p = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `mean ${f(mean)}  median ${f(p(0.5))}  p95 ${f(p(0.95))}  max ${f(s[s.length - 1])} ms`;
}

/** Runs `work` while a 20 ms interval timer ticks; returns the worst and p99 extra delay of a tick. */
async function timerLag(work: () => Promise<unknown>): Promise<{ max: number; p99: number; ticks: number }> {
  const lags: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - last - 20));
    last = now;
  }, 20);
  await new Promise((r) => setTimeout(r, 60)); // let the timer settle
  await work();
  await new Promise((r) => setTimeout(r, 45));
  clearInterval(timer);
  const s = [...lags].sort((a, b) => a - b);
  return { max: s[s.length - 1] ?? 0, p99: s[Math.floor(0.99 * (s.length - 1))] ?? 0, ticks: s.length };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  const texts = Array.from({ length: count }, (_, i) => `${SENTENCES[i % SENTENCES.length]} Number ${i + 1}.`);
  console.log(`Pico text-to-speech benchmark, ${count} sentences of ~15 words, node ${process.version}`);

  // 1. Cold start: worker thread + WASM + language data + first synthesis.
  const engine = new PicoEngine();
  let t0 = performance.now();
  const first = await engine.synthesize(texts[0], "en-US");
  console.log(`first synthesis (cold worker, en-US): ${f(performance.now() - t0)} ms for ${f(first.length / 16000, 2)} s of audio`);
  t0 = performance.now();
  await engine.synthesize(SENTENCES[1], "de-DE");
  console.log(`first synthesis after switching to de-DE: ${f(performance.now() - t0)} ms`);

  // 2. Warm per-sentence latency.
  const lat: number[] = [];
  let audioSeconds = 0;
  for (const text of texts) {
    t0 = performance.now();
    const pcm = await engine.synthesize(text, "en-US");
    lat.push(performance.now() - t0);
    audioSeconds += pcm.length / 16000;
  }
  const busy = lat.reduce((a, b) => a + b, 0);
  console.log(`per sentence (warm, en-US): ${stats(lat)}`);
  console.log(`  ${f(audioSeconds / count, 2)} s of audio per sentence, ${f(audioSeconds / (busy / 1000), 0)}x faster than real time`);

  // 3. Post-processing cost on the main thread.
  const five = new Int16Array(16000 * 5);
  five.set(first.subarray(0, Math.min(first.length, five.length)));
  await initResampler();
  const rs: number[] = [];
  const eq: number[] = [];
  for (let i = 0; i < 50; i++) {
    t0 = performance.now();
    const pcm8 = await resampleInt16(five, 16000, 8000);
    rs.push(performance.now() - t0);
    t0 = performance.now();
    applyTelephoneEq(pcm8);
    eq.push(performance.now() - t0);
  }
  console.log(`resample 16 -> 8 kHz (speex q5), per 5 s of audio: ${stats(rs)}`);
  console.log(`telephone EQ + normalise at 8 kHz, per 5 s of audio: ${stats(eq)}`);

  // 4. Main-thread timer lag: idle, Pico in the worker, whole service pipeline, loading a long WAV.
  const idle = await timerLag(() => new Promise((r) => setTimeout(r, 2000)));
  const worker = await timerLag(async () => {
    for (const text of texts) await engine.synthesize(`${text} Again.`, "en-US");
  });
  const service = new SpeechService({ telephoneEq: true });
  const pipeline = await timerLag(async () => {
    for (const text of texts) await service.synthesize({ text: `${text} Once more.`, language: "en-US" });
  });
  const minute = new Int16Array(44100 * 60 * 2);
  for (let i = 0; i < minute.length; i++) minute[i] = Math.round(8000 * Math.sin(i / 7));
  const stereoWav = encodeWav(minute, 88200); // 60 s at 44.1 kHz written as 88.2 kHz mono: same byte count
  const load = await timerLag(() => service.loadAudio(stereoWav));
  const line = (name: string, r: { max: number; p99: number; ticks: number }): string =>
    `  ${name.padEnd(46)} max ${f(r.max)} ms  p99 ${f(r.p99)} ms  (${r.ticks} ticks)`;
  console.log("extra delay of a 20 ms main-thread timer:");
  console.log(line("idle", idle));
  console.log(line(`Pico synthesis in the worker (${count} sentences)`, worker));
  console.log(line(`SpeechService.synthesize (worker + resample + EQ)`, pipeline));
  console.log(line("loadAudio of a 60 s 88.2 kHz WAV", load));

  const mem = process.memoryUsage();
  console.log(`memory: rss ${f(mem.rss / 1048576, 0)} MB, heap ${f(mem.heapUsed / 1048576, 0)} MB (worker included in rss)`);
  await service.close();
  await engine.close();
  console.log(`worker running after close: ${picoWorkerRunning()}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
