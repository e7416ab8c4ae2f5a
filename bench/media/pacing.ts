// Pacing benchmark: N RTP sessions send silence to N receiver sockets on
// 127.0.0.1 for a while; prints timing quality and CPU. No assertions.
//
//   node dist/bench/media/pacing.js [streams=100] [seconds=10]
//
// Receivers live in a child process so the CPU figure is the sender's own.
import { fork, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { defaultPacer } from "../../src/media/pacer.js";
import { parseRtp } from "../../src/media/rtp-packet.js";
import { RtpSession } from "../../src/media/rtp-session.js";

interface StreamResult {
  received: number;
  lost: number;
  jitterMs: number;
  /** Least-squares slope of arrival time over RTP time, minus 1, in ms per s (+ = sender slow). */
  tsDriftMsPerS: number;
}

interface ReceiverReport {
  windowMs: number;
  deltas: number[];
  streams: StreamResult[];
  cpuPercent: number;
}

type ToReceiver = { cmd: "start" } | { cmd: "stop" };
type FromReceiver = { ports: number[] } | { report: ReceiverReport };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function cpuPercent(start: NodeJS.CpuUsage, wallMs: number): number {
  const used = process.cpuUsage(start);
  return ((used.user + used.system) / 1000 / wallMs) * 100;
}

// ------------------------------------------------------------------ receiver

class StreamStats {
  received = 0;
  firstSeq = -1;
  lastExtSeq = -1;
  prevArrival = -1;
  prevTs = 0;
  firstArrival = 0;
  firstTs = 0;
  lastTs = 0;
  tsCycles = 0;
  jitter = 0; // RFC 3550 A.8, in timestamp units
  // Sums for the regression arrival = a + b * rtpTime (both ms, relative to the first packet).
  sx = 0;
  sy = 0;
  sxx = 0;
  sxy = 0;

  onPacket(seq: number, ts: number, arrival: number, deltas: number[]): void {
    const arrivalUnits = arrival * 8; // 8 kHz clock
    if (this.received === 0) {
      this.firstSeq = seq;
      this.lastExtSeq = seq;
      this.firstArrival = arrival;
      this.firstTs = ts;
    } else {
      let ext = (this.lastExtSeq & ~0xffff) | seq;
      if (ext < this.lastExtSeq - 0x8000) ext += 0x10000;
      if (ext > this.lastExtSeq) this.lastExtSeq = ext;
      deltas.push(arrival - this.prevArrival);
      const d = arrivalUnits - this.prevArrival * 8 - (((ts - this.prevTs) << 0) | 0);
      this.jitter += (Math.abs(d) - this.jitter) / 16;
      if (ts < this.lastTs && this.lastTs - ts > 0x80000000) this.tsCycles++;
    }
    this.received++;
    const x = (ts + this.tsCycles * 2 ** 32 - this.firstTs) / 8;
    const y = arrival - this.firstArrival;
    this.sx += x;
    this.sy += y;
    this.sxx += x * x;
    this.sxy += x * y;
    this.prevArrival = arrival;
    this.prevTs = ts;
    this.lastTs = ts;
  }

  result(): StreamResult {
    const expected = this.received === 0 ? 0 : this.lastExtSeq - this.firstSeq + 1;
    const n = this.received;
    const slope = (n * this.sxy - this.sx * this.sy) / (n * this.sxx - this.sx * this.sx);
    return {
      received: this.received,
      lost: expected - this.received,
      jitterMs: this.jitter / 8,
      tsDriftMsPerS: n > 2 ? (slope - 1) * 1000 : 0,
    };
  }
}

async function runReceiver(count: number): Promise<void> {
  const send = (m: FromReceiver, then?: () => void) => process.send?.(m, undefined, {}, () => then?.());
  const sockets: dgram.Socket[] = [];
  let stats: StreamStats[] = [];
  let deltas: number[] = [];
  let measuring = false;
  let windowStart = 0;
  let cpuStart = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    socket.setRecvBufferSize?.(1 << 20);
    socket.on("message", (msg) => {
      if (!measuring) return;
      const arrival = performance.now();
      const p = parseRtp(msg);
      if (p) stats[i].onPacket(p.sequenceNumber, p.timestamp, arrival, deltas);
    });
    sockets.push(socket);
  }
  process.on("message", (m: ToReceiver) => {
    if (m.cmd === "start") {
      stats = sockets.map(() => new StreamStats());
      deltas = [];
      windowStart = performance.now();
      cpuStart = process.cpuUsage();
      measuring = true;
    } else {
      measuring = false;
      const windowMs = performance.now() - windowStart;
      for (const s of sockets) s.close();
      // Disconnect only once the (large) report is flushed, or it may be cut off.
      send({ report: { windowMs, deltas, streams: stats.map((s) => s.result()), cpuPercent: cpuPercent(cpuStart, windowMs) } }, () =>
        process.disconnect(),
      );
    }
  });
  send({ ports: sockets.map((s) => s.address().port) });
}

// ------------------------------------------------------------------ sender

function waitMessage<T>(child: ChildProcess, pick: (m: FromReceiver) => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: FromReceiver) => {
      const v = pick(m);
      if (v !== undefined) {
        child.off("message", on);
        resolve(v);
      }
    };
    child.on("message", on);
  });
}

async function runSender(count: number, seconds: number): Promise<void> {
  const child = fork(__filename, ["--receiver", String(count)], { stdio: "inherit" });
  const ports = await waitMessage(child, (m) => ("ports" in m ? m.ports : undefined));
  const sessions: RtpSession[] = [];
  for (const port of ports) {
    const s = await RtpSession.open({ portMin: 20000, portMax: 39999, bindAddress: "127.0.0.1" });
    s.setRemote({ address: "127.0.0.1", port, codec: "PCMU", payloadType: 0, direction: "sendonly" });
    s.confirm(); // a bench of an established call: the dialog is confirmed
    sessions.push(s);
  }
  await new Promise((r) => setTimeout(r, 1000)); // warm-up

  const pacerBefore = defaultPacer.stats();
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  child.send({ cmd: "start" } satisfies ToReceiver);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const reportPromise = waitMessage(child, (m) => ("report" in m ? m.report : undefined));
  child.send({ cmd: "stop" } satisfies ToReceiver);
  const wallMs = performance.now() - wallStart;
  const senderCpu = cpuPercent(cpuStart, wallMs);
  const pacerAfter = defaultPacer.stats();
  const report = await reportPromise;
  for (const s of sessions) s.close();

  const deltas = report.deltas.sort((a, b) => a - b);
  const streams = report.streams;
  const totalReceived = streams.reduce((a, s) => a + s.received, 0);
  const totalLost = streams.reduce((a, s) => a + s.lost, 0);
  const expectedPackets = (report.windowMs / 20) * count;
  const countDrift = ((totalReceived - expectedPackets) * 20) / count / (report.windowMs / 1000);
  const jitters = streams.map((s) => s.jitterMs);
  const tsDrift = streams.map((s) => s.tsDriftMsPerS);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const f = (x: number, d = 3) => x.toFixed(d);

  console.log(`streams=${count} window=${f(report.windowMs / 1000, 2)} s  node ${process.version}`);
  console.log(
    `inter-packet delta ms: p50=${f(percentile(deltas, 50))} p99=${f(percentile(deltas, 99))} max=${f(deltas[deltas.length - 1] ?? NaN)}  (n=${deltas.length})`,
  );
  console.log(`RFC 3550 jitter ms: mean=${f(mean(jitters))} max=${f(Math.max(...jitters))}`);
  console.log(`drift (packets received vs expected): ${f(countDrift)} ms/s per stream`);
  console.log(`drift (arrival vs RTP time, regression): mean=${f(mean(tsDrift))} worst=${f(Math.max(...tsDrift.map(Math.abs)))} ms/s`);
  console.log(`loss: ${totalLost} of ${totalLost + totalReceived} packets (${f((100 * totalLost) / Math.max(1, totalLost + totalReceived), 4)} %)`);
  console.log(
    `pacer: wakeups=${pacerAfter.wakeups - pacerBefore.wakeups} frames=${pacerAfter.frames - pacerBefore.frames} skipped=${pacerAfter.skippedFrames - pacerBefore.skippedFrames} resyncs=${pacerAfter.resyncs - pacerBefore.resyncs}`,
  );
  console.log(`CPU (one core = 100 %): sender=${f(senderCpu, 1)} %  receiver process=${f(report.cpuPercent, 1)} %`);
}

if (process.argv[2] === "--receiver") {
  void runReceiver(Number(process.argv[3]));
} else {
  const count = Number(process.argv[2] ?? 100);
  const seconds = Number(process.argv[3] ?? 10);
  runSender(count, seconds).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
