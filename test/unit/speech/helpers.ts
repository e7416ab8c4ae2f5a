// Shared fixtures for the speech tests: tones, level measurement, sox, temp dirs and a
// Pico result memo so that each (language, text) is synthesized once per test run.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PicoEngine } from "../../../src/speech/pico/pico-engine";

export function tone(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

export function toneInt16(freq: number, rate: number, seconds: number, amp = 0.5): Int16Array {
  return Int16Array.from(tone(freq, rate, seconds, amp), (v) => Math.round(v * 32767));
}

/** Amplitude of the component at `freq` (single-bin DFT over the middle 80 % of the signal). */
export function amplitudeAt(x: ArrayLike<number>, freq: number, rate: number): number {
  const start = Math.floor(x.length * 0.1);
  const end = Math.floor(x.length * 0.9);
  let re = 0;
  let im = 0;
  for (let i = start; i < end; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    re += x[i] * Math.cos(w);
    im += x[i] * Math.sin(w);
  }
  return (2 * Math.hypot(re, im)) / (end - start);
}

export function db(ratio: number): number {
  return 20 * Math.log10(ratio);
}

export function sox(args: string[]): Buffer {
  return execFileSync("sox", args, { maxBuffer: 64 * 1024 * 1024 });
}

export function makeTmpDir(prefix = "speech-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

let pico: PicoEngine | undefined;
const picoMemo = new Map<string, Promise<Int16Array>>();

/** 16 kHz Pico output for (language, text), synthesized once and shared by all tests. */
export function picoSay(language: string, text: string): Promise<Int16Array> {
  const key = `${language}\n${text}`;
  let p = picoMemo.get(key);
  if (!p) {
    pico ??= new PicoEngine();
    p = pico.synthesize(text, language);
    picoMemo.set(key, p);
    p.catch(() => picoMemo.delete(key));
  }
  return p;
}

export async function closeSharedPico(): Promise<void> {
  const p = pico;
  pico = undefined;
  picoMemo.clear();
  await p?.close();
}

// Root-level hook: whichever test file loads this module, the shared worker is gone at the end.
after(closeSharedPico);
