// CPU cost of in-band DTMF detection per call: feeds 8 kHz audio in 20 ms
// frames, as the RTP session does, and reports ms of CPU per second of audio
// and how many calls one core could watch at that rate.
//
//   npx tsc -p . && node dist/bench/dtmf/inband-cpu.js [seconds]
import { InbandDtmfDetector } from "../../src/dtmf/inband-detector.js";
import { dbm0ToPeak } from "../../src/dtmf/levels.js";
import { generateDtmfTone } from "../../src/dtmf/tone-generator.js";
import { closeDefaultSpeechService, synthesizePcm8k } from "../../src/speech/index.js";
import { SPEECH_LANGUAGES, speechParagraphs } from "../../test/unit/dtmf/speech-texts.js";
import { concatPcm } from "../../test/support/pcm.js";

const RATE = 8000;
const FRAME = 160;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function clamp(v: number): number {
  return Math.max(-32768, Math.min(32767, Math.round(v)));
}

/** A call-like mix: speech-like voiced/unvoiced bursts, pauses, some digits. */
function callLike(seconds: number): Int16Array {
  const out = new Int16Array(seconds * RATE);
  const rand = rng(1);
  let i = 0;
  while (i < out.length) {
    const kind = rand();
    const len = Math.floor((0.1 + rand() * 0.6) * RATE);
    if (kind < 0.3) {
      i += len; // pause
    } else if (kind < 0.4) {
      const tone = generateDtmfTone("0123456789*#"[Math.floor(rand() * 12)], 80);
      out.set(tone.subarray(0, Math.min(tone.length, out.length - i)), i);
      i += tone.length + 800;
    } else {
      // Voiced sound: harmonics of a gliding pitch, with a little noise.
      const f0 = 90 + rand() * 160;
      const amp = dbm0ToPeak(-12 - rand() * 12);
      let phase = 0;
      for (let n = 0; n < len && i < out.length; n++, i++) {
        phase += (2 * Math.PI * f0 * (1 + 0.1 * Math.sin(n / 900))) / RATE;
        let v = 0;
        for (let k = 1; k < 12; k++) v += Math.sin(k * phase) / k;
        out[i] = clamp(amp * 0.5 * v * Math.sin((Math.PI * n) / len) + (rand() - 0.5) * amp * 0.05);
      }
    }
  }
  return out;
}

/** Worst case: every block passes the cheap gates (steady white noise). */
function steadyNoise(seconds: number): Int16Array {
  const rand = rng(2);
  const a = dbm0ToPeak(-10);
  return Int16Array.from({ length: seconds * RATE }, () => clamp((rand() - 0.5) * 2 * a));
}

function measure(name: string, pcm: Int16Array, rounds: number): number {
  const frames: Int16Array[] = [];
  for (let i = 0; i + FRAME <= pcm.length; i += FRAME) frames.push(pcm.subarray(i, i + FRAME));
  const audioSeconds = (frames.length * FRAME * rounds) / RATE;
  let digits = 0;
  // Warm-up so the JIT has compiled the hot loops.
  new InbandDtmfDetector().process(pcm.subarray(0, Math.min(pcm.length, 10 * RATE)));
  const t0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    const det = new InbandDtmfDetector();
    for (const f of frames) digits += det.process(f).length;
  }
  const used = process.cpuUsage(t0);
  const cpuMs = (used.user + used.system) / 1000;
  const perSecond = cpuMs / audioSeconds;
  console.log(
    `${name.padEnd(28)} ${audioSeconds.toFixed(0).padStart(6)} s audio  ${cpuMs.toFixed(0).padStart(6)} ms CPU  ` +
      `${perSecond.toFixed(3)} ms CPU per s of audio  ~${Math.floor(1000 / perSecond)} calls per core  (${digits} digits)`,
  );
  return perSecond;
}

/** Real speech, as a call carries it: Pico in six languages (what the calls benchmark's echo sends back). */
async function picoSpeech(): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  for (const [i, lang] of SPEECH_LANGUAGES.entries()) {
    for (const text of speechParagraphs(lang, 2, 2000 + i)) parts.push(await synthesizePcm8k(text, lang));
  }
  await closeDefaultSpeechService();
  return concatPcm(parts);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 300);
  console.log(`In-band DTMF detector, 20 ms frames, Node ${process.version}`);
  measure("call-like mix", callLike(seconds), 3);
  measure("Pico speech, six languages", await picoSpeech(), 10);
  measure("steady noise (worst case)", steadyNoise(seconds), 3);
  measure("silence", new Int16Array(seconds * RATE), 3);
}

void main();
