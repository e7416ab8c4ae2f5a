// Worker-thread entry that owns the SVOX Pico WASM engine. Pico synthesis is synchronous
// (~0.1 s per sentence, ~0.4 s for the first one), so it must never run on the thread that
// paces RTP packets every 20 ms.
import fs from "fs";
import path from "path";
import { parentPort } from "worker_threads";
import type { SvoxPicoModule } from "@echogarden/svoxpico-wasm";
import { PICO_LANGUAGES, type PicoLanguage } from "./languages";
import type { FromPicoWorker, ToPicoWorker } from "./protocol";

const PICO_MEM_SIZE = 2_500_000; // what pico2wave uses; one language needs < 1.5 MB
const OUT_BUF_BYTES = 128; // pico_getData hands out at most this much per call anyway
const RETSTRING_BYTES = 256; // >= PICO_RETSTRINGSIZE (200)
const RESOURCE_NAME_BYTES = 64; // >= PICO_MAX_RESOURCE_NAME_SIZE (32)
const MAX_PUT_BYTES = 32767; // pico_putTextUtf8 takes an Int16 size
const PICO_STEP_IDLE = 200;
const PICO_STEP_BUSY = 201;
const PICO_RESET_FULL = 0;
const VOICE_NAME = "SipClientVoice";

/** An error status returned by a Pico API call (the engine itself is still usable). */
class PicoStatusError extends Error {}

class PicoRuntime {
  private readonly enc = new TextEncoder();
  private readonly systemPtr: number; // pico_System*
  private readonly enginePtr: number; // pico_Engine*
  private readonly resourcePtrs: number[]; // pico_Resource* for ta and sg
  private readonly scratch: number; // bytesPut, bytesReceived, dataType (Int16 each)
  private readonly outBuf: number;
  private readonly msgBuf: number;
  private readonly voiceName: number;
  private readonly memory: number;
  private current = ""; // langDir + code of the loaded language

  private constructor(private readonly m: SvoxPicoModule) {
    this.systemPtr = this.alloc(4);
    this.enginePtr = this.alloc(4);
    this.resourcePtrs = [this.alloc(4), this.alloc(4)];
    this.scratch = this.alloc(8);
    this.outBuf = this.alloc(OUT_BUF_BYTES);
    this.msgBuf = this.alloc(RETSTRING_BYTES);
    this.voiceName = this.cString(VOICE_NAME);
    this.memory = this.alloc(PICO_MEM_SIZE);
    m.FS.mkdir("/lang");
  }

  static async create(): Promise<PicoRuntime> {
    const { default: SvoxPico } = await import("@echogarden/svoxpico-wasm");
    return new PicoRuntime(await SvoxPico());
  }

  private alloc(bytes: number): number {
    const p = this.m._malloc(bytes);
    if (!p) throw new Error(`Pico WASM out of memory (${bytes} bytes)`);
    this.m.HEAPU8.fill(0, p, p + bytes);
    return p;
  }

  private cString(s: string): number {
    const bytes = this.enc.encode(s);
    const p = this.alloc(bytes.length + 1);
    this.m.HEAPU8.set(bytes, p);
    return p;
  }

  private readCString(p: number, max: number): string {
    const heap = this.m.HEAPU8;
    let end = p;
    while (end < p + max && heap[end] !== 0) end++;
    return Buffer.from(heap.subarray(p, end)).toString("utf8");
  }

  private get system(): number {
    return this.m.HEAPU32[this.systemPtr >> 2];
  }

  private get engine(): number {
    return this.m.HEAPU32[this.enginePtr >> 2];
  }

  private check(rc: number, what: string): void {
    if (rc === 0) return;
    let detail = "";
    if (this.system) {
      this.m._pico_getSystemStatusMessage(this.system, rc, this.msgBuf);
      detail = `: ${this.readCString(this.msgBuf, RETSTRING_BYTES)}`;
    }
    throw new PicoStatusError(`Pico failed to ${what} (status ${rc}${detail})`);
  }

  /**
   * Tears everything down, the Pico system included: after unloading en-GB and loading en-US into
   * the same system, en-US was measured to speak differently (shorter) than in a fresh system.
   */
  private unload(): void {
    const m = this.m;
    if (!this.system) return;
    if (this.engine) {
      m._pico_disposeEngine(this.system, this.enginePtr);
      m._pico_releaseVoiceDefinition(this.system, this.voiceName);
      m.HEAPU32[this.enginePtr >> 2] = 0;
    }
    for (const rp of [...this.resourcePtrs].reverse()) {
      if (m.HEAPU32[rp >> 2]) m._pico_unloadResource(this.system, rp);
      m.HEAPU32[rp >> 2] = 0;
    }
    m._pico_terminate(this.systemPtr);
    m.HEAPU32[this.systemPtr >> 2] = 0;
    this.current = "";
  }

  use(langDir: string, lang: PicoLanguage): void {
    const key = `${langDir}\n${lang.code}`;
    if (this.current === key && this.engine) return;
    this.unload();
    const m = this.m;
    const names: number[] = [];
    try {
      // Pico reads some memory before writing it: a zeroed area keeps output reproducible.
      m.HEAPU8.fill(0, this.memory, this.memory + PICO_MEM_SIZE);
      this.check(m._pico_initialize(this.memory, PICO_MEM_SIZE, this.systemPtr), "initialize");
      [lang.taFile, lang.sgFile].forEach((file, i) => {
        const src = path.join(langDir, file);
        let data: Buffer;
        try {
          data = fs.readFileSync(src);
        } catch (e) {
          throw new PicoStatusError(`Pico language file missing for ${lang.code}: ${src} (${(e as Error).message})`);
        }
        // Pico reads resources from a file system path; the in-memory FS copy is dropped once loaded.
        const vfsPath = `/lang/${file}`;
        m.FS.writeFile(vfsPath, data);
        const pathPtr = this.cString(vfsPath);
        try {
          this.check(m._pico_loadResource(this.system, pathPtr, this.resourcePtrs[i]), `load ${file}`);
        } finally {
          m._free(pathPtr);
          m.FS.unlink(vfsPath);
        }
        const name = this.alloc(RESOURCE_NAME_BYTES);
        names.push(name);
        this.check(m._pico_getResourceName(this.system, m.HEAPU32[this.resourcePtrs[i] >> 2], name), `name ${file}`);
      });
      this.check(m._pico_createVoiceDefinition(this.system, this.voiceName), "create the voice");
      for (const name of names) {
        this.check(m._pico_addResourceToVoiceDefinition(this.system, this.voiceName, name), "add a resource to the voice");
      }
      const rc = m._pico_newEngine(this.system, this.voiceName, this.enginePtr);
      if (rc !== 0) {
        m.HEAPU32[this.enginePtr >> 2] = 0;
        m._pico_releaseVoiceDefinition(this.system, this.voiceName);
        this.check(rc, "create the engine");
      }
      this.current = key;
    } catch (e) {
      this.unload();
      throw e;
    } finally {
      for (const n of names) m._free(n);
    }
  }

  synthesize(input: string): Int16Array {
    const m = this.m;
    const bytes = this.enc.encode(input);
    // The trailing NUL tells Pico the text is complete and makes it flush the last sentence.
    const textPtr = this.alloc(bytes.length + 1);
    m.HEAPU8.set(bytes, textPtr);
    const bytesPut = this.scratch;
    const bytesRecv = this.scratch + 2;
    const dataType = this.scratch + 4;
    let out = new Int16Array(16000 * 4);
    let used = 0;
    try {
      let remaining = bytes.length + 1;
      let pos = textPtr;
      while (remaining > 0) {
        this.check(m._pico_putTextUtf8(this.engine, pos, Math.min(remaining, MAX_PUT_BYTES), bytesPut), "accept text");
        const put = m.HEAP16[bytesPut >> 1];
        remaining -= put;
        pos += put;
        let status: number;
        do {
          status = m._pico_getData(this.engine, this.outBuf, OUT_BUF_BYTES, bytesRecv, dataType);
          if (status !== PICO_STEP_BUSY && status !== PICO_STEP_IDLE) this.check(status, "synthesize");
          const n = m.HEAP16[bytesRecv >> 1] >> 1;
          if (n > 0) {
            if (used + n > out.length) {
              const bigger = new Int16Array(out.length * 2);
              bigger.set(out.subarray(0, used));
              out = bigger;
            }
            out.set(m.HEAP16.subarray(this.outBuf >> 1, (this.outBuf >> 1) + n), used);
            used += n;
          }
        } while (status === PICO_STEP_BUSY);
      }
      return out.slice(0, used);
    } catch (e) {
      // Leave the engine clean for the next request.
      if (this.engine && m._pico_resetEngine(this.engine, PICO_RESET_FULL) !== 0) this.unload();
      throw e;
    } finally {
      m._free(textPtr);
    }
  }
}

const port = parentPort;
if (!port) throw new Error("pico-worker.js must be started as a worker thread");

let runtime: Promise<PicoRuntime> | undefined;
let chain: Promise<void> = Promise.resolve();
let broken: string | undefined; // set after a fatal error: refuse work until the main thread replaces us

function findLanguage(code: string): PicoLanguage {
  const lang = PICO_LANGUAGES.find((l) => l.code === code);
  if (!lang) throw new PicoStatusError(`Unknown Pico language ${code}`);
  return lang;
}

async function handle(msg: ToPicoWorker): Promise<void> {
  const t0 = performance.now();
  try {
    if (broken) throw new Error(broken);
    runtime ??= PicoRuntime.create();
    const rt = await runtime;
    rt.use(msg.langDir, findLanguage(msg.lang));
    if (msg.type === "load") {
      rt.synthesize("OK.");
      reply({ type: "done", id: msg.id, ms: performance.now() - t0 });
    } else {
      const pcm = rt.synthesize(msg.input);
      reply({ type: "done", id: msg.id, pcm: pcm.buffer as ArrayBuffer, ms: performance.now() - t0 }, [pcm.buffer as ArrayBuffer]);
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    // Anything but a Pico status (a WASM trap, out of memory …) may have left the heap corrupt.
    const fatal = !(err instanceof PicoStatusError);
    if (fatal) broken ??= err.message;
    reply({ type: "error", id: msg.id, message: err.message, fatal });
  }
}

function reply(msg: FromPicoWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

port.on("message", (msg: ToPicoWorker) => {
  // Requests run strictly one after the other, in arrival order.
  chain = chain.then(() => handle(msg));
});
