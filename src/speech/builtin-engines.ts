// Registers the engines that ship with the package. The service only knows them by name.
import { CommandEngine } from "./command-engine";
import { registerEngine } from "./engine";
import { PicoSpeechEngine } from "./pico/pico-speech-engine";

/** Engine used when neither the request nor the service options name one. */
export const DEFAULT_ENGINE = "pico";

registerEngine("pico", (options) => new PicoSpeechEngine(options));
registerEngine("command", (options) => new CommandEngine(options));
