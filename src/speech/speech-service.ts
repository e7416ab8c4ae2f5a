// Entry point for the call layer: text or WAV in, 8 kHz mono Int16 PCM out, cached.
import { promises as fsp } from "fs";
import { DEFAULT_ENGINE } from "./builtin-engines";
import { SpeechCache, speechCacheKey } from "./cache";
import { SynthesisJob } from "./synthesis-job";
import { splitForSpeech } from "./text-chunks";
import { registeredEngines, type EngineAudio, type SpeechEngine, type SpeechEngineFactory } from "./engine";
import { SAMPLE_RATE } from "../media/audio-format";
import { concatPcm, floatToInt16 } from "./pcm";
import { initResampler, resampleFloat32, resampleInt16 } from "./resample";
import { applyTelephoneEq, type TelephoneEqOptions } from "./telephone-eq";
import { parseWav } from "./wav";

/** Bump whenever post-processing changes, so old cache entries are not reused. */
export const SPEECH_PROCESSING_VERSION = 1;

export interface SpeechServiceOptions {
  /** Directory for the persistent cache (e.g. <userDir>/sip-client-tts-cache); none = memory only. */
  cacheDir?: string;
  /** Memory budget of the cache, bytes (default 32 MiB). */
  cacheMemoryBytes?: number;
  /** Language when a request names none (default "en-US"). */
  defaultLanguage?: string;
  /** Engine when a request names none (default "pico"). */
  defaultEngine?: string;
  /** Telephone EQ + peak normalisation on synthesized speech (default on). */
  telephoneEq?: boolean | TelephoneEqOptions;
  /** Engines added or replaced for this service only, on top of registerEngine(). */
  engines?: Record<string, SpeechEngineFactory>;
  /** Options handed to each engine's factory, by engine name. */
  engineOptions?: Record<string, Record<string, unknown>>;
  /** Longest text accepted, characters (default 10000). */
  maxTextLength?: number;
  /** Largest audio file loadAudio() reads, bytes (default 256 MiB). */
  maxAudioFileBytes?: number;
  /** Non-fatal problems (e.g. cache directory not writable). Default: process.emitWarning. */
  onWarning?: (message: string) => void;
}

export interface SpeechRequest {
  text: string;
  language?: string;
  /** "pico" | "command" | any registered engine. */
  engine?: string;
  /** Command template for the "command" engine. */
  command?: string;
  voice?: string;
}

export interface SpeechLanguage {
  engine: string;
  language: string;
  label: string;
}

export class SpeechService {
  private readonly factories: Map<string, SpeechEngineFactory>;
  private readonly instances = new Map<string, SpeechEngine>();
  private readonly inflight = new Map<string, SynthesisJob>();
  private readonly cache: SpeechCache;
  private readonly eq: TelephoneEqOptions | null;
  private readonly defaultLanguage: string;
  private readonly defaultEngine: string;
  private readonly maxTextLength: number;
  private readonly maxAudioFileBytes: number;
  private readonly warn: (message: string) => void;
  private closed = false;

  constructor(private readonly options: SpeechServiceOptions = {}) {
    this.factories = registeredEngines();
    for (const [name, factory] of Object.entries(options.engines ?? {})) this.factories.set(name, factory);
    this.cache = new SpeechCache({ dir: options.cacheDir, maxMemoryBytes: options.cacheMemoryBytes });
    const eq = options.telephoneEq ?? true;
    this.eq = eq === false ? null : eq === true ? {} : eq;
    this.defaultLanguage = options.defaultLanguage ?? "en-US";
    this.defaultEngine = options.defaultEngine ?? DEFAULT_ENGINE;
    this.maxTextLength = options.maxTextLength ?? 10_000;
    this.maxAudioFileBytes = options.maxAudioFileBytes ?? 256 * 1024 * 1024;
    this.warn = options.onWarning ?? ((m) => process.emitWarning(m, "SpeechServiceWarning"));
  }

  /** Speaks `text`; resolves to 8 kHz mono PCM (a fresh array the caller owns). */
  async synthesize(req: SpeechRequest): Promise<Int16Array> {
    // Concurrent identical requests share one synthesis but never one array.
    return (await this.job(req).whole()).slice();
  }

  /**
   * Speaks `text` piece by piece (src/speech/text-chunks.ts): the first piece, a few words, is
   * ready long before the whole text would be, and each next one is made while the previous
   * plays. The pieces joined are exactly what synthesize() returns; a cached text comes as one
   * piece. Validation errors throw here, at once; synthesis errors when the pieces are read.
   */
  stream(req: SpeechRequest): AsyncGenerator<Int16Array> {
    return this.job(req).pieces();
  }

  private job(req: SpeechRequest): SynthesisJob {
    this.assertOpen();
    const text = typeof req?.text === "string" ? req.text.trim() : "";
    if (text === "") throw new Error("Text to speak is empty");
    if (text.length > this.maxTextLength) {
      throw new Error(`Text to speak is too long (${text.length} characters, limit ${this.maxTextLength})`);
    }
    const engineName = req.engine ?? this.defaultEngine;
    const engine = this.engine(engineName);
    const ereq = { text, language: req.language ?? this.defaultLanguage, voice: req.voice, command: req.command };
    const key = speechCacheKey({
      version: SPEECH_PROCESSING_VERSION,
      engine: engineName,
      engineParams: engine.describe(ereq), // also rejects unknown languages before any work
      text,
      eq: this.eq,
    });
    let job = this.inflight.get(key);
    if (job) return job;
    const made = new SynthesisJob();
    job = made;
    this.inflight.set(key, made);
    void (async () => {
      try {
        const cached = await this.cache.get(key);
        if (cached) {
          made.push(cached);
        } else {
          const parts: Int16Array[] = [];
          for (const piece of splitForSpeech(text)) {
            let pcm = await this.to8k(await engine.synthesize({ ...ereq, text: piece }));
            if (this.eq) pcm = applyTelephoneEq(pcm, { ...this.eq, sampleRate: SAMPLE_RATE });
            parts.push(pcm);
            if (pcm.length > 0) made.push(pcm);
          }
          const whole = concatPcm(parts);
          if (whole.length === 0) throw new Error(`Speech engine "${engineName}" produced no audio`);
          // Written before the end is announced, so whoever got the audio finds it cached; a
          // streaming reader is still playing the last piece meanwhile.
          const err = await this.cache.set(key, whole);
          if (err) this.warn(`Text-to-speech cache not written: ${err.message}`);
        }
        made.finish();
      } catch (e) {
        made.fail(e as Error);
      } finally {
        if (this.inflight.get(key) === made) this.inflight.delete(key);
      }
    })();
    return job;
  }

  /** Reads a WAV (Buffer or file path) of any common format and rate; resolves to 8 kHz mono PCM. */
  async loadAudio(src: Buffer | Uint8Array | string): Promise<Int16Array> {
    this.assertOpen();
    let bytes: Buffer | Uint8Array;
    let what = "audio data";
    if (typeof src === "string") {
      what = `audio file ${src}`;
      try {
        const st = await fsp.stat(src);
        if (!st.isFile()) throw new Error("not a regular file");
        if (st.size > this.maxAudioFileBytes) throw new Error(`larger than ${this.maxAudioFileBytes} bytes`);
        bytes = await fsp.readFile(src);
      } catch (e) {
        throw new Error(`Cannot read ${what}: ${(e as Error).message}`);
      }
    } else if (src instanceof Uint8Array) {
      bytes = src;
    } else {
      throw new TypeError("loadAudio expects a WAV Buffer or a file path");
    }
    let wav;
    try {
      wav = parseWav(bytes);
    } catch (e) {
      throw new Error(`Cannot use ${what}: ${(e as Error).message}`);
    }
    if (wav.samples.length === 0) throw new Error(`Cannot use ${what}: the WAV holds no samples`);
    return floatToInt16(await resampleFloat32(wav.samples, wav.sampleRate, SAMPLE_RATE));
  }

  /** Prepares the default engine for these languages (the default language if none given). */
  async warmUp(languages: string[] = []): Promise<void> {
    this.assertOpen();
    await initResampler();
    await resampleInt16(new Int16Array(1600), 16000); // first use compiles the resampler's WASM paths
    const engine = this.engine(this.defaultEngine);
    for (const language of languages.length ? languages : [this.defaultLanguage]) {
      engine.describe({ text: "", language }); // same validation as synthesize()
      await engine.warmUp?.(language);
    }
  }

  /** Languages of every engine that lists them (engines that pass anything through list none). */
  languages(): SpeechLanguage[] {
    const out: SpeechLanguage[] = [];
    for (const name of this.factories.keys()) {
      for (const l of this.engine(name).languages()) out.push({ engine: name, language: l.language, label: l.label });
    }
    return out;
  }

  /** Closes all engines (terminating the Pico worker if no one else uses it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const engines = [...this.instances.values()];
    this.instances.clear();
    this.cache.clearMemory();
    await Promise.all(engines.map((e) => e.close()));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("SpeechService is closed");
  }

  private engine(name: string): SpeechEngine {
    let engine = this.instances.get(name);
    if (!engine) {
      const factory = this.factories.get(name);
      if (!factory) throw new Error(`Unknown speech engine "${name}"; available: ${[...this.factories.keys()].join(", ")}`);
      engine = factory(this.options.engineOptions?.[name] ?? {});
      this.instances.set(name, engine);
    }
    return engine;
  }

  private async to8k(audio: EngineAudio): Promise<Int16Array> {
    if (audio.samples instanceof Int16Array) return resampleInt16(audio.samples, audio.sampleRate, SAMPLE_RATE);
    return floatToInt16(await resampleFloat32(audio.samples, audio.sampleRate, SAMPLE_RATE));
  }
}

let defaultService: SpeechService | undefined;

/** The process-wide service behind synthesizePcm8k (memory cache only). */
export function defaultSpeechService(): SpeechService {
  defaultService ??= new SpeechService();
  return defaultService;
}

/** Convenience for other modules' tests: Pico speech as 8 kHz mono PCM. */
export function synthesizePcm8k(text: string, language = "en-US"): Promise<Int16Array> {
  return defaultSpeechService().synthesize({ text, language });
}

export async function closeDefaultSpeechService(): Promise<void> {
  const s = defaultService;
  defaultService = undefined;
  await s?.close();
}
