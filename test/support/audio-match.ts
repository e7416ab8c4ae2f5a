// "Does this recording contain that speech?" — compares loudness envelopes
// (10 ms log-energy frames), sliding the reference over the recording. Robust to
// G.711, level changes and leading silence; a different sentence scores low.

const FRAME = 80; // 10 ms at 8 kHz

export function envelope(pcm: Int16Array): Float64Array {
  const n = Math.floor(pcm.length / FRAME);
  const out = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    let e = 0;
    for (let i = f * FRAME; i < (f + 1) * FRAME; i++) e += pcm[i] * pcm[i];
    out[f] = Math.log10(e / FRAME + 100);
  }
  return out;
}

function pearson(a: Float64Array, b: Float64Array, offset: number): number {
  const n = a.length;
  let sa = 0,
    sb = 0;
  for (let i = 0; i < n; i++) {
    sa += a[i];
    sb += b[i + offset];
  }
  const ma = sa / n,
    mb = sb / n;
  let num = 0,
    da = 0,
    db = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma,
      y = b[i + offset] - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/** Best correlation of the reference's envelope anywhere in the recording (−1…1), and where (seconds). */
export function speechMatch(reference: Int16Array, recording: Int16Array): { score: number; atSeconds: number } {
  const ref = envelope(reference);
  const rec = envelope(recording);
  if (rec.length < ref.length) {
    // Recording shorter than the reference: compare what is there.
    const cut = ref.subarray(0, rec.length);
    return { score: pearson(cut, rec, 0), atSeconds: 0 };
  }
  let best = -1,
    at = 0;
  for (let off = 0; off + ref.length <= rec.length; off++) {
    const s = pearson(ref, rec, off);
    if (s > best) {
      best = s;
      at = off;
    }
  }
  return { score: best, atSeconds: (at * FRAME) / 8000 };
}
