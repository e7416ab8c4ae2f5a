// Main-thread side of Pico: one worker thread per process, shared by every PicoEngine,
// started on first use and terminated when the last engine is closed.
import path from "path";
import { Worker } from "worker_threads";
import { PICO_LANG_DIR, resolvePicoLanguage } from "./languages";
import { PICO_DEFAULT_VOLUME, buildPicoInput } from "./pico-text";
import { PICO_SAMPLE_RATE, type FromPicoWorker, type ToPicoWorker } from "./protocol";

export { PICO_SAMPLE_RATE };

export interface PicoEngineOptions {
  /** Pico markup volume 0..500 (default 50: louder clips). */
  volume?: number;
  /** Directory holding the Pico language files (default: the package's pico-lang/). */
  langDir?: string;
  /** A request not answered within this time (queue wait included) kills and restarts the worker. Default 120 s. */
  timeoutMs?: number;
}

type Distribute<T> = T extends unknown ? Omit<T, "id"> : never;
type Request = Distribute<ToPicoWorker>;

interface Pending {
  owner: PicoEngine;
  resolve: (msg: Extract<FromPicoWorker, { type: "done" }>) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Owns the single worker thread and matches replies to requests. */
class PicoWorkerHost {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly users = new Set<PicoEngine>();
  private exiting: Promise<void> | undefined;

  get running(): boolean {
    return this.worker !== undefined;
  }

  acquire(engine: PicoEngine): void {
    this.users.add(engine);
  }

  async release(engine: PicoEngine): Promise<void> {
    this.users.delete(engine);
    this.rejectWhere(
      (p) => p.owner === engine,
      () => new Error("Pico engine closed"),
    );
    if (this.users.size === 0) await this.terminate();
  }

  async request(owner: PicoEngine, req: Request, timeoutMs: number): Promise<Extract<FromPicoWorker, { type: "done" }>> {
    // A worker that is still shutting down must be gone before a new one starts.
    if (this.exiting) await this.exiting;
    if (!this.users.has(owner)) throw new Error("Pico engine closed"); // closed while we waited
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.crashed(worker, new Error(`Pico text-to-speech did not answer within ${timeoutMs} ms; worker restarted`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { owner, resolve, reject, timer });
      worker.ref(); // keep the process alive while work is outstanding
      worker.postMessage({ ...req, id });
    });
  }

  private start(): Worker {
    const worker = new Worker(path.join(__dirname, "pico-worker.js"));
    this.worker = worker;
    worker.unref();
    worker.on("message", (msg: FromPicoWorker) => {
      const p = this.pending.get(msg.id);
      if (!p) return; // its engine was closed meanwhile
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.type === "done") p.resolve(msg);
      else p.reject(new Error(msg.message));
      if (msg.type === "error" && msg.fatal) {
        this.crashed(worker, new Error(`Pico text-to-speech worker restarted after: ${msg.message}`));
      }
      if (this.pending.size === 0) worker.unref(); // an idle worker must not hold the process open
    });
    worker.on("error", (err) => this.crashed(worker, new Error(`Pico text-to-speech worker crashed: ${err.message}`)));
    worker.on("exit", (code) => this.crashed(worker, new Error(`Pico text-to-speech worker exited (code ${code})`)));
    return worker;
  }

  /** Fails everything in flight; the next request starts a fresh worker. */
  private crashed(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.rejectWhere(
      () => true,
      () => err,
    );
    const done = worker.terminate().then(
      () => undefined,
      () => undefined,
    );
    this.exiting = done;
    void done.then(() => {
      if (this.exiting === done) this.exiting = undefined;
    });
  }

  private rejectWhere(match: (p: Pending) => boolean, makeError: () => Error): void {
    for (const [id, p] of this.pending) {
      if (!match(p)) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(makeError());
    }
    if (this.pending.size === 0) this.worker?.unref();
  }

  private async terminate(): Promise<void> {
    const worker = this.worker;
    if (worker) {
      this.worker = undefined;
      this.rejectWhere(
        () => true,
        () => new Error("Pico engine closed"),
      );
      await worker.terminate();
    }
    if (this.exiting) await this.exiting;
  }
}

const host = new PicoWorkerHost();

/** True while the process-wide Pico worker thread exists (for tests and diagnostics). */
export function picoWorkerRunning(): boolean {
  return host.running;
}

/** A handle on the shared Pico worker. Returns 16 kHz mono Int16 PCM. */
export class PicoEngine {
  private closed = false;
  private readonly volume: number;
  private readonly langDir: string;
  private readonly timeoutMs: number;

  constructor(options: PicoEngineOptions = {}) {
    this.volume = options.volume ?? PICO_DEFAULT_VOLUME;
    this.langDir = options.langDir ?? PICO_LANG_DIR;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    buildPicoInput("", this.volume); // validates the volume now rather than on first use
  }

  get sampleRate(): number {
    return PICO_SAMPLE_RATE;
  }

  /** Synthesizes plain text (markup in it is neutralised). Throws for empty text or unknown languages. */
  async synthesize(text: string, language: string): Promise<Int16Array> {
    if (typeof text !== "string" || text.trim() === "") throw new Error("Text to speak is empty");
    const lang = resolvePicoLanguage(language);
    const reply = await this.send({ type: "synth", langDir: this.langDir, lang: lang.code, input: buildPicoInput(text, this.volume) });
    return new Int16Array(reply.pcm ?? new ArrayBuffer(0));
  }

  /** Starts the worker and loads a language so that the first real synthesis is quick. */
  async load(language: string): Promise<void> {
    const lang = resolvePicoLanguage(language);
    await this.send({ type: "load", langDir: this.langDir, lang: lang.code });
  }

  /** Releases this handle; the worker is terminated once no open engine is left. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await host.release(this);
  }

  private send(req: Request): Promise<Extract<FromPicoWorker, { type: "done" }>> {
    if (this.closed) return Promise.reject(new Error("Pico engine is closed"));
    host.acquire(this);
    return host.request(this, req, this.timeoutMs);
  }
}
