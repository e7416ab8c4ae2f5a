// Speech-to-text: the engine registry and the engines that ship (only "command" for now).
import { CommandSpeechToText } from "./command-stt";
import { registerSpeechToTextEngine } from "./engine";

registerSpeechToTextEngine("command", (options) => new CommandSpeechToText(options));

export {
  registerSpeechToTextEngine,
  registeredSpeechToTextEngines,
  createSpeechToTextEngine,
  transcribeSafely,
  type SpeechToTextEngine,
  type SpeechToTextEngineFactory,
  type TranscribeOptions,
  type TranscriptOutcome,
} from "./engine";
export {
  CommandSpeechToText,
  buildSttArgs,
  cleanTranscript,
  DEFAULT_STT_TIMEOUT_MS,
  STT_MAX_OUTPUT_BYTES,
  STT_STDERR_TAIL_BYTES,
  MAX_TRANSCRIPT_CHARS,
  type CommandSpeechToTextOptions,
} from "./command-stt";
