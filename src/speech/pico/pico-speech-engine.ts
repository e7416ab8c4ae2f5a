// Adapts PicoEngine (worker proxy) to the SpeechEngine plug-in contract.
import type { EngineAudio, EngineLanguage, EngineSynthesisRequest, SpeechEngine } from "../engine";
import { PICO_LANGUAGES, resolvePicoLanguage } from "./languages";
import { PICO_SAMPLE_RATE, PicoEngine, type PicoEngineOptions } from "./pico-engine";
import { PICO_DEFAULT_VOLUME } from "./pico-text";

export class PicoSpeechEngine implements SpeechEngine {
  private readonly pico: PicoEngine;
  private readonly volume: number;

  constructor(options: PicoEngineOptions = {}) {
    this.pico = new PicoEngine(options);
    this.volume = options.volume ?? PICO_DEFAULT_VOLUME;
  }

  describe(req: EngineSynthesisRequest): Record<string, unknown> {
    // Pico has exactly one voice per language, so a requested voice name changes nothing.
    const lang = resolvePicoLanguage(req.language);
    return { language: lang.code, voice: lang.voice, volume: this.volume };
  }

  async synthesize(req: EngineSynthesisRequest): Promise<EngineAudio> {
    return { samples: await this.pico.synthesize(req.text, req.language), sampleRate: PICO_SAMPLE_RATE };
  }

  languages(): EngineLanguage[] {
    return PICO_LANGUAGES.map((l) => ({ language: l.code, label: l.label }));
  }

  async warmUp(language: string): Promise<void> {
    await this.pico.load(language);
    // One short synthesis compiles the engine's hot paths, so the first call's message is not the slow one.
    await this.pico.synthesize("OK.", language);
  }

  close(): Promise<void> {
    return this.pico.close();
  }
}
