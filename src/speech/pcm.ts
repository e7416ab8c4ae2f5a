// Small PCM helpers shared by the speech modules.

/** Int16 samples to floats in [-1, 1). */
export function int16ToFloat(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  return out;
}

/** Floats in [-1, 1] to Int16, rounded and clamped (never wraps). */
export function floatToInt16(samples: Float32Array | Float64Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i] * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

/** Root-mean-square level of the samples (same scale as the input). */
export function rms(pcm: ArrayLike<number>, start = 0, end = pcm.length): number {
  if (end <= start) return 0;
  let sum = 0;
  for (let i = start; i < end; i++) sum += pcm[i] * pcm[i];
  return Math.sqrt(sum / (end - start));
}

/** The pieces one after the other (the piece itself when there is one). */
export function concatPcm(pieces: readonly Int16Array[]): Int16Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Int16Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
