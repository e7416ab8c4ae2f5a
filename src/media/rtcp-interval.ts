// When to send the next RTCP report (RFC 3550 section 6.3, simplified for a two-party audio call).
//
// Section 6.3.1 computes a deterministic interval from the session bandwidth (RTCP gets 5 % of
// it), the average RTCP packet size and the number of members, and never lets it go below
// 5 s. For one G.711 stream (about 80 kbit/s with headers, so 500 octets/s for RTCP) and two
// members sending ~100-octet compounds, the bandwidth term is ~0.4 s: the 5 s minimum always
// wins. So we use the minimum directly (halved before the first report, section 6.2) and keep the
// randomisation of section 6.3.1 (a uniform factor in [0.5, 1.5]) so that endpoints started
// together do not report in lock-step. Timer reconsideration and the e-3/2 compensation exist
// for large groups and are left out on purpose.

/** Minimum report interval of RFC 3550 section 6.2. */
export const RTCP_MIN_INTERVAL_MS = 5000;
/** Before the first report the minimum is halved (section 6.2) so a new participant is seen sooner. */
export const RTCP_INITIAL_INTERVAL_FACTOR = 0.5;
/** The interval is multiplied by a uniform random factor in [MIN, MAX] (section 6.3.1). */
export const RTCP_RANDOM_FACTOR_MIN = 0.5;
export const RTCP_RANDOM_FACTOR_MAX = 1.5;

/**
 * Milliseconds until the next report. `random` returns a number in [0, 1) (Math.random by
 * default; inject a fixed one in tests). Always within [0.5, 1.5] x the (initial) minimum.
 */
export function rtcpIntervalMs(opts: { initial?: boolean; random?: () => number } = {}): number {
  const base = RTCP_MIN_INTERVAL_MS * (opts.initial ? RTCP_INITIAL_INTERVAL_FACTOR : 1);
  let r = (opts.random ?? Math.random)();
  if (!Number.isFinite(r)) r = 0.5;
  r = Math.max(0, Math.min(1, r));
  return base * (RTCP_RANDOM_FACTOR_MIN + r * (RTCP_RANDOM_FACTOR_MAX - RTCP_RANDOM_FACTOR_MIN));
}
