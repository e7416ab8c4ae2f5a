// SIPp (Debian sip-tester, "SIPp v3.6.1-SCTP-PCAP-RTPSTREAM": no TLS
// transport in this build) as a scriptable SIP peer, bound to 127.0.0.1 only.
//
//   const r = await runSipp({ scenario: "options", target: `127.0.0.1:${kam.ports.udp}` });
//   r.ok, r.code, r.successful, r.failed, r.errors, r.messages
//
//   const uas = await startSipp({ scenario: "uas-answer" });  // waits for a call on uas.port
//   ... the client calls sip:x@127.0.0.1:<uas.port> ...
//   const result = await uas.done;
//
// scenario: a name of a file in test/support/scenarios/ (without .xml), a
// path to an XML file, or { xml: "<scenario ...>" }.
// Every run gets its own temp dir with the scenario, the error log
// (-trace_err), the message log (-trace_msg), the statistics CSV
// (-trace_stat) and the final screen (-trace_screen). SIP, control (-cp) and
// media (-mp) ports are picked free on 127.0.0.1; -i/-mi are 127.0.0.1 and the
// target must be 127.0.0.1 too.
//
// SIPp exit codes: 0 all calls succeeded, 1 at least one call failed,
// 97 exit on internal command, 99 normal exit without calls processed,
// 253 (-3) watchdog, 254 (-2) fatal error binding a socket, 255 (-1) fatal.

import * as fs from "node:fs";
import * as path from "node:path";
import { makeTempDir, spawnManaged, type ManagedProcess } from "./process";
import { freePort, freePortRange, LOOPBACK } from "./ports";

/** test/support/scenarios (works from both the .ts sources and dist/). */
export const SCENARIO_DIR = (() => {
  const candidates = [
    path.resolve(__dirname, "scenarios"),
    path.resolve(__dirname, "../../../test/support/scenarios"),
    path.resolve(process.cwd(), "test/support/scenarios"),
  ];
  return candidates.find((d) => fs.existsSync(path.join(d, "options.xml"))) ?? candidates[1];
})();

export function scenarioPath(name: string): string {
  return path.join(SCENARIO_DIR, name.endsWith(".xml") ? name : `${name}.xml`);
}

/** Defaults for scenario keys used by our scenarios, applied when the scenario mentions them. */
export const SCENARIO_KEY_DEFAULTS: Record<string, string> = {
  expires: "300",
  dtmf_digit: "5",
  dtmf_duration: "160",
};

export interface SippOptions {
  scenario: string | { xml: string };
  /** "127.0.0.1:port" of the remote side (required for UAC scenarios). */
  target?: string;
  /** -s: user part of the request URI ([service]). */
  service?: string;
  /** -au / -ap for [authentication]. */
  auth?: { user: string; password: string };
  /** "udp" (u1, default) or "tcp" (t1). This SIPp build has no TLS. */
  transport?: "udp" | "tcp";
  /** -m: stop after this many calls (default 1). */
  calls?: number;
  /** -r: calls per second (default SIPp's 10). */
  rate?: number;
  /** -d: duration of <pause/> without milliseconds, e.g. call hold time (default 1000). */
  holdMs?: number;
  /** -key name value, for [name] in the scenario. */
  keys?: Record<string, string>;
  /** -set name value, for scenario variables. */
  vars?: Record<string, string>;
  /** Local SIP port (default: free port). */
  port?: number;
  /** -aa: auto-answer INFO/NOTIFY/OPTIONS/UPDATE outside the scenario (default true). */
  autoAnswer?: boolean;
  /** Extra raw arguments (must not name any address other than 127.0.0.1). */
  args?: string[];
  /** Whole-run timeout in ms; SIPp gets -timeout and is killed shortly after (default 30000). */
  timeoutMs?: number;
  name?: string;
}

export interface SippResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** code === 0 */
  ok: boolean;
  successful: number;
  failed: number;
  /** Last row of the statistics CSV, by column name. */
  stats: Record<string, string>;
  /** Contents of the error log (unexpected messages etc.). */
  errors: string;
  /** Contents of the message log (every SIP message sent/received). */
  messages: string;
  /** Final screen (-trace_screen). */
  screen: string;
  /** stdout + stderr. */
  output: string;
  dir: string;
  args: string[];
}

export interface SippRun {
  /** Local SIP port. */
  readonly port: number;
  readonly mediaPort: number;
  readonly dir: string;
  readonly process: ManagedProcess;
  readonly done: Promise<SippResult>;
  /** Terminates SIPp (SIGTERM/SIGKILL) and resolves its result. */
  stop(): Promise<SippResult>;
}

const LOOPBACK_RE = /^127\.0\.0\.1(:\d+)?$/;

function readIf(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function parseStats(csv: string): Record<string, string> {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim());
  if (lines.length < 2) return {};
  const head = lines[0].split(";");
  const last = lines[lines.length - 1].split(";");
  const out: Record<string, string> = {};
  head.forEach((h, i) => {
    if (h) out[h.trim()] = (last[i] ?? "").trim();
  });
  return out;
}

export async function startSipp(opts: SippOptions): Promise<SippRun> {
  if (opts.target !== undefined && !LOOPBACK_RE.test(opts.target)) {
    throw new Error(`sipp harness: target must be 127.0.0.1[:port], got ${opts.target}`);
  }
  for (const a of opts.args ?? []) {
    const ips = a.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? [];
    if (ips.some((ip) => ip !== LOOPBACK)) throw new Error(`sipp harness: argument ${a} names an address other than 127.0.0.1`);
  }
  const name = opts.name ?? "sipp";
  const dir = makeTempDir(name);
  let scenarioFile: string;
  let scenarioText: string;
  if (typeof opts.scenario === "string") {
    scenarioFile = fs.existsSync(opts.scenario) ? path.resolve(opts.scenario) : scenarioPath(opts.scenario);
    scenarioText = fs.readFileSync(scenarioFile, "utf8");
  } else {
    scenarioText = opts.scenario.xml;
    scenarioFile = path.join(dir, "scenario.xml");
    fs.writeFileSync(scenarioFile, scenarioText);
  }

  const keys: Record<string, string> = {};
  for (const [k, v] of Object.entries(SCENARIO_KEY_DEFAULTS)) if (scenarioText.includes(`[${k}]`)) keys[k] = v;
  Object.assign(keys, opts.keys ?? {});

  const timeoutMs = opts.timeoutMs ?? 30000;
  const files = {
    errors: path.join(dir, "errors.log"),
    messages: path.join(dir, "messages.log"),
    stats: path.join(dir, "stats.csv"),
    screen: path.join(dir, "screen.log"),
  };

  let lastFailure = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = opts.port ?? (await freePort(opts.transport === "tcp" ? "tcp" : "udp"));
    const mediaPort = await freePortRange(4, "udp", 2);
    const controlPort = await freePort("udp");
    const args = [
      "-sf",
      scenarioFile,
      "-i",
      LOOPBACK,
      "-mi",
      LOOPBACK,
      "-p",
      String(port),
      "-mp",
      String(mediaPort),
      "-cp",
      String(controlPort),
      "-t",
      opts.transport === "tcp" ? "t1" : "u1",
      "-m",
      String(opts.calls ?? 1),
      "-d",
      String(opts.holdMs ?? 1000),
      "-nostdin",
      "-timeout",
      `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`,
      "-timeout_error",
      "-trace_err",
      "-error_file",
      files.errors,
      "-trace_msg",
      "-message_file",
      files.messages,
      "-trace_stat",
      "-stf",
      files.stats,
      "-trace_screen",
      "-screen_file",
      files.screen,
    ];
    if (opts.autoAnswer ?? true) args.push("-aa");
    if (opts.rate !== undefined) args.push("-r", String(opts.rate));
    if (opts.service !== undefined) args.push("-s", opts.service);
    if (opts.auth) args.push("-au", opts.auth.user, "-ap", opts.auth.password);
    for (const [k, v] of Object.entries(keys)) args.push("-key", k, v);
    for (const [k, v] of Object.entries(opts.vars ?? {})) args.push("-set", k, v);
    args.push(...(opts.args ?? []));
    if (opts.target) args.push(opts.target);

    const proc = spawnManaged("sipp", args, { name, cwd: dir });
    proc.ref(); // a SIPp run is always awaited, and ends by itself (-timeout)
    let killTimer: NodeJS.Timeout | undefined = setTimeout(() => void proc.stop(1000), timeoutMs + 5000);
    const done = proc.exited.then((info): SippResult => {
      if (killTimer) clearTimeout(killTimer);
      killTimer = undefined;
      const stats = parseStats(readIf(files.stats));
      return {
        code: info.code,
        signal: info.signal,
        ok: info.code === 0,
        successful: Number(stats["SuccessfulCall(C)"] ?? 0),
        failed: Number(stats["FailedCall(C)"] ?? 0),
        stats,
        errors: readIf(files.errors),
        messages: readIf(files.messages),
        screen: readIf(files.screen),
        output: proc.output(),
        dir,
        args,
      };
    });
    // A bind failure shows up within a moment as exit code 254 (-2).
    const early = await Promise.race([done, new Promise<undefined>((r) => setTimeout(r, 300))]);
    if (early && early.code === 254 && opts.port === undefined) {
      lastFailure = early.output;
      continue;
    }
    return {
      port,
      mediaPort,
      dir,
      process: proc,
      done,
      async stop() {
        await proc.stop(2000);
        return done;
      },
    };
  }
  throw new Error(`sipp harness: could not bind ports after 3 attempts:\n${lastFailure}`);
}

/** Runs SIPp to completion. */
export async function runSipp(opts: SippOptions): Promise<SippResult> {
  const run = await startSipp(opts);
  return run.done;
}

/** Human-readable summary for assertion messages. */
export function describeSipp(r: SippResult): string {
  return [
    `sipp exit ${r.code}${r.signal ? ` (${r.signal})` : ""}, successful ${r.successful}, failed ${r.failed}`,
    `args: sipp ${r.args.join(" ")}`,
    r.errors ? `--- errors ---\n${r.errors.slice(-4000)}` : "",
    r.messages ? `--- messages ---\n${r.messages.slice(-6000)}` : "",
  ]
    .filter(Boolean)
    .join("\n");
}
