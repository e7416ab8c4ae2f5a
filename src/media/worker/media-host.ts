// The main thread's side of the media worker (media-worker.ts): one worker per process, started on
// the first call's media and ended when the last Softphone stops with no session left; requests
// matched to replies (bounded, with a timeout); a crash ends every live session (its call then ends
// with the reason) and the next call starts a new worker, at most MEDIA_WORKER_MAX_RESTARTS a minute.
//
// The pump: ONE timer for every session pulls each call's frames ahead, up to MEDIA_LOOKAHEAD_MS, and
// ships all of them in one transferred buffer per cycle, so a busy main thread (a heavy flow) does not
// reach the pacer in the worker. It also runs at once when a call queues audio (first audio after an
// answer does not wait for a cycle).

import path from "path";
import { Worker } from "worker_threads";
import { systemClock, type Clock } from "../../clock";
import { FRAME_MS } from "../audio-format";
import { packFrames, type FromMediaWorker, type SessionFrames, type ToMediaWorker } from "./protocol";
import { RemoteRtpSession, type MediaChannel } from "./remote-rtp-session";
import type { RtpMedia, RtpMediaOptions } from "./media-stream";

/** How far ahead of the worker's pacer frames are pulled: outlasts a 50 ms block every 200 ms with margin. */
export const MEDIA_LOOKAHEAD_MS = 300;
/** How often the pump tops every session up (also run at once when audio is queued). */
export const MEDIA_PUMP_INTERVAL_MS = 40;
/** Longest wait for the worker to open a session. */
export const MEDIA_REQUEST_TIMEOUT_MS = 10_000;
/** Most open requests waiting for the worker. */
export const MEDIA_MAX_PENDING_REQUESTS = 4096;
/** Restarts of a crashed worker allowed per MEDIA_WORKER_RESTART_WINDOW_MS; beyond, new calls get no media. */
export const MEDIA_WORKER_MAX_RESTARTS = 5;
export const MEDIA_WORKER_RESTART_WINDOW_MS = 60_000;
/** Longest a stopping Softphone waits for the worker to confirm the last closes before leaving it running. */
export const MEDIA_STOP_WAIT_MS = 1000;
/** Longest a call's end waits for the worker's last statistics (msg.call.stats and quality at ENDED). */
export const MEDIA_SNAPSHOT_TIMEOUT_MS = 200;
/** Why the calls of a worker that died end (CallInfo.reason). */
export const MEDIA_WORKER_STOPPED = "media worker stopped";

const LOOKAHEAD_FRAMES = Math.ceil(MEDIA_LOOKAHEAD_MS / FRAME_MS);

interface Pending {
  resolve: (s: RemoteRtpSession) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  id: number;
  hosts: () => readonly string[];
}

export class MediaHost implements MediaChannel {
  private worker: Worker | null = null;
  private exiting: Promise<void> | null = null;
  private readonly sessions = new Map<number, RemoteRtpSession>();
  private readonly pending = new Map<number, Pending>();
  private readonly pumped = new Set<RemoteRtpSession>();
  private nextId = 1;
  private nextReq = 1;
  /** When the worker died unasked, within the restart window. */
  private crashes: number[] = [];
  private pumpTimer: unknown = null;
  private soon = false;
  /** Waiting for a fresh snapshot, by request number (bounded by the calls ending at once; each has a timeout). */
  private readonly snapshotWaiters = new Map<number, () => void>();

  constructor(
    private readonly workerPath = path.join(__dirname, "media-worker.js"),
    private readonly clock: Clock = systemClock,
  ) {}

  get running(): boolean {
    return this.worker !== null;
  }

  /** Sessions alive in the worker (tests, diagnostics). */
  get size(): number {
    return this.sessions.size;
  }

  /** Sessions alive or opening: what a pool balances (media-pool.ts). */
  get load(): number {
    return this.sessions.size + this.pending.size;
  }

  async open(options: RtpMediaOptions): Promise<RtpMedia> {
    if (this.exiting) await this.exiting;
    if (this.pending.size >= MEDIA_MAX_PENDING_REQUESTS) throw new Error("media worker: too many sessions opening");
    const worker = this.worker ?? this.start();
    const req = this.nextReq++;
    const id = this.nextId++;
    const { signallingHosts, ...rest } = options;
    let hosts: string[] = [];
    try {
      hosts = [...signallingHosts()];
    } catch {
      hosts = [];
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new Error(`media worker did not open RTP within ${MEDIA_REQUEST_TIMEOUT_MS} ms`));
      }, MEDIA_REQUEST_TIMEOUT_MS);
      timer.unref();
      this.pending.set(req, { resolve, reject, timer, id, hosts: signallingHosts });
      worker.postMessage({ t: "open", req, id, options: { ...rest, hosts } } satisfies ToMediaWorker);
    });
  }

  /**
   * A Softphone stopped: ends the worker once no session is left or opening (the last closes are
   * confirmed within a report, waited for at most MEDIA_STOP_WAIT_MS); the worker lets its RTCP BYEs go first.
   */
  async stopWhenIdle(): Promise<void> {
    for (let waited = 0; this.sessions.size > 0 && waited < MEDIA_STOP_WAIT_MS; waited += 20) {
      await new Promise<void>((r) => setTimeout(r, 20).unref());
    }
    this.stopIfIdle();
  }

  /** Ends the worker now if no session is left or opening. */
  stopIfIdle(): void {
    const worker = this.worker;
    if (!worker || this.sessions.size > 0 || this.pending.size > 0) return;
    this.worker = null;
    worker.postMessage({ t: "shutdown" } satisfies ToMediaWorker);
    this.exiting = new Promise<void>((resolve) => {
      worker.once("exit", () => resolve());
      // The worker exits by itself; a stuck one is ended.
      setTimeout(() => void worker.terminate().catch(() => undefined), 2000).unref();
    }).then(() => {
      this.exiting = null;
    });
  }

  /** Test hook: kills the worker as a crash would. */
  async killForTest(): Promise<void> {
    const worker = this.worker;
    if (worker) await worker.terminate();
  }

  // ---- MediaChannel ----

  post(msg: ToMediaWorker): void {
    try {
      this.worker?.postMessage(msg);
    } catch {
      // the worker is gone: its exit handler ends the sessions
    }
  }

  pumpAdd(session: RemoteRtpSession): void {
    this.pumped.add(session);
    if (this.pumpTimer === null) this.arm(MEDIA_PUMP_INTERVAL_MS);
  }

  pumpRemove(session: RemoteRtpSession): void {
    this.pumped.delete(session);
  }

  wake(): void {
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      this.pump();
    });
  }

  snapshot(id: number): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    const req = this.nextReq++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, MEDIA_SNAPSHOT_TIMEOUT_MS);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.snapshotWaiters.set(req, () => done());
      this.post({ t: "snapshot", id, req });
    }).finally(() => this.snapshotWaiters.delete(req));
  }

  forget(session: RemoteRtpSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  // ---- internals ----

  private arm(delay: number): void {
    const t = this.clock.setTimeout(() => {
      this.pumpTimer = null;
      this.pump();
    }, delay);
    (t as { unref?: () => void } | null)?.unref?.();
    this.pumpTimer = t;
  }

  /** One cycle: every session topped up to the look-ahead, one message. */
  private pump(): void {
    try {
      const batches: SessionFrames[] = [];
      for (const s of this.pumped) {
        const first = s.pushed;
        const frames = s.pull(LOOKAHEAD_FRAMES);
        if (frames.length > 0) batches.push({ id: s.id, first, frames });
      }
      if (batches.length > 0 && this.worker) {
        const buf = packFrames(batches);
        this.worker.postMessage({ t: "frames", buf } satisfies ToMediaWorker, [buf]);
      }
    } catch {
      // a failed cycle is retried at the next one
    }
    if (this.pumped.size > 0 && this.pumpTimer === null) this.arm(MEDIA_PUMP_INTERVAL_MS);
  }

  private start(): Worker {
    // Only crashes count: a worker ended because its last Softphone stopped may start again freely.
    const now = this.clock.now();
    this.crashes = this.crashes.filter((t) => now - t < MEDIA_WORKER_RESTART_WINDOW_MS);
    if (this.crashes.length > MEDIA_WORKER_MAX_RESTARTS) {
      throw new Error(`${MEDIA_WORKER_STOPPED}: it stopped more than ${MEDIA_WORKER_MAX_RESTARTS} times within a minute, not restarted yet`);
    }
    const worker = new Worker(this.workerPath);
    this.worker = worker;
    // Live calls keep the process alive through their SIP sockets; the worker alone never does.
    worker.unref();
    worker.on("message", (msg: FromMediaWorker) => this.onMessage(msg));
    worker.on("error", (err) => this.crashed(worker, `${MEDIA_WORKER_STOPPED} (${err.message})`));
    worker.on("exit", () => this.crashed(worker, MEDIA_WORKER_STOPPED));
    return worker;
  }

  private onMessage(msg: FromMediaWorker): void {
    try {
      if (msg.t === "opened") {
        const p = this.pending.get(msg.req);
        if (!p) {
          // timed out meanwhile: close it in the worker
          this.post({ t: "close", id: msg.id });
          return;
        }
        this.pending.delete(msg.req);
        clearTimeout(p.timer);
        const session = new RemoteRtpSession(this, msg.id, msg, p.hosts);
        this.sessions.set(msg.id, session);
        p.resolve(session);
      } else if (msg.t === "openFailed") {
        const p = this.pending.get(msg.req);
        if (!p) return;
        this.pending.delete(msg.req);
        clearTimeout(p.timer);
        p.reject(new Error(msg.message));
      } else if (msg.t === "report") {
        const c = msg.counters;
        for (let i = 0; i + 3 < c.length; i += 4) this.sessions.get(c[i])?.onCounters(c[i + 1], c[i + 2], c[i + 3]);
        for (const st of msg.stats) this.sessions.get(st.id)?.onStats(st);
        for (const e of msg.events) this.sessions.get(e.id)?.onEvent(e);
        if (msg.ack !== undefined) for (const [req, fn] of this.snapshotWaiters) if (req <= msg.ack) fn();
      }
    } catch {
      // a listener's failure is the session's (safeEmit); nothing escapes into the worker's callback
    }
  }

  /** The worker died (crash, kill, exit): every live session ends, the next call starts a new worker. */
  private crashed(worker: Worker, reason: string): void {
    if (this.worker !== worker) return; // an intended shutdown, or already handled
    this.worker = null;
    this.crashes.push(this.clock.now());
    for (const [req, p] of this.pending) {
      this.pending.delete(req);
      clearTimeout(p.timer);
      p.reject(new Error(reason));
    }
    for (const fn of this.snapshotWaiters.values()) fn();
    const live = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of live) s.workerStopped(reason);
    const done = worker.terminate().then(
      () => undefined,
      () => undefined,
    );
    this.exiting = done.then(() => {
      this.exiting = null;
    });
  }
}
