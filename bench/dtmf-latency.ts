// DTMF detection latency per method (prints figures, asserts nothing):
//   node dist/bench/dtmf-latency.js [digits=20] [--node-red]
// rfc4733: the event's first RTP packet on the wire (tshark on lo) → the digit.
// inband:  the first loud RTP packet of the tone on the wire → the digit (the sender's 20 ms of
//          packetisation come before that packet, so from the tone's start add 20 ms).
// info:    the INFO request arriving at the node's SIP transport → the digit.
// "The digit" is the Softphone's dtmf event and, with --node-red (a real Node-RED running the
// sip-client, sip-call and sip-dtmf nodes), also the sip-dtmf node's message out: the cost of every
// hop to a flow. RTP times come from the capture, so they hold wherever the node's media runs (the
// main thread or a worker); the capture clock is matched to the process clock by calibration
// packets the bench sends into the capture every CALIBRATE_EVERY_MS.
import dgram from "dgram";
import fs from "fs";
import os from "os";
import path from "path";
import { execFile, spawn } from "child_process";
import { startKamailio } from "../test/support/kamailio";
import { startBaresip } from "../test/support/baresip";
import { runSipp } from "../test/support/sipp";
import { waitFor, sleep } from "../test/support/wait";
import { freePort } from "../test/support/ports";
import { writeWav } from "../test/support/wav";
import { concat } from "../test/unit/dtmf/signals";
import { Softphone } from "../src/softphone";
import { SpeechService } from "../src/speech";
import type { WireDtmfMethod } from "../src/types";
import { generateDtmfTone } from "../src/dtmf/tone-generator";
import { calibrationPayload, DTMF_FIELDS, latencies, parseDtmfCapture, toCaptureClock } from "./lib/dtmf-wire";
import { startNodeRedPhone } from "./lib/node-red-phone";

const argv = process.argv.slice(2);
const DIGITS = Number(argv.find((a) => !a.startsWith("--")) ?? 20);
const NODE_RED = argv.includes("--node-red");
const NODE_RTP = [31000, 31999] as const;
/** A calibration packet into the capture this often (ms). */
const CALIBRATE_EVERY_MS = 250;
/** A calibration send that took longer than this (the process was descheduled) is left out. */
const CALIBRATION_MAX_SEND_MS = 0.5;

/** Epoch seconds on the process clock. */
const epoch = (): number => (performance.timeOrigin + performance.now()) / 1000;

function stats(label: string, xs: number[]): void {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const f = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(2));
  const missing = xs.length - s.length;
  console.log(
    `${label.padEnd(38)} n=${String(s.length).padStart(2)}${missing ? ` (${missing} unmatched)` : ""}  median ${f(s[Math.floor(s.length / 2)])} ms, p90 ${f(s[Math.floor(s.length * 0.9)])} ms, max ${f(s[s.length - 1])} ms`,
  );
}

function run(cmd: string, args: string[]): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- ExecFileException, an Omit<> of Error the rule does not see as one
  return new Promise((resolve, reject) => execFile(cmd, args, { maxBuffer: 1 << 28 }, (e, out) => (e ? reject(e) : resolve(out))));
}

type Method = WireDtmfMethod;
interface Digit {
  method: Method;
  at: number;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtmf-bench-"));
  const kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob", carol: "pw-carol" } });
  const events: Digit[] = [];
  const messages: Digit[] = [];
  let phone: Softphone;
  let speech: SpeechService | undefined;
  let stopNodeRed: (() => Promise<void>) | undefined;
  if (NODE_RED) {
    const nr = await startNodeRedPhone({
      kamailioUdpPort: kam.ports.udp,
      rtpPorts: NODE_RTP,
      maxCalls: 4,
      onDtmfMessage: (m) => {
        if (m.topic === "dtmf") messages.push({ method: m.method as Method, at: epoch() });
      },
    });
    phone = nr.phone;
    stopNodeRed = () => nr.stop();
  } else {
    speech = new SpeechService({});
    phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
      speech,
      media: { rtpPortMin: NODE_RTP[0], rtpPortMax: NODE_RTP[1] },
    });
    phone.calls.setInboundPolicy({ autoAnswer: true });
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "REGISTERED");
  }
  // Prepended: seen before the sip-dtmf node's own listener.
  phone.prependListener("dtmf", (_d, method) => {
    if (method !== "simulated") events.push({ method, at: epoch() });
  });

  // The capture and its calibration packets (bench socket → bench socket, both on 127.0.0.1).
  const calPort = await freePort("udp");
  const calRx = dgram.createSocket("udp4");
  await new Promise<void>((r) => calRx.bind(calPort, "127.0.0.1", () => r()));
  const calTx = dgram.createSocket("udp4");
  const calSent: number[] = [];
  const pcap = path.join(tmp, "dtmf.pcap");
  const cap = spawn("tshark", ["-i", "lo", "-q", "-w", pcap, "-f", `udp and (dst portrange ${NODE_RTP[0]}-${NODE_RTP[1]} or dst port ${calPort})`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 3000);
    cap.stderr.on("data", (d: Buffer) => {
      if (/Capturing on/.test(d.toString())) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const calibrate = () => {
    // The send time is the middle of the call; a call that took over CALIBRATION_MAX_SEND_MS is not used.
    const t0 = epoch();
    calTx.send(calibrationPayload(calSent.length), calPort, "127.0.0.1");
    const t1 = epoch();
    calSent.push(t1 - t0 <= CALIBRATION_MAX_SEND_MS / 1000 ? (t0 + t1) / 2 : NaN);
  };
  calibrate();
  const calTimer = setInterval(calibrate, CALIBRATE_EVERY_MS);

  // RFC 4733
  const bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
  await bob.waitRegistered();
  await bob.dial(kam.uri("alice"));
  await waitFor(() => phone.calls.list().some((c) => c.state === "ANSWERED"), 10_000, "answered");
  await sleep(500);
  for (let i = 0; i < DIGITS; i++) {
    await bob.sndcode(String(i % 10));
    await sleep(400);
  }
  await bob.hangup();
  await bob.stop();

  // SIP INFO: time the INFO's arrival at the transport.
  const infoAt: number[] = [];
  const origOnMessage = phone.phone.transport.onMessage;
  phone.phone.transport.onMessage = (m: string) => {
    if (m.startsWith("INFO ")) infoAt.push(epoch());
    origOnMessage?.(m);
  };
  for (let i = 0; i < Math.min(DIGITS, 10); i++) {
    await runSipp({
      scenario: "uac-info-dtmf",
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "alice",
      keys: { dtmf_digit: String(i % 10) },
      holdMs: 200,
      timeoutMs: 10_000,
    });
  }

  // In-band: one tone per call from a WAV.
  const wav = path.join(tmp, "tone.wav");
  writeWav(wav, concat(new Int16Array(8000), generateDtmfTone("5", 100, { levelDbm0: -10 }), new Int16Array(24000)));
  const carol = await startBaresip({ user: "carol", password: "pw-carol", kamailio: kam, answerMode: "auto", audioFile: wav, codecs: ["PCMU"] });
  await carol.waitRegistered();
  for (let i = 0; i < Math.min(DIGITS, 8); i++) {
    const n = events.filter((e) => e.method === "inband").length;
    await carol.dial(kam.uri("alice"));
    await waitFor(() => events.filter((e) => e.method === "inband").length > n, 8000, "in-band digit").catch(() => undefined);
    await carol.hangup().catch(() => undefined);
    await sleep(600);
  }
  await carol.stop();
  await sleep(300);
  clearInterval(calTimer);
  calibrate();
  await sleep(300);
  cap.kill("SIGINT");
  await new Promise((r) => cap.on("exit", r));
  calTx.close();
  calRx.close();

  const args = ["-r", pcap, "-o", "rtp.heuristic_rtp:TRUE", "-T", "fields"];
  for (const f of DTMF_FIELDS) args.push("-e", f);
  const wire = parseDtmfCapture(await run("tshark", args), calPort);
  const toWire = toCaptureClock(calSent, wire.calibration);
  const ofMethod = (list: Digit[], m: Method) => list.filter((d) => d.method === m).map((d) => d.at);
  /** INFO: the i-th digit against the i-th INFO, both on the process clock. */
  const infoLat = (ats: number[]) => ats.map((t, i) => (infoAt[i] === undefined ? NaN : (t - infoAt[i]) * 1000));

  // Capture time − send time of each calibration packet: its spread bounds the clock error of the RTP rows.
  const offsets = [...wire.calibration]
    .filter(([i]) => Number.isFinite(calSent[i]))
    .map(([i, c]) => (c - calSent[i]) * 1000)
    .sort((a, b) => a - b);
  const spread = offsets.length
    ? `p10..p90 ${(offsets[Math.floor(offsets.length * 0.9)] - offsets[Math.floor(offsets.length * 0.1)]).toFixed(2)} ms`
    : "none";
  console.log(
    `# DTMF detection latency, ${NODE_RED ? "Node-RED (sip-client, sip-call, sip-dtmf)" : "Softphone in-process"}; calibration packets: ${calSent.length} sent, ${wire.calibration.size} captured, offset spread ${spread}`,
  );
  stats("rfc4733: 1st packet → event", latencies(ofMethod(events, "rfc4733").map(toWire), wire.eventOnsets));
  stats("info: request → event", infoLat(ofMethod(events, "info")));
  stats("inband: 1st loud packet → event", latencies(ofMethod(events, "inband").map(toWire), wire.toneOnsets));
  if (NODE_RED) {
    stats("rfc4733: 1st packet → sip-dtmf msg", latencies(ofMethod(messages, "rfc4733").map(toWire), wire.eventOnsets));
    stats("info: request → sip-dtmf msg", infoLat(ofMethod(messages, "info")));
    stats("inband: 1st loud packet → sip-dtmf msg", latencies(ofMethod(messages, "inband").map(toWire), wire.toneOnsets));
  }
  if (stopNodeRed) await stopNodeRed();
  else {
    await phone.stop();
    await speech?.close();
  }
  await kam.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
