// Level reference for 8 kHz Int16 PCM that is (or will be) G.711 coded.
//
// G.711 defines the largest sine wave the codec can carry as +3.14 dBm0
// (A-law; +3.17 dBm0 for mu-law). We take Int16 full scale (peak 32768) as
// that +3.14 dBm0 maximum, so a 0 dBm0 sine has a peak amplitude of
// 32768 * 10^(-3.14/20) ~= 22827 (RMS ~= 16141). This matches A-law
// (full scale 4096 << 3) exactly and mu-law (8159 << 2, +3.17 dBm0) within 0.07 dB.

/** dB between the full-scale sine and 0 dBm0. */
export const FULL_SCALE_DBM0 = 3.14;

/** Peak amplitude (Int16 units) of a 0 dBm0 sine wave. */
export const DBM0_PEAK = 32768 * Math.pow(10, -FULL_SCALE_DBM0 / 20);

/** Mean power (Int16 units squared) of a 0 dBm0 sine wave. */
export const DBM0_POWER = (DBM0_PEAK * DBM0_PEAK) / 2;

/** Peak amplitude of a sine wave at the given level. */
export function dbm0ToPeak(dbm0: number): number {
  return DBM0_PEAK * Math.pow(10, dbm0 / 20);
}

/** Level in dBm0 of a signal with the given mean power (Int16 units squared). */
export function powerToDbm0(power: number): number {
  return power > 0 ? 10 * Math.log10(power / DBM0_POWER) : -Infinity;
}

/** Mean power (Int16 units squared) of a signal at the given level. */
export function dbm0ToPower(dbm0: number): number {
  return DBM0_POWER * Math.pow(10, dbm0 / 10);
}
