// Pure helpers of the call benchmarks (bench/calls.ts): RTP streams read from a tshark capture,
// their inter-packet deltas, RFC 3550 jitter, drift and sequence gaps, the pacer's skipped frames
// over a capture window, answer → first audio packet on the wire, and the `--block` argument.
// No I/O here, so test/unit/bench/lib/rtp-analysis.test.ts can check them.

/** One RTP packet as captured: arrival (s, epoch), RTP timestamp, sequence, marker bit, all-silence payload. */
export interface Pkt {
  t: number;
  ts: number;
  seq: number;
  marker?: boolean;
  silent?: boolean;
}

export interface Stream {
  srcPort: number;
  dstPort: number;
  ssrc: string;
  pkts: Pkt[];
}

export function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

export interface StreamAnalysis {
  deltas: number[];
  jitterMean: number;
  jitterMax: number;
  /** Slope of arrival time against RTP time, minus one (ms per s). */
  drift: number;
  packets: number;
  /** Sequence gaps (packets missing between consecutive arrivals). */
  lost: number;
}

export function analyse(input: Pkt[]): StreamAnalysis {
  // Loopback does not reorder: arrival order is send order (and sorting by seq would break at its wrap).
  const pkts = [...input].sort((a, b) => a.t - b.t);
  const deltas: number[] = [];
  let lost = 0;
  let jitter = 0;
  const jitters: number[] = [];
  for (let i = 1; i < pkts.length; i++) {
    lost += Math.max(0, ((pkts[i].seq - pkts[i - 1].seq) & 0xffff) - 1);
    const d = (pkts[i].t - pkts[i - 1].t) * 1000;
    deltas.push(d);
    // RFC 3550 A.8: D(i-1,i) = arrival difference − RTP timestamp difference (8 kHz), J += (|D| − J)/16.
    const transit = d - ((pkts[i].ts - pkts[i - 1].ts) | 0) / 8;
    jitter += (Math.abs(transit) - jitter) / 16;
    jitters.push(jitter);
  }
  const n = pkts.length;
  const xs: number[] = [0];
  for (let i = 1; i < n; i++) xs.push(xs[i - 1] + ((pkts[i].ts - pkts[i - 1].ts) | 0) / 8000);
  const ys = pkts.map((p) => p.t - pkts[0].t);
  const mx = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const my = ys.reduce((a, b) => a + b, 0) / Math.max(1, n);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return {
    deltas,
    jitterMean: jitters.reduce((a, b) => a + b, 0) / Math.max(1, jitters.length),
    jitterMax: Math.max(0, ...jitters),
    drift: sxx > 0 ? (sxy / sxx - 1) * 1000 : NaN,
    packets: n,
    lost,
  };
}

export interface Summary {
  streams: number;
  p50: number;
  p99: number;
  max: number;
  jitterMean: number;
  jitterMax: number;
  drift: number;
  /** The median over streams of each stream's largest delta. */
  perStreamMaxMedian: number;
  packets: number;
  lost: number;
  /** Deltas over `gapOverMs` (when given), counted over every stream. */
  gapsOver: number;
}

/** Streams of fewer than MIN_STREAM_PACKETS packets (a call ending at the capture's edge) are left out. */
export const MIN_STREAM_PACKETS = 10;

export function summarise(streams: Pkt[][], gapOverMs = Infinity): Summary {
  const all: number[] = [];
  const jm: number[] = [];
  const jx: number[] = [];
  const dr: number[] = [];
  const mx: number[] = [];
  let lost = 0;
  let packets = 0;
  let gapsOver = 0;
  for (const s of streams) {
    if (s.length < MIN_STREAM_PACKETS) continue;
    const a = analyse(s);
    let m = 0;
    for (const d of a.deltas) {
      all.push(d);
      if (d > m) m = d;
      if (d > gapOverMs) gapsOver++;
    }
    lost += a.lost;
    packets += a.packets;
    mx.push(m);
    jm.push(a.jitterMean);
    jx.push(a.jitterMax);
    dr.push(a.drift);
  }
  all.sort((a, b) => a - b);
  mx.sort((a, b) => a - b);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    streams: jm.length,
    p50: pct(all, 50),
    p99: pct(all, 99),
    max: all.length ? all[all.length - 1] : NaN,
    jitterMean: mean(jm),
    jitterMax: jx.length ? Math.max(...jx) : NaN,
    drift: mean(dr),
    perStreamMaxMedian: pct(mx, 50),
    packets,
    lost,
    gapsOver,
  };
}

/** Payload bytes of G.711 silence: PCMU 0xFF/0x7F, PCMA 0xD5/0x55. */
const SILENCE_BYTES = new Set(["ff", "7f", "d5", "55"]);

/** tshark `-e rtp.payload` ("ff:ff:…" or "ffff…") → true when every byte is a G.711 zero. */
export function isSilentPayload(hex: string): boolean {
  const h = hex.replace(/[^0-9a-f]/gi, "").toLowerCase();
  if (h.length < 2) return false;
  for (let i = 0; i + 1 < h.length; i += 2) if (!SILENCE_BYTES.has(h.slice(i, i + 2))) return false;
  return true;
}

/** The tshark `-T fields` columns parseRtpFields reads, in this order. */
export const RTP_FIELDS = ["frame.time_epoch", "udp.srcport", "udp.dstport", "rtp.ssrc", "rtp.seq", "rtp.timestamp", "rtp.marker", "rtp.payload"];

/** tshark `-T fields -e …RTP_FIELDS` output → one stream per source port, destination port and SSRC. */
export function parseRtpFields(text: string): Stream[] {
  const streams = new Map<string, Stream>();
  for (const line of text.split("\n")) {
    const [t, sp, dp, ssrc, seq, ts, marker, payload] = line.split("\t");
    if (!ts || !Number.isFinite(Number(t))) continue;
    const key = `${sp}>${dp}/${ssrc}`;
    let s = streams.get(key);
    if (!s) {
      s = { srcPort: Number(sp), dstPort: Number(dp), ssrc, pkts: [] };
      streams.set(key, s);
    }
    s.pkts.push({
      t: Number(t),
      seq: Number(seq),
      ts: Number(ts),
      marker: marker === "1" || marker === "True" || marker === "true",
      silent: payload === undefined ? undefined : isSilentPayload(payload),
    });
  }
  return [...streams.values()];
}

/**
 * Frames the pacer skipped between two readings of the per-session counters, keyed by session
 * (the RtpSession object, not the call: a session that closed during the window keeps its count,
 * where a per-call reading lost it). A session first seen at the end counts from 0. Counters only
 * grow; a reading that went down is not subtracted but reported in `decreased`.
 */
export function skippedDuring<K>(before: Map<K, number>, after: Map<K, number>): { frames: number; sessions: number; decreased: number } {
  let frames = 0;
  let decreased = 0;
  for (const [k, a] of after) {
    const d = a - (before.get(k) ?? 0);
    if (d < 0) decreased++;
    else frames += d;
  }
  return { frames, sessions: after.size, decreased };
}

/**
 * Answer → first audio packet on the wire: the first packet at or after `since` (s, epoch) with the
 * marker bit (the talkspurt start of a clip). The session's very first packet also carries the
 * marker: when that one is silence and another marker follows, the later one is the clip.
 * Returns ms, or NaN when no such packet was captured.
 */
export function firstAudioMs(streams: Stream[], since: number, until = Infinity): number {
  let best = NaN;
  for (const s of streams) {
    const pkts = s.pkts.filter((p) => p.t >= since && p.t < until).sort((a, b) => a.t - b.t);
    const marks = pkts.filter((p) => p.marker);
    if (!marks.length) continue;
    let pick = marks[0];
    if (pick === pkts[0] && pick.silent === true && marks.length > 1) pick = marks[1];
    const ms = (pick.t - since) * 1000;
    if (!(ms >= best)) best = ms;
  }
  return best;
}

/** `--block 50/200`: busy-wait 50 ms every 200 ms. Throws a clear error on anything else. */
export function parseBlock(text: string): { blockMs: number; everyMs: number } {
  const m = /^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(text.trim());
  const blockMs = m ? Number(m[1]) : NaN;
  const everyMs = m ? Number(m[2]) : NaN;
  if (!(blockMs > 0 && everyMs > blockMs))
    throw new Error(`--block wants BLOCK_MS/EVERY_MS with 0 < BLOCK_MS < EVERY_MS, e.g. 50/200 (got "${text}")`);
  return { blockMs, everyMs };
}
