// Band-limited resampling with the Speex resampler (WASM). Naive linear interpolation aliases
// badly when going down to 8 kHz and was measured to hurt intelligibility.
import type { SpeexResamplerModule } from "@echogarden/speex-resampler-wasm";
import { SAMPLE_RATE } from "../media/audio-format";
import { floatToInt16, int16ToFloat } from "./pcm";

/** Speex quality 0..10; 5 keeps > 40 dB alias rejection at ~1 ms per 5 s of speech. */
export const RESAMPLER_QUALITY = 5;

const CHUNK = 4096; // input samples per WASM call
const YIELD_EVERY = 16; // chunks between event-loop yields, so long files do not stall RTP pacing

let modulePromise: Promise<SpeexResamplerModule> | undefined;

function loadModule(): Promise<SpeexResamplerModule> {
  if (!modulePromise) {
    // The SIMD build is ~5x faster; engines without WASM SIMD get the plain build.
    const p = import("@echogarden/speex-resampler-wasm/simd")
      .then((m) => m.default())
      .catch(() => import("@echogarden/speex-resampler-wasm").then((m) => m.default()));
    // Forget a failed load so that a later call can retry.
    p.catch(() => {
      if (modulePromise === p) modulePromise = undefined;
    });
    modulePromise = p;
  }
  return modulePromise;
}

/** Loads and instantiates the WASM module (once per process) ahead of the first conversion. */
export async function initResampler(): Promise<void> {
  await loadModule();
}

function checkRate(name: string, rate: number): void {
  if (!Number.isInteger(rate) || rate <= 0 || rate > 4_000_000) {
    throw new RangeError(`${name} must be a positive integer number of Hz, got ${rate}`);
  }
}

/**
 * Resamples mono float samples (any scale) from inRate to outRate. Output length is
 * round(input.length * outRate / inRate) and is time-aligned with the input (filter delay removed).
 */
export async function resampleFloat32(input: Float32Array, inRate: number, outRate = SAMPLE_RATE): Promise<Float32Array> {
  checkRate("inRate", inRate);
  checkRate("outRate", outRate);
  if (inRate === outRate) return input.slice();
  if (input.length === 0) return new Float32Array(0);
  const mod = await loadModule();
  return run(mod, input, inRate, outRate);
}

/** Resamples 16-bit mono PCM to outRate (default 8 kHz), rounding and clamping the result. */
export async function resampleInt16(input: Int16Array, inRate: number, outRate = SAMPLE_RATE): Promise<Int16Array> {
  if (inRate === outRate) {
    checkRate("inRate", inRate);
    return input.slice();
  }
  return floatToInt16(await resampleFloat32(int16ToFloat(input), inRate, outRate));
}

async function run(mod: SpeexResamplerModule, input: Float32Array, inRate: number, outRate: number): Promise<Float32Array> {
  const expected = Math.round((input.length * outRate) / inRate);
  const out = new Float32Array(expected);
  const outCap = Math.ceil((CHUNK * outRate) / inRate) + 64;
  const scratch = mod._malloc(16);
  const inPtr = mod._malloc(CHUNK * 4);
  const outPtr = mod._malloc(outCap * 4);
  const errPtr = scratch;
  const inLenPtr = scratch + 4;
  const outLenPtr = scratch + 8;
  let state = 0;
  try {
    mod.HEAP32[errPtr >> 2] = 0;
    state = mod._speex_resampler_init(1, inRate, outRate, RESAMPLER_QUALITY, errPtr);
    const err = mod.HEAP32[errPtr >> 2];
    if (!state || err) throw new Error(`Speex resampler init failed for ${inRate} -> ${outRate} Hz (code ${err})`);
    // Drops the filter's leading delay so the output lines up with the input.
    mod._speex_resampler_skip_zeros(state);
    const latency = mod._speex_resampler_get_input_latency(state);

    let written = 0;
    let chunks = 0;
    // src === null feeds silence, used to push the filter tail out at the end.
    const feed = async (src: Float32Array | null, count: number): Promise<void> => {
      let offset = 0;
      while (offset < count && written < expected) {
        const n = Math.min(CHUNK, count - offset);
        // Views must be re-read after every await/malloc: the WASM memory may have grown.
        const heap = mod.HEAPF32;
        if (src) heap.set(src.subarray(offset, offset + n), inPtr >> 2);
        else heap.fill(0, inPtr >> 2, (inPtr >> 2) + n);
        mod.HEAPU32[inLenPtr >> 2] = n;
        mod.HEAPU32[outLenPtr >> 2] = outCap;
        const rc = mod._speex_resampler_process_float(state, 0, inPtr, inLenPtr, outPtr, outLenPtr);
        if (rc !== 0) throw new Error(`Speex resampler failed (code ${rc})`);
        const consumed = mod.HEAPU32[inLenPtr >> 2];
        const produced = Math.min(mod.HEAPU32[outLenPtr >> 2], expected - written);
        out.set(mod.HEAPF32.subarray(outPtr >> 2, (outPtr >> 2) + produced), written);
        written += produced;
        offset += consumed;
        if (consumed === 0 && produced === 0) break;
        if (++chunks % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    await feed(input, input.length);
    for (let i = 0; i < 4 && written < expected; i++) await feed(null, latency + CHUNK);
    return out;
  } finally {
    if (state) mod._speex_resampler_destroy(state);
    mod._free(outPtr);
    mod._free(inPtr);
    mod._free(scratch);
  }
}
