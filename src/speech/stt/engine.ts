// Speech-to-text engines, registered by name like the text-to-speech engines (../engine.ts): the
// voicemail code asks for an engine by the name the user configured and never names one itself.

export interface TranscribeOptions {
  /** The language of the speech, e.g. "en-US" (what {lang} becomes for the command engine). */
  language?: string;
  /** Aborts the transcription (the node closes, the call's account stops). */
  signal?: AbortSignal;
}

export interface SpeechToTextEngine {
  readonly name: string;
  /** The text heard in a WAV (8 kHz 16-bit mono from a recording); "" when nothing was recognised. */
  transcribe(wav: Buffer, options: TranscribeOptions): Promise<string>;
}

/** Creates an engine from the user's settings for it (e.g. the command line). */
export type SpeechToTextEngineFactory = (options: Record<string, unknown>) => SpeechToTextEngine;

const registry = new Map<string, SpeechToTextEngineFactory>();

/** Makes an engine available by name (replaces a same-named one). */
export function registerSpeechToTextEngine(name: string, factory: SpeechToTextEngineFactory): void {
  if (!/^[a-z][a-z0-9_-]*$/i.test(name)) throw new Error(`Invalid speech-to-text engine name "${name}"`);
  registry.set(name, factory);
}

export function registeredSpeechToTextEngines(): string[] {
  return [...registry.keys()];
}

/** Names that mean "no transcription". */
const NO_ENGINE = new Set(["", "none", "off"]);

/**
 * The engine called `name`, or undefined when none is configured ("" / "none"): no engine means no
 * transcript, not an error. An unknown name throws (a configuration error the user must see).
 */
export function createSpeechToTextEngine(name: string | undefined, options: Record<string, unknown> = {}): SpeechToTextEngine | undefined {
  const n = (name ?? "").trim();
  if (NO_ENGINE.has(n.toLowerCase())) return undefined;
  const factory = registry.get(n);
  if (!factory) throw new Error(`Unknown speech-to-text engine "${n}" (known: ${[...registry.keys()].join(", ") || "none"})`);
  return factory(options);
}

/** What a voicemail message carries: a transcript, or why there is none. Never rejects. */
export interface TranscriptOutcome {
  transcript?: string;
  error?: string;
}

export async function transcribeSafely(engine: SpeechToTextEngine | undefined, wav: Buffer, options: TranscribeOptions): Promise<TranscriptOutcome> {
  if (!engine) return {};
  try {
    return { transcript: await engine.transcribe(wav, options) };
  } catch (err) {
    return { error: `speech-to-text (${engine.name}) failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}
