// Messages between the main thread (pico-engine.ts) and the Pico worker (pico-worker.ts).

export const PICO_SAMPLE_RATE = 16000;

export type ToPicoWorker =
  /** Synthesizes `input` (already escaped and wrapped in markup) with language `lang` from `langDir`. */
  | { type: "synth"; id: number; langDir: string; lang: string; input: string }
  /** Builds the engine for `lang` and runs a tiny synthesis so the first real one is fast. */
  | { type: "load"; id: number; langDir: string; lang: string };

export type FromPicoWorker =
  | { type: "done"; id: number; pcm?: ArrayBuffer; ms: number }
  /** `fatal`: the WASM state may be damaged; the main thread replaces the worker. */
  | { type: "error"; id: number; message: string; fatal: boolean };
