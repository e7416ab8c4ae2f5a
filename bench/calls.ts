// Calls benchmark (prints figures, asserts nothing):
//   node dist/bench/calls.js [calls=100] [seconds=20] [--block 50/200] [--node-red] [--two-way]
//                            [--no-first-audio | --first-audio-only]
// Kamailio on 127.0.0.1 routes SIPp calls (N-1) and one baresip call to the node, which plays a
// greeting in a loop. tshark captures the RTP; our own analyser (bench/lib/rtp-analysis.ts) gives the
// inter-packet delta p50/p99/max, RFC 3550 jitter, drift and sequence gaps — the node's streams side
// by side with baresip's stream in the same capture. Also: CPU (process.cpuUsage, every thread of
// the process) and RSS per call, the pacer's skipped frames, and answer → first audio packet on the
// wire (cached / uncached).
//   --block B/P   busy-wait B ms every P ms on the main thread (a heavy flow); with --node-red, an
//                 inject node every P ms into a function node that busy-waits B ms.
//   --node-red    a real Node-RED (node-red-node-test-helper, as the integration tests) runs the
//                 sip-client and a sip-call node answering with a greeting repeated in a loop.
//                 Its sip-client has the 60 s RTP timeout, so SIPp echoes RTP (--two-way implied).
//   --two-way     SIPp echoes every RTP packet back (-rtp_echo): the node receives on every call too.
//   --first-audio-only   only the first phase: answer → first audio on the wire, 12- and 120-word texts.
import fs from "fs";
import os from "os";
import path from "path";
import { monitorEventLoopDelay } from "perf_hooks";
import { execFile, spawn, type ChildProcess } from "child_process";
import { startKamailio } from "../test/support/kamailio";
import { startBaresip } from "../test/support/baresip";
import { startSipp } from "../test/support/sipp";
import { waitFor, sleep } from "../test/support/wait";
import { Softphone } from "../src/softphone";
import { SpeechService } from "../src/speech";
import { firstAudioMs, parseBlock, parseRtpFields, RTP_FIELDS, skippedDuring, summarise, type Summary } from "./lib/rtp-analysis";
import { startNodeRedPhone } from "./lib/node-red-phone";
import { LONG, SHORT, VARIANTS } from "./lib/speech-texts";

const argv = process.argv.slice(2);
const flags = new Set(argv.filter((a) => a.startsWith("--")));
const positional = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--block");
const N = Number(positional[0] ?? 100);
const SECONDS = Number(positional[1] ?? 20);
const blockArg = argv.includes("--block") ? argv[argv.indexOf("--block") + 1] : undefined;
const BLOCK = blockArg !== undefined ? parseBlock(blockArg) : undefined;
const NODE_RED = flags.has("--node-red");
const TWO_WAY = flags.has("--two-way") || NODE_RED;
const FIRST_AUDIO_ONLY = flags.has("--first-audio-only");
const FIRST_AUDIO = !flags.has("--no-first-audio") || FIRST_AUDIO_ONLY;
/** Calls per text and case (uncached, cached) in the first-audio phase. */
const FIRST_AUDIO_CALLS = 3;
const NODE_RTP = [30000, 39998] as const;
const TEXT = "This is the house speaking. The washing machine has finished. Please empty it when you have a moment.";

/** SIPp calls per second during set-up: under TRUSTED_INVITE_RATE.perSecond (src/sip/rate-limiter.ts). */
const SETUP_RATE = 9;
/** SIPp holds every call this long: the bench ends them itself, so none ends before or during the capture. */
const SIPP_HOLD_MS = 3_600_000;
/** baresip is restarted at most this often to get RTP ports outside NODE_RTP. */
const BARESIP_PORT_ATTEMPTS = 10;
/** Sampling interval of the event loop delay printed with the figures (ms). */
const LOOP_RESOLUTION_MS = 10;
/** How long the bench waits for all N calls beyond N / SETUP_RATE before it captures what is up. */
const SETUP_GRACE_MS = 60_000;
/** Once N / SETUP_RATE has passed, a count that has not moved for this long ends the wait (a call failed). */
const SETUP_STALL_MS = 15_000;

function run(cmd: string, args: string[]): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- ExecFileException, an Omit<> of Error the rule does not see as one
  return new Promise((resolve, reject) => execFile(cmd, args, { maxBuffer: 1 << 30 }, (e, out) => (e ? reject(e) : resolve(out))));
}

/** Starts tshark on lo (capture only); resolves once it is listening. */
async function capture(file: string, filter: string, seconds?: number): Promise<ChildProcess> {
  const args = ["-i", "lo", "-q", "-w", file, "-f", filter];
  if (seconds) args.push("-a", `duration:${seconds}`);
  const cap = spawn("tshark", args, { stdio: ["ignore", "ignore", "pipe"] });
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 3000);
    cap.stderr?.on("data", (d: Buffer) => {
      if (/Capturing on/.test(d.toString())) {
        clearTimeout(t);
        resolve();
      }
    });
    cap.on("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
  return cap;
}

async function readRtp(file: string) {
  const args = ["-r", file, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp", "-T", "fields"];
  for (const f of RTP_FIELDS) args.push("-e", f);
  return parseRtpFields(await run("tshark", args));
}

/** Epoch seconds now, on the clock tshark stamps packets with. */
const epoch = (): number => (performance.timeOrigin + performance.now()) / 1000;

function row(label: string, s: Summary): string {
  const f = (x: number) => x.toFixed(3);
  return `${label.padEnd(28)} streams=${String(s.streams).padStart(4)}  delta p50/p99/max ${f(s.p50)}/${f(s.p99)}/${f(s.max)} ms  jitter mean/max ${f(s.jitterMean)}/${f(s.jitterMax)} ms  drift ${f(s.drift)} ms/s  per-stream max delta median ${f(s.perStreamMaxMedian)} ms  packets ${s.packets}  sequence gaps ${s.lost}`;
}

/** Busy-waits blockMs every everyMs on this thread (the quick `--block` without Node-RED). */
function blockLoop(blockMs: number, everyMs: number): () => void {
  const t = setInterval(() => {
    const end = performance.now() + blockMs;
    while (performance.now() < end) {
      /* a heavy flow */
    }
  }, everyMs);
  return () => clearInterval(t);
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sip-bench-"));
  const kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
  const greeting = { number: "", message: TEXT };
  let phone: Softphone;
  let speech: SpeechService;
  let stopNodeRed: (() => Promise<void>) | undefined;
  let stopBlock: (() => void) | undefined;
  if (NODE_RED) {
    const nr = await startNodeRedPhone({
      kamailioUdpPort: kam.ports.udp,
      rtpPorts: NODE_RTP,
      maxCalls: N + 10,
      greeting: TEXT,
      block: BLOCK,
    });
    phone = nr.phone;
    speech = nr.speech;
    stopNodeRed = () => nr.stop();
  } else {
    speech = new SpeechService({ cacheDir: path.join(tmp, "cache") });
    phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
      speech,
      maxCalls: N + 10,
      // SIPp sends no RTP (without --two-way): no RTP timeout, or the first calls end (60 s) before the slow set-up is over.
      media: { codecs: ["PCMU", "PCMA"], rtpPortMin: NODE_RTP[0], rtpPortMax: NODE_RTP[1], rtpTimeoutMs: 0 },
    });
    phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [greeting], afterGreeting: "repeat" });
    await phone.start();
    await speech.warmUp(["en-US"]); // as the sip-client node does at start
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "REGISTERED");
    if (BLOCK) stopBlock = blockLoop(BLOCK.blockMs, BLOCK.everyMs);
  }
  // baresip's RTP ports must lie outside the node's range, or its stream and the node's stream to it
  // cannot be told apart by port (the harness picks them at random, partly inside NODE_RTP).
  const inNodeRange = (p: number) => p >= NODE_RTP[0] && p <= NODE_RTP[1];
  let bob: Awaited<ReturnType<typeof startBaresip>> | undefined;
  for (let attempt = 0; !bob; attempt++) {
    const b = await startBaresip({
      user: "bob",
      password: "pw-bob",
      kamailio: kam,
      answerMode: "auto",
      codecs: ["PCMU"],
      // baresip's aufile stops at the end of its WAV: long enough for the slowest set-up and the capture.
      toneSeconds: Math.ceil(N / SETUP_RATE + SETUP_GRACE_MS / 1000) + SECONDS + 60,
    });
    if (attempt < BARESIP_PORT_ATTEMPTS && (inNodeRange(b.rtpPorts[0]) || inNodeRange(b.rtpPorts[1]))) await b.stop();
    else bob = b;
  }
  await bob.waitRegistered();
  const bobPorts = bob.rtpPorts;
  const stopAll = async () => {
    stopBlock?.();
    if (stopNodeRed) await stopNodeRed();
    else {
      await phone.stop();
      await speech.close();
    }
    await bob.stop();
    await kam.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  };

  // Answer → first audio on the wire, dialing baresip: for a 12- and a 120-word text, new texts
  // (uncached) then one text again (cached), FIRST_AUDIO_CALLS calls each.
  const firstAudio = new Map<string, number[]>();
  if (FIRST_AUDIO) {
    const pcap = path.join(tmp, "first.pcap");
    const cap = await capture(pcap, `udp and src portrange ${NODE_RTP[0]}-${NODE_RTP[1]} and dst portrange ${bobPorts[0]}-${bobPorts[1]}`);
    const answeredAt: Array<{ at: number; label: string }> = [];
    let variant = 0;
    for (const [name, base] of [
      ["12 words", SHORT],
      ["120 words", LONG],
    ] as const) {
      for (let i = 0; i < 2 * FIRST_AUDIO_CALLS; i++) {
        const cached = i >= FIRST_AUDIO_CALLS;
        const text = base.replace("NOW", cached ? "twice" : VARIANTS[variant++ % VARIANTS.length]); // a fresh cache: new to it
        if (cached && i === FIRST_AUDIO_CALLS) await speech.synthesize({ text });
        const call = phone.calls.dial("bob", { message: text });
        let at = 0;
        call.on("state", (s) => {
          if (s === "ANSWERED") at = epoch();
        });
        await new Promise<void>((resolve) => call.playback.once("started", () => resolve()));
        await sleep(300);
        answeredAt.push({ at, label: `${name}, ${cached ? "cached" : "uncached"}` });
        await call.hangup();
        await waitFor(() => !call.active, 5000, "ended");
        await sleep(300);
      }
    }
    await sleep(200);
    cap.kill("SIGINT");
    await new Promise((r) => cap.on("exit", r));
    const streams = await readRtp(pcap);
    answeredAt.forEach(({ at, label }, i) => {
      const list = firstAudio.get(label) ?? [];
      list.push(firstAudioMs(streams, at, answeredAt[i + 1]?.at ?? Infinity));
      firstAudio.set(label, list);
    });
  }
  const printFirstAudio = () => {
    console.log(
      "answer -> first audio packet on the wire (ANSWERED in the node → the clip's first RTP packet in the capture; one call at a time, before the load):",
    );
    for (const [label, ms] of firstAudio) console.log(`  ${label.padEnd(20)} ${ms.map((x) => x.toFixed(1)).join(", ")} ms`);
  };
  if (FIRST_AUDIO_ONLY) {
    printFirstAudio();
    await stopAll();
    return;
  }

  const rssBefore = process.memoryUsage().rss;
  // One baresip call (the reference stream) and N-1 SIPp calls.
  await bob.dial(kam.uri("alice"));
  const answered = () => phone.calls.list().filter((c) => c.state === "ANSWERED").length;
  await waitFor(() => answered() === 1, 10_000, "baresip call answered");
  // New calls arrive a little under the registrar's INVITE rate limit (TRUSTED_INVITE_RATE: 10/s after
  // a burst of 30; more get 503), so set-up takes N / SETUP_RATE seconds. SIPp holds every call until
  // the bench ends, so a slow set-up cannot end the first calls before or during the capture.
  const setupMs = Math.ceil(N / SETUP_RATE) * 1000;
  const setupStart = Date.now();
  const sipp =
    N > 1
      ? await startSipp({
          scenario: "uac-call",
          target: `127.0.0.1:${kam.ports.udp}`,
          service: "alice",
          calls: N - 1,
          rate: SETUP_RATE,
          holdMs: SIPP_HOLD_MS,
          args: ["-l", String(N), ...(TWO_WAY ? ["-rtp_echo"] : [])],
          timeoutMs: SIPP_HOLD_MS,
        })
      : undefined;
  // SIPp's media ports (its -mp and the echo's port + 2) may fall inside the node's range: never ours.
  const sippMedia = sipp ? ([sipp.mediaPort, sipp.mediaPort + 3] as const) : undefined;
  let lastReport = Date.now();
  let lastCount = 0;
  let lastChange = Date.now();
  let allUp = false;
  for (;;) {
    const n = answered();
    const now = Date.now();
    if (n !== lastCount) {
      lastCount = n;
      lastChange = now;
    }
    if (n >= N) {
      allUp = true;
      break;
    }
    // Past the planned set-up: stop when the count stands still (a call failed) or at the deadline.
    if (now - setupStart > setupMs && (now - lastChange > SETUP_STALL_MS || now - setupStart > setupMs + SETUP_GRACE_MS)) break;
    if (now - lastReport >= 10_000) {
      lastReport = now;
      console.log(`  set-up: ${n} of ${N} calls answered after ${((now - setupStart) / 1000).toFixed(0)} s`);
    }
    await sleep(200);
  }
  const upBefore = answered();
  console.log(
    `  set-up: ${upBefore} of ${N} calls answered after ${((Date.now() - setupStart) / 1000).toFixed(1)} s${allUp ? "" : " (NOT all: capturing those that are up)"}`,
  );
  await sleep(2000);

  // The node's streams and baresip's stream to the node (SIPp's echo is left out of the capture).
  const pcap = path.join(tmp, "rtp.pcap");
  const nodeRange = `${NODE_RTP[0]}-${NODE_RTP[1]}`;
  const bobRange = `${bobPorts[0]}-${bobPorts[1]}`;
  const cap = await capture(
    pcap,
    // Only to and from the peers of this run: other processes' UDP on lo stays out.
    `udp and ((src portrange ${nodeRange} and (dst portrange ${bobRange}${sippMedia ? ` or dst portrange ${sippMedia[0]}-${sippMedia[1]}` : ""})) or (src portrange ${bobRange} and dst portrange ${nodeRange}))`,
    SECONDS,
  );
  // Per RTP session object: a session that closes during the capture still counts (see skippedDuring).
  const sessions = new Map<object, { skipped: () => number }>();
  const readSkipped = () => {
    for (const c of phone.calls.list()) {
      const rtp = c.sdh?.rtp;
      if (rtp && !sessions.has(rtp)) sessions.set(rtp, { skipped: () => rtp.stats().skippedFrames });
    }
    return new Map([...sessions].map(([k, v]) => [k, v.skipped()]));
  };
  const before = readSkipped();
  const skippedSetup = [...before.values()].reduce((a, b) => a + b, 0);
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => cap.on("exit", r));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const rss = process.memoryUsage().rss;
  const upAfter = answered();
  const skipped = skippedDuring(before, readSkipped());
  const sippResult = await sipp?.stop();
  stopBlock?.();

  const streams = await readRtp(pcap);
  const isBob = (p: number) => p >= bobPorts[0] && p <= bobPorts[1];
  // By port, not through the calls: the node's media may live in another thread.
  const isSipp = (p: number) => !!sippMedia && p >= sippMedia[0] && p <= sippMedia[1];
  const ours = streams.filter((s) => s.srcPort >= NODE_RTP[0] && s.srcPort <= NODE_RTP[1] && !isBob(s.srcPort) && !isSipp(s.srcPort));
  const bares = streams.filter((s) => isBob(s.srcPort));
  const ref = summarise(bares.map((s) => s.pkts));
  // "Gaps over baresip's max + 2 ms": the issue's target for a blocking flow.
  const node = summarise(
    ours.map((s) => s.pkts),
    ref.max + 2,
  );

  const mode = `${NODE_RED ? "Node-RED (sip-client + sip-call)" : "Softphone in-process"}${BLOCK ? `, flow blocks ${BLOCK.blockMs} ms every ${BLOCK.everyMs} ms${NODE_RED ? " (inject → function node)" : " (busy loop on the main thread)"}` : ""}${TWO_WAY ? ", two-way (SIPp echoes RTP)" : ", one-way (SIPp sends no RTP)"}`;
  console.log(`\n# calls=${N}, ${mode}, capture ${SECONDS} s, node ${process.version}, ${os.cpus().length} cores`);
  console.log(`calls answered: ${upBefore} when the capture started, ${upAfter} when it ended (of ${N} offered)`);
  console.log(row("node -> peers (all calls)", node));
  console.log(row("baresip -> node (reference)", ref));
  console.log(`node deltas over baresip's max + 2 ms (${(ref.max + 2).toFixed(1)} ms): ${node.gapsOver}`);
  // Over the capture's real span (tshark starts and stops a little off the requested seconds).
  const times = ours.flatMap((s) => [s.pkts[0]?.t ?? NaN, s.pkts[s.pkts.length - 1]?.t ?? NaN]).filter(Number.isFinite);
  const span = times.length ? Math.max(...times) - Math.min(...times) + 0.02 : SECONDS;
  const expected = Math.round(span * 50 * upBefore);
  console.log(
    `node packets captured ${node.packets} of ~${expected} expected (${((node.packets / expected) * 100).toFixed(1)} %); frames skipped by the pacer during the capture: ${skipped.frames} over ${skipped.sessions} sessions${skipped.decreased ? ` (${skipped.decreased} counters went DOWN)` : ""}; during call set-up: ${skippedSetup}`,
  );
  const cpuPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const perCallKb = ((rss - rssBefore) / 1024 / Math.max(1, upBefore)).toFixed(0);
  console.log(
    `CPU ${cpuPct.toFixed(1)} % of one core (${(cpuPct / Math.max(1, upAfter)).toFixed(3)} % per call${BLOCK ? `; the block itself is ~${((BLOCK.blockMs / BLOCK.everyMs) * 100).toFixed(0)} %` : ""}), RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB before the calls, ${(rss / 2 ** 20).toFixed(0)} MB with ${upBefore} calls: ${perCallKb} KB per call`,
  );
  // monitorEventLoopDelay's samples include its own resolution: taken off here.
  const lag = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS).toFixed(1);
  console.log(
    `main-thread event loop delay during the capture: p50 ${lag(loop.percentile(50))} ms, p99 ${lag(loop.percentile(99))} ms, max ${lag(loop.max)} ms`,
  );
  if (sippResult) {
    console.log(`SIPp: ${sippResult.failed} calls failed (the bench ends the held calls itself)`);
    if (sippResult.failed) console.log(`SIPp's error log, first lines:\n${sippResult.errors.split("\n").slice(0, 12).join("\n")}`);
  }
  if (!ref.streams) console.log("WARNING: no baresip stream in the capture (its call ended or its WAV ran out): no reference");
  if (FIRST_AUDIO) printFirstAudio();
  // The rows of BENCHMARKS.md's "Issue 11: media thread" table, ready to paste.
  const md = (s: Summary) =>
    `${s.p50.toFixed(3)} / ${s.p99.toFixed(3)} / ${s.max.toFixed(3)} | ${s.jitterMean.toFixed(3)} / ${s.jitterMax.toFixed(3)}`;
  const modeCell = `${NODE_RED ? "Node-RED" : "in-process"}${BLOCK ? `, block ${BLOCK.blockMs}/${BLOCK.everyMs}` : ""}${TWO_WAY && !NODE_RED ? ", two-way" : ""}`;
  console.log(
    `\n| ${N} | ${modeCell} | node | ${md(node)} | ${node.gapsOver} | ${node.lost} | ${skipped.frames} | ${cpuPct.toFixed(1)} % | ${perCallKb} KB |`,
  );
  console.log(`| | | baresip | ${md(ref)} | | ${ref.lost} | | | |`);
  await stopAll();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
