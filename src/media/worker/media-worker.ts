// The media worker thread (issue 11): every call's RTP and RTCP sockets, the 20 ms pacer, G.711,
// SRTP, latching and source checks, RFC 4733 and in-band DTMF detection run here, away from the
// main thread's event loop (Node-RED flows, sip.js). The main thread (media-host.ts) ships frames
// ahead of time; the pacer here never waits for it: a session whose buffer is dry sends what
// RtpSession sends when its source has nothing (silence).
//
// Everything the worker tells the main thread goes in one "report" per WORKER_REPORT_MS at most.

import { parentPort } from "worker_threads";
import { RtpSession, RTCP_CLOSE_GRACE_MS, type RtpEndpoint, type RtpPacketInfo } from "../rtp-session";
import { RtcpSession } from "../rtcp-session";
import { SrtpContext } from "../srtp";
import { InbandDtmfDetector } from "../../dtmf/inband-detector";
import { FrameRing } from "./frame-ring";
import { packedSessions, type FromMediaWorker, type StatsSnapshot, type ToMediaWorker, type WorkerEvent } from "./protocol";

/** Longest wait between something happening and the report that tells the main thread (one message). */
export const WORKER_REPORT_MS = 20;
/**
 * Keys (telephone-events, in-band digits) are reported within this long instead: the thread hop must
 * not add WORKER_REPORT_MS to the digit-to-message latency. Also the floor between two reports in a flood.
 */
export const WORKER_KEY_REPORT_MS = 1;
/** How often each session's statistics are pushed (when they changed); a final snapshot follows a close. */
export const WORKER_STATS_MS = 500;
/** Most frames buffered per session; the main thread keeps far fewer ahead (MEDIA_LOOKAHEAD_MS). */
export const WORKER_MAX_BUFFERED_FRAMES = 250;
/** Most events of one report; more are dropped (a flood of RTP events from a peer). */
export const WORKER_MAX_REPORT_EVENTS = 20_000;
/** RTP packets kept per session while the peer's SDP is not known yet (RtpSessionOptions.holdEarlyPackets). */
export const WORKER_EARLY_RTP_PACKETS = 16;
/** RTCP packets kept per session until the peer's RTCP address is known. */
export const WORKER_EARLY_RTCP_PACKETS = 8;

interface Session {
  id: number;
  rtp: RtpSession;
  rtcp: RtcpSession;
  buffer: FrameRing;
  hosts: string[];
  audio: boolean;
  detector: InbandDtmfDetector | null;
  sent: number;
  received: number;
  statsDue: boolean;
  /** RTCP received before the peer's RTCP address; null once it is known. */
  early: { packet: Buffer; from: RtpEndpoint; muxed: boolean }[] | null;
  onAudio: (pcm: Int16Array, info: RtpPacketInfo) => void;
}

const port = parentPort;
const sessions = new Map<number, Session>();
let events: WorkerEvent[] = [];
let finalStats: StatsSnapshot[] = [];
let reportTimer: NodeJS.Timeout | null = null;
/** When the armed report is due (performance.now()). */
let reportDue = Infinity;
let shuttingDown = false;
/** The highest "snapshot" request handled, for the next report. */
let ack: number | undefined;

function post(msg: FromMediaWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(msg, transfer);
}

function snapshot(s: Session): StatsSnapshot {
  return { id: s.id, stats: s.rtp.stats(), callStats: s.rtp.callStats(), quality: s.rtcp.quality(), latched: s.rtp.latched };
}

function emit(e: WorkerEvent): void {
  if (events.length >= WORKER_MAX_REPORT_EVENTS) return;
  events.push(e);
  scheduleReport(e.k === "event" || e.k === "digit" ? WORKER_KEY_REPORT_MS : WORKER_REPORT_MS);
}

function scheduleReport(delayMs = WORKER_REPORT_MS): void {
  const due = performance.now() + delayMs;
  if (reportTimer !== null) {
    if (due >= reportDue) return;
    clearTimeout(reportTimer); // a key moves the report forward
  }
  reportDue = due;
  reportTimer = setTimeout(report, delayMs);
}

/** One message: played counters, packet counts, events (decoded audio transferred), statistics. */
function report(): void {
  reportTimer = null;
  reportDue = Infinity;
  try {
    const counters: number[] = [];
    for (const s of sessions.values()) {
      const sent = s.rtp.packetsSent;
      const received = s.rtp.packetsReceived;
      if (!s.buffer.changed && sent === s.sent && received === s.received) continue;
      s.buffer.changed = false;
      s.sent = sent;
      s.received = received;
      s.statsDue = true;
      counters.push(s.id, s.buffer.played, s.sent, s.received);
    }
    const out = events;
    events = [];
    const stats = finalStats;
    finalStats = [];
    if (counters.length === 0 && out.length === 0 && stats.length === 0 && ack === undefined) return;
    const transfer: ArrayBuffer[] = [];
    for (const e of out) if (e.k === "audio" && e.pcm.buffer instanceof ArrayBuffer) transfer.push(e.pcm.buffer);
    post({ t: "report", counters, events: out, stats, ...(ack !== undefined ? { ack } : {}) }, transfer);
    ack = undefined;
  } catch {
    // a report lost costs a moment of staleness, never the worker
  } finally {
    // Keep reporting while sessions live: played counters move every frame.
    if (sessions.size > 0 || events.length > 0) scheduleReport();
  }
}

const statsTimer = setInterval(() => {
  for (const s of sessions.values()) {
    if (!s.statsDue) continue;
    s.statsDue = false;
    try {
      finalStats.push(snapshot(s));
    } catch {
      // one session's statistics lost for a cycle, never the worker
    }
  }
  if (finalStats.length > 0) scheduleReport();
}, WORKER_STATS_MS);
statsTimer.unref();

function attachAudio(s: Session): void {
  const want = s.audio || s.detector !== null;
  const has = s.rtp.listeners("audio").includes(s.onAudio);
  if (want && !has) s.rtp.on("audio", s.onAudio);
  if (!want && has) s.rtp.off("audio", s.onAudio);
}

async function open(msg: Extract<ToMediaWorker, { t: "open" }>): Promise<void> {
  const { req, id, options } = msg;
  let rtp: RtpSession;
  try {
    const holder: { hosts: string[] } = { hosts: options.hosts };
    rtp = await RtpSession.open({ ...options, signallingHosts: () => holder.hosts, holdEarlyPackets: WORKER_EARLY_RTP_PACKETS });
    const rtcp = new RtcpSession(rtp, { security: options.security, signallingHosts: () => holder.hosts });
    rtcp.setTransform(rtp.rtcpTransform);
    // RTCP that comes before the peer's RTCP address is known waits for it (see WORKER_EARLY_RTP_PACKETS).
    const deliver = rtp.rtcpReceiver;
    rtp.rtcpReceiver = (packet, from, muxed) => {
      if (s.early === null) deliver?.(packet, from, muxed);
      else if (s.early.length < WORKER_EARLY_RTCP_PACKETS) s.early.push({ packet, from, muxed });
      else deliver?.(packet, from, muxed);
    };
    const buffer = new FrameRing(WORKER_MAX_BUFFERED_FRAMES);
    rtp.setFrameSource(buffer);
    const s: Session = {
      id,
      rtp,
      rtcp,
      buffer,
      get hosts() {
        return holder.hosts;
      },
      set hosts(h: string[]) {
        holder.hosts = h;
      },
      audio: false,
      detector: null,
      sent: 0,
      received: 0,
      statsDue: false,
      early: [],
      onAudio: (pcm, info) => {
        if (s.detector) for (const d of s.detector.process(pcm)) emit({ id, k: "digit", digit: d.digit });
        if (s.audio) emit({ id, k: "audio", pcm, info });
      },
    };
    rtp.on("event", (payload, info) => emit({ id, k: "event", payload: new Uint8Array(payload), info }));
    rtp.on("latched", (source) => emit({ id, k: "latched", source }));
    rtp.on("timeout", () => emit({ id, k: "timeout" }));
    rtp.on("error", (err) => emit({ id, k: "error", message: err.message }));
    if (shuttingDown) {
      rtp.close();
      throw new Error("media worker shutting down");
    }
    sessions.set(id, s);
    post({ t: "opened", req, id, port: rtp.localPort, address: rtp.localAddress, socketType: rtp.socketType, ssrc: rtp.ssrc, snapshot: snapshot(s) });
    scheduleReport();
  } catch (err) {
    post({ t: "openFailed", req, message: err instanceof Error ? err.message : String(err) });
  }
}

function close(s: Session): void {
  sessions.delete(s.id);
  // The RTCP BYE goes out before the sockets close.
  try {
    s.rtcp.close();
  } catch {
    /* best effort */
  }
  s.rtp.close();
  finalStats.push(snapshot(s));
  emit({ id: s.id, k: "closed" });
}

function handle(msg: ToMediaWorker): void {
  if (msg.t === "open") {
    void open(msg);
    return;
  }
  if (msg.t === "frames") {
    const bytes = new Uint8Array(msg.buf);
    for (const b of packedSessions(msg.buf)) sessions.get(b.id)?.buffer.push(b.first, bytes, b.offset, b.count);
    return;
  }
  if (msg.t === "snapshot") {
    const s = sessions.get(msg.id);
    // A closed session's final snapshot is already waiting for this report.
    if (s) finalStats.push(snapshot(s));
    ack = Math.max(ack ?? 0, msg.req);
    if (reportTimer !== null) clearTimeout(reportTimer);
    report();
    return;
  }
  if (msg.t === "shutdown") {
    shuttingDown = true;
    for (const s of [...sessions.values()]) close(s);
    report();
    // Let the BYEs leave (RtpSession waits RTCP_CLOSE_GRACE_MS at most), then end the thread.
    setTimeout(() => process.exit(0), RTCP_CLOSE_GRACE_MS + 20);
    return;
  }
  const s = sessions.get(msg.id);
  if (!s) return; // closed meanwhile
  switch (msg.t) {
    case "remote":
      s.hosts = msg.hosts;
      s.rtp.setRemote(msg.remote);
      break;
    case "confirm":
      s.hosts = msg.hosts;
      s.rtp.confirm();
      break;
    case "early":
      s.rtp.allowEarlySend();
      break;
    case "srtp":
      s.rtp.setSrtp(msg.keys ? { outbound: new SrtpContext(msg.keys.outbound), inbound: new SrtpContext(msg.keys.inbound) } : null);
      break;
    case "rtcpPeer": {
      s.rtcp.setPeer(msg.peer);
      const early = s.early ?? [];
      s.early = null;
      for (const p of early) s.rtp.rtcpReceiver?.(p.packet, p.from, p.muxed);
      break;
    }
    case "listen":
      s.audio = msg.audio;
      if (msg.inband && !s.detector) s.detector = new InbandDtmfDetector();
      if (!msg.inband) s.detector = null;
      attachAudio(s);
      break;
    case "flush":
      s.buffer.flush(msg.upTo);
      scheduleReport();
      break;
    case "close":
      close(s);
      break;
  }
}

port?.on("message", (msg: ToMediaWorker) => {
  try {
    handle(msg);
  } catch (err) {
    // One session's bad input must not end the others: report it on that session.
    const id = (msg as { id?: unknown }).id;
    if (typeof id === "number") emit({ id, k: "error", message: err instanceof Error ? err.message : String(err) });
  }
});
