// baresip 1.0.0 (Debian baresip-core) as a scriptable SIP peer.
//
//   const b = await startBaresip({ user: "bob", password: "pw2", kamailio: kam, answerMode: "auto" });
//   await b.waitRegistered();
//   await a.dial(kam.uri("bob"));
//   await b.waitEvent("CALL_ESTABLISHED");
//   b.recordings()  -> WAVs written by the sndfile module
//   await b.stop();
//
// Runs `baresip -f <tempdir>` headless with a generated config:
//   - net_interface 127.0.0.1 (1.0.0 accepts an interface name *or* an IP;
//     it logs "Binding to interface or IP address '127.0.0.1'"), sip_listen
//     127.0.0.1:<port> (TLS, if used, listens on <port>+1), rtp_ports on a
//     free range, dns_server 127.0.0.1:53 so no DNS query can leave the host.
//   - modules: g711 (PCMU/PCMA), aubridge (audio_player/audio_alert
//     "aubridge,nil": a sink that does not busy-loop a core, unlike alsa/null),
//     aufile (audio_source "aufile,<wav>": the WAV is the microphone; it must
//     be 8000 Hz mono S16LE for G.711, and when it ends baresip 1.0.0 raises
//     AUDIO_ERROR and hangs the call up — so the WAV length bounds the call;
//     without opts.audioFile a 60 s 440 Hz tone is generated), sndfile
//     (records every call to snd_path as dump-YYYY-MM-DD-HH-MM-SS-dec.wav =
//     audio received from the peer and ...-enc.wav = audio sent; second
//     resolution, so two calls starting in the same second share names; the
//     WAV header is finalised when the call ends), menu + ctrl_tcp.
//   - one account: registered ("<sip:user@127.0.0.1:port;transport=x>;
//     auth_pass=..;regint=..") or not (regint=0), answermode
//     manual|early|auto, audio_codecs list.
//
// ctrl_tcp (verified against baresip 1.0.0): one TCP connection at a time,
// netstring-framed JSON ("<len>:<json>,"). Request {command, params, token};
// response {response: true, ok, data, token}; events {event: true, class,
// type, param, accountaor, direction, peeruri, id, ...}. Commands are the
// menu's long commands, verified with 1.0.0: dial <uri>, accept, hangup
// (on an unanswered incoming call it rejects with 486 "Rejected"; there is no
// separate reject/busy command in 1.0.0), sndcode <digits> (RFC 4733
// telephone-events, then key release), answermode manual|early|auto,
// reginfo, listcalls, callstat, hold, resume, mute, transfer <uri>,
// reinvite, uanew/uadel/uafind, ausrc/auplay <mod,dev>, quit.
// Event types in 1.0.0: REGISTERING, REGISTER_OK, REGISTER_FAIL,
// UNREGISTERING, MWI_NOTIFY, SHUTDOWN, EXIT, CALL_INCOMING, CALL_RINGING,
// CALL_PROGRESS, CALL_ESTABLISHED, CALL_CLOSED (param = reason, e.g.
// "Connection reset by peer", "end of file", "486 Busy Here"), TRANSFER,
// TRANSFER_FAILED, CALL_DTMF_START (param = digit), CALL_DTMF_END,
// CALL_RTPESTAB, CALL_RTCP, CALL_MENC, VU_TX_REPORT, VU_RX_REPORT,
// AUDIO_ERROR, CALL_LOCAL_SDP, CALL_REMOTE_SDP. Events are only sent while
// a client is connected, so startup registration events may be missed:
// waitRegistered() polls "reginfo" instead.

import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Kamailio } from "./kamailio";
import { makeTempDir, spawnManaged, type ManagedProcess } from "./process";
import { freePort, freePortRange, LOOPBACK } from "./ports";
import { sleep, waitFor } from "./wait";
import { tone, writeWav } from "./wav";

export type AnswerMode = "manual" | "early" | "auto";
export type SipTransport = "udp" | "tcp" | "tls";

export interface BaresipOptions {
  /** Account user (also the default name in logs). */
  user: string;
  password?: string;
  /** Register at this Kamailio (port chosen by `transport`). */
  kamailio?: Kamailio;
  /** Or register at an explicit registrar on 127.0.0.1. */
  registrar?: { port: number; transport?: SipTransport };
  /** Transport towards kamailio/registrar (default udp). */
  transport?: SipTransport;
  /** Registration interval in seconds (default 600). */
  regint?: number;
  answerMode?: AnswerMode;
  /** audio_codecs of the account (default ["PCMU", "PCMA"]). */
  codecs?: string[];
  /** WAV used as microphone (8000 Hz mono 16-bit). Default: generated tone. */
  audioFile?: string;
  /** Generated tone when no audioFile: frequency (440) and length (60 s). */
  toneHz?: number;
  toneSeconds?: number;
  /** Record calls with sndfile (default true). */
  record?: boolean;
  /** baresip -s (SIP trace into log()); default from SIP_HARNESS_TRACE=1. */
  sipTrace?: boolean;
  /** baresip -v. */
  verbose?: boolean;
  /** Extra ";key=value" parameters appended to the account line. */
  accountParams?: string;
  /** Offer and accept rtcp-mux (RFC 5761); default false. */
  rtcpMux?: boolean;
  /** Extra config lines appended to the config file. */
  extraConfig?: string;
  name?: string;
  startTimeoutMs?: number;
  /** SIP and RTP on ::1 (sip_listen [::1]:port, net_interface ::1), registering at Kamailio's [::1]. */
  ipv6?: boolean;
  /**
   * Address book (the contact module): SIP URIs, the first is the "current contact" that the
   * `message` command (sendMessage) writes to. Without it the contact module is not loaded.
   */
  contacts?: string[];
}

export interface BaresipEvent {
  event: true;
  class?: string;
  type: string;
  param?: string;
  accountaor?: string;
  direction?: "incoming" | "outgoing";
  peeruri?: string;
  peerdisplayname?: string;
  id?: string;
  [k: string]: unknown;
}

export interface BaresipResponse {
  response: true;
  ok: boolean;
  data: string;
  token?: string;
}

export interface Recording {
  path: string;
  file: string;
  /** "rx" = decoded audio received from the peer (…-dec.wav), "tx" = audio sent (…-enc.wav). */
  direction: "rx" | "tx";
  /** Start time encoded in the name (local time, second resolution). */
  time: Date;
}

export interface WaitEventOptions {
  /** Only consider events with index >= since (see mark()). Default 0: past events count too. */
  since?: number;
}

export interface Baresip {
  readonly name: string;
  readonly user: string;
  /** "sip:user@127.0.0.1[:port]" as configured. */
  readonly aor: string;
  readonly sipPort: number;
  readonly ctrlPort: number;
  readonly rtpPorts: [number, number];
  readonly dir: string;
  readonly recordDir: string;
  /** The WAV used as microphone. */
  readonly audioFile: string;
  /** All events received so far, oldest first. */
  readonly events: BaresipEvent[];
  /** Index to pass as `since` to only see events that arrive from now on. */
  mark(): number;
  command(cmd: string, params?: string, timeoutMs?: number): Promise<BaresipResponse>;
  waitEvent(match: string | ((e: BaresipEvent) => boolean), timeoutMs?: number, opts?: WaitEventOptions): Promise<BaresipEvent>;
  dial(uri: string): Promise<BaresipResponse>;
  accept(): Promise<BaresipResponse>;
  hangup(): Promise<BaresipResponse>;
  /** Rejects the ringing incoming call (baresip 1.0.0 answers 486 "Rejected"). */
  reject(): Promise<BaresipResponse>;
  /** Same as reject() in 1.0.0 (486). */
  busy(): Promise<BaresipResponse>;
  /** Sends DTMF digits as RFC 4733 telephone-events in the current call. */
  sndcode(digits: string): Promise<BaresipResponse>;
  /**
   * Sends a SIP MESSAGE (text/plain) to the current contact (the first of `contacts`): the contact
   * module's "message" command in 1.0.0. Its outcome is only in the log.
   */
  sendMessage(text: string): Promise<BaresipResponse>;
  /**
   * SIP MESSAGE requests that reached this baresip, read from its SIP trace (needs `sipTrace: true`;
   * baresip 1.0.0 answers them 200 and raises no ctrl_tcp event, and its menu prints them nowhere
   * we can read). `from` is the From header's value, `text` the body as received.
   */
  receivedMessages(): Array<{ from: string; contentType: string; text: string }>;
  setAnswerMode(mode: AnswerMode): Promise<BaresipResponse>;
  reginfo(): Promise<string>;
  /** Resolves once "reginfo" shows the account as registered ("OK"). */
  waitRegistered(timeoutMs?: number): Promise<void>;
  recordings(): Recording[];
  log(): string;
  readonly running: boolean;
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
}

class CtrlClient {
  private sock: net.Socket | undefined;
  private buf = Buffer.alloc(0);
  private seq = 0;
  private readonly pending = new Map<string, { resolve: (r: BaresipResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly waiters = new Set<() => void>();
  readonly events: BaresipEvent[] = [];
  closed = false;

  constructor(private readonly name: string) {}

  connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: LOOPBACK, port });
      sock.once("connect", () => {
        sock.removeListener("error", reject);
        sock.on("error", () => {
          /* close follows */
        });
        sock.unref();
        this.sock = sock;
        resolve();
      });
      sock.once("error", reject);
      sock.on("data", (d: Buffer) => this.onData(d));
      sock.on("close", () => {
        this.closed = true;
        for (const [, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`${this.name}: ctrl_tcp connection closed`));
        }
        this.pending.clear();
        this.notify();
      });
    });
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString("ascii"));
      if (!Number.isInteger(len) || len < 0) {
        this.buf = Buffer.alloc(0); // unrecoverable framing error
        return;
      }
      if (this.buf.length < colon + 1 + len + 1) return;
      const payload = this.buf.subarray(colon + 1, colon + 1 + len).toString("utf8");
      this.buf = this.buf.subarray(colon + 2 + len);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(payload) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg.response) {
        const token = typeof msg.token === "string" ? msg.token : "";
        const p = this.pending.get(token);
        if (p) {
          this.pending.delete(token);
          clearTimeout(p.timer);
          p.resolve(msg as unknown as BaresipResponse);
        }
      } else if (msg.event) {
        this.events.push(msg as unknown as BaresipEvent);
        this.notify();
      }
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  command(cmd: string, params: string | undefined, timeoutMs: number): Promise<BaresipResponse> {
    const sock = this.sock;
    if (!sock || this.closed) return Promise.reject(new Error(`${this.name}: ctrl_tcp not connected`));
    const token = `t${++this.seq}`;
    const body: Record<string, string> = { command: cmd, token };
    if (params !== undefined && params !== "") body.params = params;
    const json = Buffer.from(JSON.stringify(body), "utf8");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`${this.name}: no response to "${cmd}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, { resolve, reject, timer });
      sock.write(Buffer.concat([Buffer.from(`${json.length}:`, "ascii"), json, Buffer.from(",", "ascii")]));
    });
  }

  waitEvent(pred: (e: BaresipEvent) => boolean, timeoutMs: number, since: number, what: string): Promise<BaresipEvent> {
    return new Promise((resolve, reject) => {
      let idx = since;
      const check = (): boolean => {
        for (; idx < this.events.length; idx++) {
          if (pred(this.events[idx])) {
            done();
            resolve(this.events[idx]);
            return true;
          }
        }
        if (this.closed) {
          done();
          reject(new Error(`${this.name}: ctrl_tcp closed while waiting for ${what}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        const seen = this.events.slice(since).map((e) => `${e.type}${e.param ? `(${e.param})` : ""}`);
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; events seen: ${seen.join(", ") || "none"}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(onEvent);
      };
      const onEvent = (): void => {
        check();
      };
      this.waiters.add(onEvent);
      check();
    });
  }

  close(): void {
    this.sock?.destroy();
    this.sock = undefined;
    this.closed = true;
  }
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

const RECORDING_RE = /^dump-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(enc|dec)\.wav$/;

export async function startBaresip(opts: BaresipOptions): Promise<Baresip> {
  const user = opts.user;
  const name = opts.name ?? `baresip-${user}`;
  const dir = makeTempDir(name);
  const recordDir = path.join(dir, "recordings");
  fs.mkdirSync(recordDir);
  const transport = opts.transport ?? opts.registrar?.transport ?? "udp";

  let registrarPort: number | undefined;
  if (opts.kamailio) registrarPort = opts.kamailio.ports[transport];
  else if (opts.registrar) registrarPort = opts.registrar.port;

  let audioFile = opts.audioFile;
  if (!audioFile) {
    audioFile = path.join(dir, "microphone.wav");
    writeWav(audioFile, tone(opts.toneHz ?? 440, opts.toneSeconds ?? 60, 8000, 0.4), 8000, 1);
  } else {
    audioFile = path.resolve(audioFile);
  }

  const host = opts.ipv6 ? "[::1]" : LOOPBACK;
  const aorHost = registrarPort ? `${host}:${registrarPort}` : host;
  const aor = `sip:${user}@${aorHost}`;
  const params: string[] = [];
  if (registrarPort) {
    if (opts.password !== undefined) params.push(`auth_pass=${opts.password}`);
    params.push(`regint=${opts.regint ?? 600}`);
  } else {
    params.push("regint=0");
  }
  params.push(`answermode=${opts.answerMode ?? "manual"}`);
  params.push(`audio_codecs=${(opts.codecs ?? ["PCMU", "PCMA"]).join(",")}`);
  const tp = registrarPort && transport !== "udp" ? `;transport=${transport}` : registrarPort ? ";transport=udp" : "";
  const accountLine = `<${aor}${tp}>;${params.join(";")}${opts.accountParams ?? ""}\n`;

  const startTimeout = opts.startTimeoutMs ?? 15000;
  const record = opts.record ?? true;
  const sipTrace = opts.sipTrace ?? process.env.SIP_HARNESS_TRACE === "1";

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const sipPort = await freePortRange(2, "both", 2); // TLS would use sipPort+1
    const ctrlPort = await freePort("tcp");
    const rtpBase = await freePortRange(20, "udp", 2);
    const rtpPorts: [number, number] = [rtpBase, rtpBase + 19];
    const config = [
      "# Generated by test/support/baresip.ts",
      "poll_method\t\tepoll",
      `sip_listen\t\t${host}:${sipPort}`,
      "call_local_timeout\t120",
      "call_max_calls\t\t4",
      "audio_player\t\taubridge,nil",
      "audio_alert\t\taubridge,nil",
      `audio_source\t\taufile,${audioFile}`,
      "audio_level\t\tno",
      "audio_buffer\t\t20-160",
      "rtp_tos\t\t\t0",
      `rtp_ports\t\t${rtpPorts[0]}-${rtpPorts[1]}`,
      `rtcp_mux\t\t${opts.rtcpMux ? "yes" : "no"}`,
      "jitter_buffer_delay\t1-10",
      "rtp_stats\t\tno",
      `dns_server\t\t${LOOPBACK}:53`,
      `net_interface\t\t${opts.ipv6 ? "::1" : LOOPBACK}`,
      "module_path\t\t/usr/lib/baresip/modules",
      "module\t\t\tg711.so",
      "module\t\t\taubridge.so",
      "module\t\t\taufile.so",
      ...(record ? ["module\t\t\tsndfile.so", `snd_path\t\t${recordDir}`] : []),
      "module_tmp\t\tuuid.so",
      "module_tmp\t\taccount.so",
      ...(opts.contacts ? ["module\t\t\tcontact.so"] : []),
      "module_app\t\tmenu.so",
      "module_app\t\tctrl_tcp.so",
      `ctrl_tcp_listen\t\t${LOOPBACK}:${ctrlPort}`,
      opts.extraConfig ?? "",
      "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "config"), config);
    fs.writeFileSync(path.join(dir, "accounts"), accountLine);
    fs.writeFileSync(path.join(dir, "contacts"), (opts.contacts ?? []).map((c) => `<${c}>\n`).join(""));

    const args = ["-f", dir];
    if (sipTrace) args.push("-s");
    if (opts.verbose) args.push("-v");
    const proc = spawnManaged("baresip", args, { name, cwd: dir });
    const ctrl = new CtrlClient(name);
    try {
      await waitFor(
        async () => {
          if (!proc.running) throw new Error(`baresip exited early (${JSON.stringify(proc.exitInfo)})`);
          if (!/baresip is ready/.test(proc.output())) return false;
          await ctrl.connect(ctrlPort);
          return true;
        },
        startTimeout,
        `${name} to start (ctrl_tcp on ${ctrlPort})`,
        { interval: 100 },
      );
    } catch (err) {
      ctrl.close();
      await proc.stop(1000);
      const out = proc.output();
      lastError = new Error(`${(err as Error).message}\n--- ${name} output ---\n${out}`);
      if (/in use|EADDRINUSE|failed to listen|transport failed/i.test(out)) continue;
      throw lastError;
    }
    return makeHandle({ name, user, aor, sipPort, ctrlPort, rtpPorts, dir, recordDir, audioFile, proc, ctrl });
  }
  throw lastError ?? new Error(`${name}: could not start`);
}

function makeHandle(s: {
  name: string;
  user: string;
  aor: string;
  sipPort: number;
  ctrlPort: number;
  rtpPorts: [number, number];
  dir: string;
  recordDir: string;
  audioFile: string;
  proc: ManagedProcess;
  ctrl: CtrlClient;
}): Baresip {
  const { proc, ctrl, name } = s;
  const must = async (cmd: string, params?: string): Promise<BaresipResponse> => {
    const r = await ctrl.command(cmd, params, 10000);
    if (!r.ok) throw new Error(`${name}: "${cmd}${params ? ` ${params}` : ""}" failed: ${r.data}`);
    return r;
  };
  const handle: Baresip = {
    name,
    user: s.user,
    aor: s.aor,
    sipPort: s.sipPort,
    ctrlPort: s.ctrlPort,
    rtpPorts: s.rtpPorts,
    dir: s.dir,
    recordDir: s.recordDir,
    audioFile: s.audioFile,
    events: ctrl.events,
    mark: () => ctrl.events.length,
    command: (cmd, params, timeoutMs = 10000) => ctrl.command(cmd, params, timeoutMs),
    waitEvent(match, timeoutMs = 10000, opts = {}) {
      const pred = typeof match === "string" ? (e: BaresipEvent) => e.type === match : match;
      const what = typeof match === "string" ? `event ${match}` : "matching event";
      return ctrl.waitEvent(pred, timeoutMs, opts.since ?? 0, what);
    },
    dial: (uri) => must("dial", uri),
    accept: () => must("accept"),
    hangup: () => must("hangup"),
    reject: () => must("hangup"),
    busy: () => must("hangup"),
    sndcode: (digits) => must("sndcode", digits),
    sendMessage: (text) => must("message", text),
    receivedMessages() {
      // The trace: "#\n<proto> <src> -> <dst>\n<message>\x1b[;m" per message, both directions.
      const out: Array<{ from: string; contentType: string; text: string }> = [];
      for (const block of proc.output().split("#\n").slice(1)) {
        // eslint-disable-next-line no-control-regex -- the trace ends each message with an ANSI reset
        const m = /^\S+ \S+ -> \S+:(\d+)\n(MESSAGE \S+ SIP\/2\.0\r\n[\s\S]*?)\r\n\r\n([\s\S]*?)\x1b\[;m/.exec(block);
        if (!m || Number(m[1]) !== s.sipPort) continue;
        const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(m[2])?.[1]?.trim() ?? "";
        out.push({ from: header("From"), contentType: header("Content-Type"), text: m[3] });
      }
      return out;
    },
    setAnswerMode: (mode) => must("answermode", mode),
    async reginfo() {
      return stripAnsi((await must("reginfo")).data);
    },
    async waitRegistered(timeoutMs = 10000) {
      await waitFor(
        // 1.0.0 prints e.g. "> sip:alice@127.0.0.1:5060  \x1b[32mOK \x1b[;m server Expires 600s"
        async () => /\sOK\s/.test(stripAnsi((await must("reginfo")).data)),
        timeoutMs,
        `${name} to be registered`,
        { interval: 100 },
      );
    },
    recordings() {
      let files: string[] = [];
      try {
        files = fs.readdirSync(s.recordDir);
      } catch {
        return [];
      }
      const out: Recording[] = [];
      for (const file of files.sort()) {
        const m = RECORDING_RE.exec(file);
        if (!m) continue;
        const [, y, mo, d, h, mi, sec, kind] = m;
        out.push({
          path: path.join(s.recordDir, file),
          file,
          direction: kind === "dec" ? "rx" : "tx",
          time: new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)),
        });
      }
      return out;
    },
    log: () => proc.output(),
    get running() {
      return proc.running;
    },
    async stop(graceMs = 3000) {
      if (proc.running && !ctrl.closed) {
        // "quit" lets baresip unregister cleanly; SIGTERM does the same.
        await ctrl.command("quit", undefined, 1000).catch(() => undefined);
      }
      ctrl.close();
      const deadline = Date.now() + graceMs;
      while (proc.running && Date.now() < deadline) await sleep(20);
      await proc.stop(Math.max(100, deadline - Date.now()));
    },
    async kill() {
      ctrl.close();
      await proc.kill();
    },
  };
  return handle;
}
