// Public surface of the text-to-speech and audio-loading layer.
export {
  SpeechService,
  SPEECH_PROCESSING_VERSION,
  synthesizePcm8k,
  defaultSpeechService,
  closeDefaultSpeechService,
  type SpeechServiceOptions,
  type SpeechRequest,
  type SpeechLanguage,
} from "./speech-service";
export {
  registerEngine,
  type SpeechEngine,
  type SpeechEngineFactory,
  type EngineSynthesisRequest,
  type EngineAudio,
  type EngineLanguage,
} from "./engine";
export { DEFAULT_ENGINE } from "./builtin-engines";
export { PICO_LANGUAGES, resolvePicoLanguage, type PicoLanguage } from "./pico/languages";
export { PicoEngine, PICO_SAMPLE_RATE, type PicoEngineOptions } from "./pico/pico-engine";
export { CommandEngine, runTtsCommand, splitCommandTemplate, buildCommandArgs, type CommandEngineOptions } from "./command-engine";
export { SpeechCache, speechCacheKey, type SpeechCacheOptions } from "./cache";
export { parseWav, encodeWav, WavFormatError, type WavAudio, type WavEncoding } from "./wav";
export { resampleFloat32, resampleInt16, initResampler, RESAMPLER_QUALITY } from "./resample";
export { applyTelephoneEq, TELEPHONE_EQ_DEFAULTS, type TelephoneEqOptions } from "./telephone-eq";
export { SAMPLE_RATE as TELEPHONE_RATE } from "../media/audio-format";
