// The plug-in contract between SpeechService and text-to-speech engines, and the engine registry.

export interface EngineSynthesisRequest {
  text: string;
  /** The requested language (already defaulted by the service, not yet normalised). */
  language: string;
  voice?: string;
  /** Engine-specific command template (used by the "command" engine). */
  command?: string;
}

export interface EngineAudio {
  /** Mono audio: Int16 PCM, or floats with full scale = 1. */
  samples: Int16Array | Float32Array;
  sampleRate: number;
}

export interface EngineLanguage {
  language: string;
  label: string;
}

export interface SpeechEngine {
  /**
   * Everything besides the text that changes the audio (canonical language, voice, template …).
   * Used in cache keys; must throw for requests the engine cannot serve (e.g. unknown language).
   */
  describe(req: EngineSynthesisRequest): Record<string, unknown>;
  synthesize(req: EngineSynthesisRequest): Promise<EngineAudio>;
  /** Languages the engine knows; empty if it accepts whatever its backend accepts. */
  languages(): EngineLanguage[];
  /** Optional preparation so that the first request for `language` is fast. */
  warmUp?(language: string): Promise<void>;
  close(): Promise<void>;
}

/** Creates an engine; `options` are the service's `engineOptions[name]`. */
export type SpeechEngineFactory = (options: Record<string, unknown>) => SpeechEngine;

const registry = new Map<string, SpeechEngineFactory>();

/** Makes an engine available to every SpeechService created afterwards (replaces a same-named one). */
export function registerEngine(name: string, factory: SpeechEngineFactory): void {
  if (!/^[a-z][a-z0-9_-]*$/i.test(name)) throw new Error(`Invalid speech engine name "${name}"`);
  registry.set(name, factory);
}

export function registeredEngines(): Map<string, SpeechEngineFactory> {
  return new Map(registry);
}
