// Calls benchmark (prints figures, asserts nothing):
//   node dist/bench/calls.js [calls=100] [seconds=20]
// Kamailio on 127.0.0.1 routes SIPp calls (N-1) and one baresip call to the node,
// which plays a greeting in a loop. tshark captures the RTP; our own analyser gives,
// per direction, the inter-packet delta p50/p99/max, RFC 3550 jitter and drift —
// the node's streams side by side with baresip's stream in the same run.
// Also: CPU and RSS per call, and answer → first audio packet (cached / uncached).
import fs from "fs";
import os from "os";
import path from "path";
import { execFile, spawn } from "child_process";
import { startKamailio } from "../test/support/kamailio";
import { startBaresip } from "../test/support/baresip";
import { startSipp } from "../test/support/sipp";
import { waitFor, sleep } from "../test/support/wait";
import { Softphone } from "../src/softphone";
import { SpeechService } from "../src/speech";

const N = Number(process.argv[2] ?? 100);
const SECONDS = Number(process.argv[3] ?? 20);
const NODE_RTP = [30000, 39998] as const;
const TEXT = "This is the house speaking. The washing machine has finished. Please empty it when you have a moment.";

interface Pkt {
  t: number;
  ts: number;
  seq: number;
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

function analyse(pkts: Pkt[]) {
  // Loopback does not reorder: arrival order is send order (and sorting by seq would break at its wrap).
  pkts.sort((a, b) => a.t - b.t);
  const deltas: number[] = [];
  let lost = 0;
  for (let i = 1; i < pkts.length; i++) lost += Math.max(0, ((pkts[i].seq - pkts[i - 1].seq) & 0xffff) - 1);
  let jitter = 0;
  const jitters: number[] = [];
  for (let i = 1; i < pkts.length; i++) {
    const d = (pkts[i].t - pkts[i - 1].t) * 1000;
    deltas.push(d);
    const transit = (pkts[i].t - pkts[i - 1].t) * 1000 - ((pkts[i].ts - pkts[i - 1].ts) | 0) / 8;
    jitter += (Math.abs(transit) - jitter) / 16;
    jitters.push(jitter);
  }
  // Drift: slope of arrival time against RTP time, minus one (ms per s).
  const n = pkts.length;
  const xs: number[] = [0];
  for (let i = 1; i < n; i++) xs.push(xs[i - 1] + ((pkts[i].ts - pkts[i - 1].ts) | 0) / 8000);
  const ys = pkts.map((p) => p.t - pkts[0].t);
  const mx = xs.reduce((a, b) => a + b, 0) / n,
    my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0,
    sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const drift = sxx > 0 ? (sxy / sxx - 1) * 1000 : NaN;
  return {
    deltas,
    jitterMean: jitters.reduce((a, b) => a + b, 0) / Math.max(1, jitters.length),
    jitterMax: Math.max(0, ...jitters),
    drift,
    packets: n,
    lost,
  };
}

function summarise(label: string, streams: Pkt[][]) {
  const all: number[] = [];
  const jm: number[] = [],
    jx: number[] = [],
    dr: number[] = [],
    mx: number[] = [];
  let lost = 0,
    packets = 0;
  for (const s of streams) {
    if (s.length < 10) continue;
    const a = analyse(s);
    for (const d of a.deltas) all.push(d);
    lost += a.lost;
    packets += a.packets;
    mx.push(Math.max(...a.deltas));
    jm.push(a.jitterMean);
    jx.push(a.jitterMax);
    dr.push(a.drift);
  }
  all.sort((a, b) => a - b);
  mx.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(3);
  console.log(
    `${label.padEnd(28)} streams=${String(jm.length).padStart(3)} delta p50/p99/max ${f(pct(all, 50))}/${f(pct(all, 99))}/${f(all[all.length - 1] ?? NaN)} ms  jitter mean/max ${f(jm.reduce((a, b) => a + b, 0) / Math.max(1, jm.length))}/${f(Math.max(0, ...jx))} ms  drift ${f(dr.reduce((a, b) => a + b, 0) / Math.max(1, dr.length))} ms/s  per-stream max delta median ${f(pct(mx, 50))} ms  packets ${packets}, lost (sequence gaps) ${lost}`,
  );
}

function run(cmd: string, args: string[]): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- ExecFileException, an Omit<> of Error the rule does not see as one
  return new Promise((resolve, reject) => execFile(cmd, args, { maxBuffer: 1 << 30 }, (e, out) => (e ? reject(e) : resolve(out))));
}

/** SIPp calls per second during set-up: under TRUSTED_INVITE_RATE.perSecond (src/sip/rate-limiter.ts). */
const SETUP_RATE = 9;

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sip-bench-"));
  const kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
  const speech = new SpeechService({ cacheDir: path.join(tmp, "cache") });
  const phone = new Softphone({
    account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
    speech,
    maxCalls: N + 10,
    // SIPp sends no RTP: no RTP timeout, or the first calls end (60 s) before the slow set-up is over.
    media: { codecs: ["PCMU", "PCMA"], rtpPortMin: NODE_RTP[0], rtpPortMax: NODE_RTP[1], rtpTimeoutMs: 0 },
  });
  phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: TEXT }], afterGreeting: "repeat" });
  const firstAudio: { cached: number[]; uncached: number[] } = { cached: [], uncached: [] };
  await phone.start();
  await speech.warmUp(["en-US"]); // as the sip-client node does at start
  await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "REGISTERED");
  const bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto", codecs: ["PCMU"], toneSeconds: SECONDS + 60 });
  await bob.waitRegistered();

  // Answer → first audio, dialing baresip: new texts (uncached) then one text again (cached).
  for (let i = 0; i < 6; i++) {
    const cached = i >= 3;
    const words = ["kitchen", "garage", "cellar", "attic", "garden", "office"];
    const text = cached
      ? "Attention please, the alarm in the living room went off a minute ago."
      : `Attention please, the alarm in the ${words[i]} went off ${i + 2} minutes ago.`;
    if (cached && i === 3) await speech.synthesize({ text });
    const call = phone.calls.dial("bob", { message: text });
    let answered = 0;
    call.on("state", (s) => {
      if (s === "ANSWERED") answered = performance.now();
    });
    await new Promise<void>((resolve) =>
      call.playback.once("started", () => {
        (cached ? firstAudio.cached : firstAudio.uncached).push(performance.now() - answered);
        resolve();
      }),
    );
    await call.hangup();
    await waitFor(() => !call.active, 5000, "ended");
    await sleep(300);
  }

  const rssBefore = process.memoryUsage().rss;
  // One baresip call (the reference stream) and N-1 SIPp calls.
  await bob.dial(kam.uri("alice"));
  await waitFor(() => phone.calls.list().length === 1 && phone.calls.list()[0].state === "ANSWERED", 10_000, "baresip call answered");
  // New calls arrive a little under the registrar's INVITE rate limit (TRUSTED_INVITE_RATE: 10/s after
  // a burst of 30; more get 503), so set-up takes N / SETUP_RATE seconds and every call must outlast it.
  const setupMs = Math.ceil(N / SETUP_RATE) * 1000;
  const hold = setupMs + (SECONDS + 15) * 1000;
  const sipp =
    N > 1
      ? await startSipp({
          scenario: "uac-call",
          target: `127.0.0.1:${kam.ports.udp}`,
          service: "alice",
          calls: N - 1,
          rate: SETUP_RATE,
          holdMs: hold,
          args: ["-l", String(N)],
          timeoutMs: hold + 60_000,
        })
      : undefined;
  await waitFor(() => phone.calls.list().filter((c) => c.state === "ANSWERED").length >= N, setupMs + 60_000, `${N} calls answered`, {
    interval: 200,
  });
  await sleep(2000);
  const pcap = path.join(tmp, "rtp.pcap");
  const cap = spawn(
    "tshark",
    ["-i", "lo", "-q", "-w", pcap, "-a", `duration:${SECONDS}`, "-f", `udp and (portrange ${NODE_RTP[0]}-${NODE_RTP[1]})`],
    { stdio: "ignore" },
  );
  // Per call, so calls that end or start during the capture cannot make the difference negative.
  const skippedByCall = () => new Map(phone.calls.list().map((c) => [c.id, c.sdh?.rtp?.stats().skippedFrames ?? 0]));
  const before = skippedByCall();
  const skipped0 = [...before.values()].reduce((a, b) => a + b, 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => cap.on("exit", r));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss;
  const skippedDuring = [...skippedByCall()].reduce((n, [id, after]) => n + (before.has(id) ? after - before.get(id)! : 0), 0);
  const active = phone.calls.list().filter((c) => c.state === "ANSWERED").length;

  const nodePorts = new Set(
    phone.calls
      .list()
      .map((c) => c.sdh?.rtp?.localPort)
      .filter((p): p is number => !!p),
  );
  const fields = await run("tshark", [
    "-r",
    pcap,
    "-o",
    "rtp.heuristic_rtp:TRUE",
    "-Y",
    "rtp",
    "-T",
    "fields",
    "-e",
    "frame.time_epoch",
    "-e",
    "udp.srcport",
    "-e",
    "udp.dstport",
    "-e",
    "rtp.ssrc",
    "-e",
    "rtp.seq",
    "-e",
    "rtp.timestamp",
  ]);
  const streams = new Map<string, { fromNode: boolean; pkts: Pkt[] }>();
  for (const line of fields.split("\n")) {
    const [t, sp, dp, ssrc, seq, ts] = line.split("\t");
    if (!ts) continue;
    const key = `${sp}>${dp}/${ssrc}`;
    let s = streams.get(key);
    if (!s) {
      s = { fromNode: nodePorts.has(Number(sp)), pkts: [] };
      streams.set(key, s);
    }
    s.pkts.push({ t: Number(t), seq: Number(seq), ts: Number(ts) });
  }
  const bobPorts = bob.rtpPorts;
  const isBob = (k: string) => {
    const p = Number(k.split(">")[0]);
    return p >= bobPorts[0] && p <= bobPorts[1];
  };
  console.log(
    `\n# calls=${N} (answered and talking during capture: ${active}), capture ${SECONDS} s, node ${process.version}, ${os.cpus().length} cores`,
  );
  summarise(
    "node -> peers (all calls)",
    [...streams.values()].filter((s) => s.fromNode).map((s) => s.pkts),
  );
  summarise(
    "baresip -> node (reference)",
    [...streams.entries()].filter(([k, s]) => !s.fromNode && isBob(k)).map(([, s]) => s.pkts),
  );
  const expected = SECONDS * 50 * active;
  const got = [...streams.values()].filter((s) => s.fromNode).reduce((n, s) => n + s.pkts.length, 0);
  console.log(
    `node packets captured ${got} of ~${expected} expected (${((got / expected) * 100).toFixed(1)} %), frames skipped by the pacer during the capture: ${skippedDuring} (during call set-up: ${skipped0})`,
  );
  const cpuPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  console.log(
    `CPU ${cpuPct.toFixed(1)} % of one core (${(cpuPct / active).toFixed(3)} % per call), RSS ${(rss / 2 ** 20).toFixed(0)} MB (+${((rss - rssBefore) / 2 ** 20 / active).toFixed(2)} MB per call)`,
  );
  const f = (a: number[]) => a.map((x) => x.toFixed(1)).join(", ");
  console.log(`answer -> first audio: uncached ${f(firstAudio.uncached)} ms; cached ${f(firstAudio.cached)} ms`);

  await phone.stop();
  await sipp?.stop();
  await bob.stop();
  await speech.close();
  await kam.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
