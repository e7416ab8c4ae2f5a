// Drives mutated SIP (UDP, TCP, WS) and mutated RTP into a running FuzzStack.
//
// UDP messages go to the phone's SIP port from three sources: the relay (the
// address the phone registered through, i.e. "the registrar"), another port on
// 127.0.0.1 (inside the default trust boundary) and 127.0.0.2 (outside it).
// TCP and WS messages are injected by the relays into the phone's own
// connection. RTP goes to the RTP port of a live call (a real call from baresip
// when one is up), from 127.0.0.1 and 127.0.0.3.
//
// Message i of a run is generated from fork(seed, i) and the wire state, and is
// kept (bytes and source) in a ring buffer of RING messages; when the Node-RED
// process dies, the ring is written to test/support/fuzz/crashers/ and the
// seed, index and the last messages (base64) are appended to the crashers file.

import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as path from "node:path";
import { build, KINDS, Target } from "./corpus";
import { mutateSip, mutatedRtp, RtpState } from "./mutate";
import { Prng } from "./prng";
import { Account, FuzzStack } from "./stack";
import { sleep } from "../wait";

export type Channel = "udp-registrar" | "udp-local" | "udp-outside" | "tcp" | "ws" | "rtp";

export interface Sent {
  index: number;
  channel: Channel;
  to: string;
  ops: string[];
  bytes: Buffer;
}

export interface Crash {
  seed: number;
  index: number;
  time: string;
  lines: string[];
  logTail: string;
  last: Sent[];
  file?: string;
  culprit?: Reproducer;
  /** The error message and the top frames of its stack: crashes with the same signature are one bug. */
  signature?: string;
}

export interface FuzzOptions {
  seed: number;
  /** SIP messages per transport (udp, tcp, ws; UDP ones are split over the three sources). */
  perTransport: number;
  /** Mutated RTP packets in all (spread over the run). */
  rtp: number;
  /** Messages between two pauses; the pause lets the phone work (default 40 messages, 2 ms). */
  batch?: number;
  pauseMs?: number;
  /** Check the process every N messages (default 200, below RING). */
  checkEvery?: number;
  /** After a crash: restart Node-RED and go on (bench), or stop (test, default). */
  continueAfterCrash?: boolean;
  /** Where reproducers go (default test/support/fuzz/crashers) and the shared crashers file. */
  crasherDir?: string;
  crashersFile?: string;
  /** After a crash, replay the kept messages to find the one message that kills the process (bench). */
  pinpoint?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Called between batches (e.g. to keep a call up). */
  tick?: () => Promise<void>;
}

export interface FuzzResult {
  seed: number;
  sent: Record<Channel, number>;
  /** Injections skipped because the phone had no TCP/WS connection open at that moment. */
  skipped: Record<"tcp" | "ws", number>;
  byKind: Record<string, number>;
  ms: number;
  rssBefore: number;
  rssAfter: number;
  crashes: Crash[];
  /** Messages the phone sent in reply to injected ones, per channel group. */
  answers: { udp: number; tcp: number; ws: number };
}

/** Bounded: the last RING messages are kept for reproducers. */
export const RING = 300;
/** UDP datagrams are capped below the IPv4 maximum payload. */
const MAX_UDP = 65_000;
/** Stream messages: most are kept below the phone's 64 KiB frame limit so the connection survives long enough to matter. */
const MAX_STREAM = 60_000;
/** In the crashers file, messages up to this size are inlined as base64. */
const CRASHER_INLINE_BYTES = 3000;
/** How long an injection waits for the phone to reconnect its TCP/WS connection before the message is skipped. */
export const RECONNECT_WAIT_MS = 15_000;

export const DEFAULT_CRASHER_DIR = path.resolve(__dirname, "..", "..", "..", "..", "test", "support", "fuzz", "crashers");
/** The crashes list (markdown, appended): FUZZ_CRASHERS_FILE, else crashers.md beside the reproducers (not committed). */
export const DEFAULT_CRASHERS_FILE = process.env.FUZZ_CRASHERS_FILE ?? path.join(DEFAULT_CRASHER_DIR, "crashers.md");

/** Makes a stream message self-delimiting (Content-Length = body length) so one mutation does not swallow the next. */
export function reframe(b: Buffer): Buffer {
  const s = b.toString("latin1");
  const end = s.indexOf("\r\n\r\n");
  if (end < 0) return Buffer.from(s + "\r\nContent-Length: 0\r\n\r\n", "latin1");
  const head = s
    .slice(0, end)
    .split("\r\n")
    .filter((l) => !/^(content-length|l)[ \t]*:/i.test(l));
  const body = s.slice(end + 4);
  head.push(`Content-Length: ${Buffer.byteLength(body, "latin1")}`);
  return Buffer.from(`${head.join("\r\n")}\r\n\r\n${body}`, "latin1");
}

function bind(sock: dgram.Socket, host: string, port = 0): Promise<void> {
  return new Promise((r, j) => {
    sock.once("error", j);
    sock.bind(port, host, () => {
      sock.off("error", j);
      r();
    });
  });
}

export async function runFuzz(stack: FuzzStack, o: FuzzOptions): Promise<FuzzResult> {
  const log = o.log ?? (() => undefined);
  const batch = o.batch ?? 40;
  const pauseMs = o.pauseMs ?? 2;
  const checkEvery = o.checkEvery ?? 200;
  const crasherDir = o.crasherDir ?? DEFAULT_CRASHER_DIR;
  const crashersFile = o.crashersFile ?? DEFAULT_CRASHERS_FILE;
  const master = new Prng(o.seed);
  const sent: Record<Channel, number> = { "udp-registrar": 0, "udp-local": 0, "udp-outside": 0, tcp: 0, ws: 0, rtp: 0 };
  const skipped = { tcp: 0, ws: 0 };
  const byKind: Record<string, number> = {};
  const ring: Sent[] = [];
  const crashes: Crash[] = [];
  const signatures = new Set<string>();
  const reproduced = new Set<string>();
  const pinpointTries = new Map<string, number>();

  const udpAcct = stack.accounts.find((a) => a.kind === "udp");
  const accts = stack.accounts;
  // Injectors: 127.0.0.1 (inside), 127.0.0.2 (outside); RTP from 127.0.0.1 and 127.0.0.3; a sink for the RTP the phone sends to our offers.
  const local = dgram.createSocket("udp4");
  const outside = dgram.createSocket("udp4");
  const rtpA = dgram.createSocket("udp4");
  const rtpB = dgram.createSocket("udp4");
  const sink = dgram.createSocket("udp4");
  const socks = [local, outside, rtpA, rtpB, sink];
  for (const s of socks) s.on("error", () => undefined);
  await bind(local, "127.0.0.1");
  await bind(outside, "127.0.0.2");
  await bind(rtpA, "127.0.0.1");
  await bind(rtpB, "127.0.0.3");
  await bind(sink, "127.0.0.1");
  let udpAnswers = 0;
  for (const s of [local, outside])
    s.on("message", (m) => {
      udpAnswers++;
      udpAcct?.relay.wire.fromPhoneMsg(m.toString("utf8"));
    });
  sink.on("message", () => undefined);
  const sinkPort = sink.address().port;

  const targetOf = (a: Account, peer: { host: string; port: number }): Target => ({
    transport: a.kind === "udp" ? "UDP" : a.kind === "tcp" ? "TCP" : "WS",
    user: a.user,
    domain: `127.0.0.1:${a.relay.port}`,
    peerHost: peer.host,
    peerPort: peer.port,
    sinkPort,
    registrarPort: stack.kam.ports.udp,
    wire: a.relay.wire,
  });

  const rtpState: RtpState = { ssrc: master.u32(), seq: master.int(65536), ts: master.u32() };
  const total = o.perTransport * accts.length;
  const rtpEvery = o.rtp > 0 ? Math.max(1, total / o.rtp) : Infinity;
  let rtpDue = 0;
  const rssBefore = stack.rss();
  const t0 = Date.now();

  const remember = (s: Sent): void => {
    ring.push(s);
    if (ring.length > RING) ring.shift();
  };

  const onDeath = async (index: number): Promise<void> => {
    await sleep(300); // let the last log lines arrive
    const crash: Crash = {
      seed: o.seed,
      index,
      time: new Date().toISOString(),
      lines: stack.crashLines(),
      logTail: stack.red.output().slice(-6000),
      last: ring.slice(-50),
    };
    const sig0 = signature(crash.logTail);
    const firstOfItsKind = !signatures.has(sig0);
    try {
      fs.mkdirSync(crasherDir, { recursive: true });
      const dump = path.join(crasherDir, `seed${o.seed}-i${index}.json`);
      if (firstOfItsKind) crash.file = dump;
      if (firstOfItsKind)
        fs.writeFileSync(
          dump,
          JSON.stringify(
            {
              seed: o.seed,
              index,
              time: crash.time,
              lines: crash.lines,
              logTail: crash.logTail,
              last: ring.map((s) => ({ index: s.index, channel: s.channel, to: s.to, ops: s.ops, base64: s.bytes.toString("base64") })),
            },
            null,
            1,
          ),
        );
      const stackLines = crash.logTail
        .split("\n")
        .filter((l) => /Error|at |Uncaught|Exception/.test(l))
        .slice(0, 14)
        .join("\n");
      const lastOnes = ring
        .slice(-4)
        .map((s) => {
          const first = s.bytes.subarray(0, 120).toString("latin1").split(/\r?\n/)[0];
          const b64 =
            s.bytes.length <= CRASHER_INLINE_BYTES ? `\n\n  \`${s.bytes.toString("base64")}\`` : " (too long to inline: see the reproducer)";
          return `- #${s.index} ${s.channel} → ${s.to}, ${s.bytes.length} bytes, ops [${s.ops.join(",")}], first line ${JSON.stringify(first)}${b64}`;
        })
        .join("\n");
      if (firstOfItsKind)
        fs.appendFileSync(
          crashersFile,
          `\n## crash: seed ${o.seed}, message #${index} (helper fuzz, ${crash.time})\nSignature: ${sig0} (later crashes with this signature in the same run are only counted)\nReproducer (last ${ring.length} messages, base64): \`${path.relative(path.resolve(crasherDir, "..", "..", "..", ".."), dump)}\` on branch sec/fuzz.\n\n\`\`\`\n${stackLines}\n\`\`\`\nLast messages sent before the process was found dead (the culprit is among the last ${checkEvery}):\n${lastOnes}\n`,
        );
    } catch (err) {
      log(`could not write the crasher: ${(err as Error).message}`);
    }
    crashes.push(crash);
    const sig = signature(crash.logTail);
    crash.signature = sig;
    const seen = signatures.has(sig);
    signatures.add(sig);
    log(`CRASH after message #${index}: ${sig}${seen ? " (seen before)" : ""}`);
    const tries = pinpointTries.get(sig) ?? 0;
    if (o.pinpoint && !reproduced.has(sig) && tries < PINPOINT_TRIES) {
      pinpointTries.set(sig, tries + 1);
      const rep = await pinpoint(stack, crash, ring.slice());
      if (rep?.confirmed && rep.signature) reproduced.add(rep.signature);
      if (rep?.confirmed && rep.signature !== sig) log(`  (the replay found another crash: ${rep.signature})`);
      if (rep) {
        crash.culprit = rep;
        const file = path.join(crasherDir, `seed${o.seed}-i${rep.index}-${rep.channel}.${rep.confirmed ? "repro" : "candidate"}.json`);
        try {
          fs.writeFileSync(file, JSON.stringify(rep, null, 1));
        } catch (err) {
          log(`could not write ${file}: ${(err as Error).message}`);
        }
        const text = Buffer.from(rep.base64, "base64").toString("latin1");
        try {
          fs.appendFileSync(
            crashersFile,
            `\nCulprit (replayed alone after a restart: ${rep.confirmed ? "CONFIRMED, it kills the process by itself" : "not reproduced alone, needs the messages before it"}): message #${rep.index}, ${rep.channel} → ${rep.to}, ops [${rep.ops.join(",")}], reproducer \`test/support/fuzz/crashers/${path.basename(file)}\` (replay: \`node dist/test/support/fuzz/replay.js ${path.relative(process.cwd(), file)}\`)\n\n\`\`\`\n${rep.stack.join("\n")}\n\`\`\`\nFirst 600 characters:\n\`\`\`\n${text.slice(0, 600).replace(/`/g, "'")}\n\`\`\`\nbase64 ${rep.base64.length > 8000 ? "(long)" : ""}: \`${rep.base64.length > 8000 ? rep.base64.slice(0, 200) + "..." : rep.base64}\`\n`,
          );
        } catch {
          /* the reproducer file is enough */
        }
        log(`  culprit: #${rep.index} ${rep.channel} (${rep.confirmed ? "confirmed alone" : "not alone"}) -> ${file}`);
      } else log("  culprit: not found by replay (state-dependent)");
      ring.length = 0;
    }
  };

  let index = 0;
  let stopped = false;
  try {
    for (; index < total; index++) {
      const a = accts[index % accts.length];
      const rng = master.fork(index);
      const kind = rng.pick(KINDS);
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      if (a.kind === "udp") {
        const r = rng.float();
        const channel: Channel = r < 0.4 ? "udp-registrar" : r < 0.8 ? "udp-local" : "udp-outside";
        const from =
          channel === "udp-registrar"
            ? { host: "127.0.0.1", port: a.relay.port }
            : channel === "udp-local"
              ? { host: "127.0.0.1", port: local.address().port }
              : { host: "127.0.0.2", port: outside.address().port };
        const m = mutateSip(build(kind, targetOf(a, from), rng), rng, MAX_UDP);
        if (channel === "udp-registrar") a.relay.inject(m.bytes);
        else {
          a.relay.wire.toPhoneMsg(m.bytes.toString("utf8"));
          (channel === "udp-local" ? local : outside).send(m.bytes, a.sipPort, "127.0.0.1");
        }
        sent[channel]++;
        remember({ index, channel, to: `127.0.0.1:${a.sipPort}`, ops: m.ops, bytes: m.bytes });
      } else {
        const channel: Channel = a.kind;
        const m = mutateSip(build(kind, targetOf(a, { host: "127.0.0.1", port: a.relay.port }), rng), rng, MAX_STREAM);
        // TCP: 1 in 200 keeps its broken framing (the phone must resync or reconnect); the rest are made self-delimiting.
        const raw = rng.chance(0.005);
        const bytes = a.kind === "tcp" && !raw ? reframe(m.bytes) : m.bytes;
        if (raw) m.ops.push("raw-framing");
        let ok = a.relay.inject(bytes);
        for (const until = Date.now() + RECONNECT_WAIT_MS; !ok && Date.now() < until && stack.alive();) {
          await sleep(50);
          ok = a.relay.inject(bytes);
        }
        if (ok) {
          sent[channel]++;
          remember({ index, channel, to: `${a.kind} connection`, ops: m.ops, bytes });
        } else skipped[a.kind]++;
      }
      // RTP, spread over the run.
      rtpDue++;
      while (rtpDue >= rtpEvery && sent.rtp < o.rtp) {
        rtpDue -= rtpEvery;
        const rng2 = master.fork(1_000_000_000 + sent.rtp);
        const d = udpAcct?.relay.wire
          .liveDialogs()
          .filter((x) => x.rtpPort)
          .pop();
        const port = d?.rtpPort ?? (udpAcct ? udpAcct.rtpBase + rng2.int(16) : 0);
        if (!port) break;
        const rtcp = rng2.chance(0.05);
        const p = mutatedRtp(rng2, rtpState);
        const sock = rng2.chance(0.7) ? rtpA : rtpB;
        sock.send(p.bytes, rtcp ? port + 1 : port, "127.0.0.1");
        sent.rtp++;
        remember({
          index,
          channel: "rtp",
          to: `127.0.0.1:${rtcp ? port + 1 : port} from ${sock === rtpA ? "127.0.0.1" : "127.0.0.3"}`,
          ops: p.ops,
          bytes: p.bytes,
        });
      }
      if ((index + 1) % batch === 0) {
        await sleep(pauseMs);
        if (o.tick) await o.tick();
      }
      if ((index + 1) % checkEvery === 0) {
        if (!stack.alive()) {
          await onDeath(index);
          if (!o.continueAfterCrash) {
            stopped = true;
            break;
          }
          if (!stack.alive()) await stack.restartRed();
        }
        if ((index + 1) % (checkEvery * 10) === 0)
          log(`#${index + 1}/${total} ${JSON.stringify(sent)} rss ${(stack.rss() / 1048576).toFixed(0)} MiB`);
      }
    }
    await sleep(2000); // the last messages are still being handled
    if (!stopped && !stack.alive()) await onDeath(index);
  } finally {
    for (const s of socks)
      await new Promise<void>((r) => {
        try {
          s.close(() => r());
        } catch {
          r();
        }
      });
  }
  return {
    seed: o.seed,
    sent,
    skipped,
    byKind,
    ms: Date.now() - t0,
    rssBefore,
    rssAfter: stack.rss(),
    crashes,
    answers: {
      udp: udpAnswers + (udpAcct?.relay.answered ?? 0),
      tcp: stack.accounts.find((a) => a.kind === "tcp")?.relay.answered ?? 0,
      ws: stack.accounts.find((a) => a.kind === "ws")?.relay.answered ?? 0,
    },
  };
}

/** "Error text @ frame1 < frame2 < frame3" of the last uncaught exception in a Node-RED log. */
export function signature(log: string): string {
  const lines = log.split("\n");
  let i = lines.map((l) => /Uncaught Exception/.test(l)).lastIndexOf(true);
  if (i < 0) return "(process exited without an uncaught exception)";
  const err = (lines[i + 1] ?? "").replace(/^.*\[error\] /, "");
  const frames: string[] = [];
  for (i += 2; i < lines.length && frames.length < 3; i++) {
    const m = /^\s+at (?:(\S+) )?\(?(?:file:\/\/)?.*\/([^/]+\.js):\d+:\d+\)?$/.exec(lines[i]);
    if (!m) break;
    frames.push(`${m[1] ?? "?"}(${m[2]})`);
  }
  return `${err} @ ${frames.join(" < ")}`;
}

/** A saved reproducer: one message, where it goes, and what it did. */
export interface Reproducer {
  seed: number;
  index: number;
  channel: Channel;
  to: string;
  ops: string[];
  base64: string;
  stack: string[];
  signature?: string;
  confirmed: boolean;
}

/** After a crash, at most this many recent messages are each replayed alone to find the culprit. */
export const PINPOINT_CANDIDATES = 5;
/** Pinpointing is tried at most this many times per crash signature. */
export const PINPOINT_TRIES = 3;

/** Sends one saved message into the stack the way the fuzzer sent it. */
export async function sendOne(stack: FuzzStack, channel: Channel, bytes: Buffer, rtpTo?: string): Promise<boolean> {
  const udp = stack.accounts.find((a) => a.kind === "udp");
  if (channel === "tcp" || channel === "ws") {
    const a = stack.accounts.find((x) => x.kind === channel);
    if (!a) return false;
    for (const until = Date.now() + RECONNECT_WAIT_MS; Date.now() < until; await sleep(50)) if (a.relay.inject(bytes)) return true;
    return false;
  }
  if (channel === "udp-registrar") return !!udp?.relay.inject(bytes);
  const host = channel === "udp-outside" ? "127.0.0.2" : channel === "rtp" && rtpTo?.endsWith("127.0.0.3") ? "127.0.0.3" : "127.0.0.1";
  const port = channel === "rtp" ? Number(/:(\d+)/.exec(rtpTo ?? "")?.[1]) : udp?.sipPort;
  if (!port) return false;
  const sock = dgram.createSocket("udp4");
  sock.on("error", () => undefined);
  await bind(sock, host);
  await new Promise<void>((r) => sock.send(bytes, port, "127.0.0.1", () => r()));
  await new Promise<void>((r) => sock.close(() => r()));
  return true;
}

/**
 * After a crash: restarts Node-RED and replays the kept messages one by one (newest
 * last), checking the process after each; the message after which it dies is the
 * culprit. It is confirmed by a second restart and sending it alone.
 */
export async function pinpoint(stack: FuzzStack, crash: Crash, ring: Sent[], gapMs = 60): Promise<Reproducer | undefined> {
  const restart = async (): Promise<void> => {
    await stack.restartRed();
    await sleep(1500);
  };
  await restart();
  const recent: Sent[] = [];
  for (const sent of ring) {
    if (sent.channel === "rtp") continue; // the call (and its port) is gone after a restart
    await sendOne(stack, sent.channel, sent.bytes, sent.to);
    recent.push(sent);
    await sleep(gapMs);
    if (!stack.alive()) {
      await sleep(300);
      const log = stack.red.output();
      const trace = log
        .split("\n")
        .filter((l) => /Error| {4}at /.test(l))
        .slice(-12);
      const sig = signature(log);
      // The process dies a little after the fatal message: try the latest messages of the transport in the stack trace, each alone.
      const joined = trace.join("\n");
      const want: Channel[] | undefined = /ws-connection|websocket\.js/.test(joined)
        ? ["ws"]
        : /stream-connection|stream-framer/.test(joined)
          ? ["tcp"]
          : /udp-connection|dgram/.test(joined)
            ? ["udp-registrar", "udp-local", "udp-outside"]
            : undefined;
      const candidates = [...recent]
        .reverse()
        .slice(0, 8)
        .filter((x) => !want || want.includes(x.channel))
        .slice(0, PINPOINT_CANDIDATES);
      let best: Reproducer | undefined;
      for (const s of candidates) {
        await restart();
        await sendOne(stack, s.channel, s.bytes, s.to);
        await sleep(1200);
        const rep: Reproducer = {
          seed: crash.seed,
          index: s.index,
          channel: s.channel,
          to: s.to,
          ops: s.ops,
          base64: s.bytes.toString("base64"),
          stack: trace,
          signature: sig,
          confirmed: !stack.alive(),
        };
        if (rep.confirmed) {
          const alone = stack.red.output();
          rep.stack = alone
            .split("\n")
            .filter((l) => /Error| {4}at /.test(l))
            .slice(-12);
          rep.signature = signature(alone);
          best = rep;
          break;
        }
        best ??= rep;
      }
      if (!stack.alive()) await restart();
      return best;
    }
  }
  return undefined;
}
