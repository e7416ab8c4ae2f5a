// Pure helpers of bench/dtmf-latency.ts: digit onsets read from a tshark capture of the node's RTP
// ports (the first packet of each RFC 4733 event, the first loud packet of an in-band tone), and the
// capture clock against the process clock (calibration packets the bench sends into the capture).
// Measured on the wire, so the figures do not depend on where the node's media runs (main thread or
// a worker). test/unit/bench/lib/dtmf-wire.test.ts checks them.
import { decodeFrame } from "../../src/media/g711";

/** Peak (linear 16-bit) above which a packet counts as carrying the tone. */
export const TONE_PEAK = 3000;

/** The tshark `-T fields` columns parseDtmfCapture reads, in this order. */
export const DTMF_FIELDS = ["frame.time_epoch", "udp.dstport", "rtp.p_type", "rtp.timestamp", "rtp.ssrc", "rtp.payload", "udp.payload"];

/** A calibration packet's payload: "cal:<index>" (ASCII), so each one pairs with its send time. */
export function calibrationPayload(index: number): string {
  return `cal:${index}`;
}

export interface DtmfCapture {
  /** Capture time (s) of each calibration packet, by its index (a packet the capture missed is absent). */
  calibration: Map<number, number>;
  /** Capture time (s) of the first packet of each RFC 4733 event (SSRC + RTP timestamp), in order. */
  eventOnsets: number[];
  /** Capture time (s) of the first loud G.711 packet after a quiet one, in order. */
  toneOnsets: number[];
}

function hexBytes(hex: string): Uint8Array {
  const h = hex.replace(/[^0-9a-f]/gi, "");
  const out = new Uint8Array(h.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function parseDtmfCapture(text: string, calibrationPort: number): DtmfCapture {
  const calibration = new Map<number, number>();
  const eventOnsets: number[] = [];
  const toneOnsets: number[] = [];
  const seenEvents = new Set<string>();
  const loud = new Map<string, boolean>();
  const rows = text
    .split("\n")
    .map((l) => l.split("\t"))
    .filter((r) => Number.isFinite(Number(r[0])) && r[0] !== "")
    .sort((a, b) => Number(a[0]) - Number(b[0]));
  for (const [t, dport, pt, ts, ssrc, payload, udpPayload] of rows) {
    const at = Number(t);
    if (Number(dport) === calibrationPort) {
      const m = /^cal:(\d+)$/.exec(Buffer.from(hexBytes(udpPayload ?? "")).toString("latin1"));
      if (m) calibration.set(Number(m[1]), at);
      continue;
    }
    if (!pt || !payload) continue;
    const type = Number(pt);
    const stream = `${dport}/${ssrc}`;
    if (type >= 96) {
      const key = `${stream}/${ts}`;
      if (!seenEvents.has(key)) {
        seenEvents.add(key);
        eventOnsets.push(at);
      }
    } else if (type === 0 || type === 8) {
      const pcm = decodeFrame(type === 0 ? "PCMU" : "PCMA", hexBytes(payload));
      let peak = 0;
      for (const v of pcm) peak = Math.max(peak, Math.abs(v));
      const isLoud = peak > TONE_PEAK;
      if (isLoud && !loud.get(stream)) toneOnsets.push(at);
      loud.set(stream, isLoud);
    }
  }
  return { calibration, eventOnsets, toneOnsets };
}

/**
 * Process time (s, epoch by performance.timeOrigin + now) → capture time: packet i, sent at
 * sent[i] (process clock; NaN = not usable), was captured at captured.get(i). The offset is the
 * median over the pairs: over a run of a minute or two the two clocks do not drift apart, and
 * the median ignores the packets that waited in the kernel or behind a descheduled process.
 */
export function toCaptureClock(sent: number[], captured: Map<number, number>): (t: number) => number {
  const offsets = [...captured]
    .filter(([i]) => Number.isFinite(sent[i]))
    .map(([i, c]) => c - sent[i])
    .sort((a, b) => a - b);
  if (offsets.length === 0) return (t) => t;
  const median = offsets[Math.floor(offsets.length / 2)];
  return (t) => t + median;
}

/** Each digit (capture clock, s) against the latest onset at or before it: latencies in ms (NaN when none). */
export function latencies(digitsAt: number[], onsets: number[]): number[] {
  return digitsAt.map((d) => {
    let on = NaN;
    for (const o of onsets) if (o <= d) on = o;
    return (d - on) * 1000;
  });
}
