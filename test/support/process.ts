// Process and temp-dir bookkeeping shared by the harness helpers.
//
// Every helper process is spawned `detached` (its own process group) so the
// whole group — Kamailio forks ~10 children — can be killed at once. All live
// processes are registered here and are killed:
//   - by their owner's stop()/kill(),
//   - by a root-level mocha `after` hook registered when this module is first
//     loaded by a spec file (graceful stop of anything a test forgot),
//   - on process 'exit' and on SIGINT/SIGTERM/SIGHUP (synchronous SIGKILL of
//     every group), so nothing outlives the test run even if mocha is killed.
// Children and their pipes are unref()'d: a forgotten helper never keeps
// mocha's event loop alive (the 'exit' hook then kills it). stop()/kill()
// ref() the child again while they wait for it to exit.
// Temp dirs made with makeTempDir() are removed on exit unless the
// environment has SIP_HARNESS_KEEP=1 (then their paths are printed).

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnManagedOptions {
  /** Name used in logs and error messages. */
  name?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called for every complete output line. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Keep at most this many characters of output (default 8 MB). */
  maxLog?: number;
  /** Extra spawn options (stdio is always ["ignore"|"pipe", "pipe", "pipe"]). */
  stdin?: "ignore" | "pipe";
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves once the main process has exited. */
  readonly exited: Promise<ExitInfo>;
  readonly running: boolean;
  readonly exitInfo: ExitInfo | undefined;
  /** stdout and stderr, interleaved in arrival order. */
  output(): string;
  onLine(fn: (line: string, stream: "stdout" | "stderr") => void): () => void;
  /** SIGTERM (or `signal`), wait up to graceMs, then SIGKILL the group; waits for exit. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** SIGKILL the whole group immediately; waits for exit. */
  kill(): Promise<ExitInfo>;
  /**
   * Let the process keep the event loop alive (children start unref()'d so a
   * forgotten helper never stalls mocha; call this when awaiting `exited`).
   */
  ref(): void;
}

const live = new Set<ManagedProcess>();
const tempDirs = new Set<string>();

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

export function spawnManaged(cmd: string, args: string[], opts: SpawnManagedOptions = {}): ManagedProcess {
  const name = opts.name ?? path.basename(cmd);
  const maxLog = opts.maxLog ?? 8 * 1024 * 1024;
  const spawnOpts: SpawnOptions = {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: [opts.stdin ?? "ignore", "pipe", "pipe"],
  };
  const child = spawn(cmd, args, spawnOpts);
  let log = "";
  const listeners = new Set<(line: string, stream: "stdout" | "stderr") => void>();
  if (opts.onLine) listeners.add(opts.onLine);
  let exitInfo: ExitInfo | undefined;
  let spawnError: Error | undefined;

  const partial: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
  const onData = (stream: "stdout" | "stderr") => (buf: Buffer) => {
    const s = buf.toString("utf8");
    log += s;
    if (log.length > maxLog) log = log.slice(log.length - Math.floor(maxLog / 2));
    partial[stream] += s;
    const lines = partial[stream].split("\n");
    partial[stream] = lines.pop() ?? "";
    for (const line of lines) for (const l of listeners) l(line.replace(/\r$/, ""), stream);
  };
  child.stdout?.on("data", onData("stdout"));
  child.stderr?.on("data", onData("stderr"));

  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("error", (err) => {
      spawnError = err;
      log += `\n[harness] failed to spawn ${cmd}: ${err.message}\n`;
      exitInfo = { code: -1, signal: null };
      resolve(exitInfo);
    });
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      for (const stream of ["stdout", "stderr"] as const) {
        if (partial[stream]) for (const l of listeners) l(partial[stream], stream);
        partial[stream] = "";
      }
      resolve(exitInfo);
    });
  }).then((info) => {
    live.delete(mp);
    // Sweep any children the main process left in its group.
    if (child.pid) signalGroup(child.pid, "SIGKILL");
    return info;
  });

  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  const stop = async (graceMs = 3000, signal: NodeJS.Signals = "SIGTERM"): Promise<ExitInfo> => {
    if (exitInfo) return exited;
    child.ref(); // someone awaits the exit now: keep the event loop alive for it
    try {
      if (child.pid) process.kill(child.pid, signal);
    } catch {
      /* exited meanwhile */
    }
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (!exitInfo && child.pid) signalGroup(child.pid, "SIGKILL");
        resolve();
      }, graceMs);
    });
    await Promise.race([exited, killed]);
    const info = await exited;
    clearTimeout(timer);
    return info;
  };

  const mp: ManagedProcess = {
    name,
    get pid() {
      return child.pid ?? -1;
    },
    child,
    exited,
    get running() {
      return exitInfo === undefined;
    },
    get exitInfo() {
      return exitInfo;
    },
    output: () => log,
    onLine(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    stop,
    async kill() {
      if (!exitInfo && child.pid) {
        child.ref();
        signalGroup(child.pid, "SIGKILL");
      }
      return exited;
    },
    ref() {
      child.ref();
    },
  };
  if (!spawnError) live.add(mp);
  return mp;
}

/** Processes spawned through spawnManaged that have not exited yet. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

/** Gracefully stops every live helper process (used by the root mocha hook). */
export async function stopAll(graceMs = 2000): Promise<string[]> {
  const names = [...live].map((p) => `${p.name}(${p.pid})`);
  await Promise.all([...live].map((p) => p.stop(graceMs)));
  return names;
}

function killAllSync(): void {
  for (const p of live) if (p.pid > 0) signalGroup(p.pid, "SIGKILL");
}

/** A fresh directory under the OS temp dir; removed when the process exits. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sip-harness-${prefix.replace(/[^\w.-]/g, "_")}-`));
  tempDirs.add(dir);
  return dir;
}

function removeTempDirsSync(): void {
  const keep = process.env.SIP_HARNESS_KEEP === "1";
  for (const dir of tempDirs) {
    if (keep) process.stderr.write(`[harness] kept ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  tempDirs.clear();
}

// ---- exit paths -----------------------------------------------------------

process.on("exit", () => {
  killAllSync();
  removeTempDirsSync();
});

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  const handler = (): void => {
    killAllSync();
    removeTempDirsSync();
    // Only re-raise if nobody else (e.g. mocha) handles this signal.
    process.removeListener(sig, handler);
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  process.on(sig, handler);
}

// When loaded by a mocha spec file at load time, register a root-level
// after-all hook that stops whatever the tests left running.
{
  const g = globalThis as { after?: (title: string, fn: () => Promise<void>) => void };
  if (typeof g.after === "function") {
    try {
      g.after("sip harness: stop leftover helper processes", async function () {
        const names = await stopAll();
        if (names.length) process.stderr.write(`[harness] stopped leftover processes: ${names.join(", ")}\n`);
      });
    } catch {
      /* not in mocha's loading phase */
    }
  }
}
