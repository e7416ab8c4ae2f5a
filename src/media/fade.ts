// The raised-cosine fade every generated tone uses at its ends: a hard start or stop clicks.

/** Gain (0..1) of sample `n` of a `length`-sample burst faded in and out over `rampSamples` each. */
export function fadeGain(n: number, length: number, rampSamples: number): number {
  const edge = Math.min(n, length - 1 - n);
  return edge < rampSamples ? 0.5 - 0.5 * Math.cos((Math.PI * (edge + 0.5)) / rampSamples) : 1;
}
