// The six SVOX Pico languages shipped in pico-lang/, and how user input maps onto them.
import path from "path";

export interface PicoLanguage {
  /** Canonical BCP-47 tag, e.g. "en-US". */
  code: string;
  label: string;
  /** Text-analysis resource file in pico-lang/. */
  taFile: string;
  /** Signal-generation (voice) resource file in pico-lang/. */
  sgFile: string;
  /** Pico's name for the only voice of this language. */
  voice: string;
}

function lang(code: string, voice: string, label: string): PicoLanguage {
  return Object.freeze({ code, label, voice, taFile: `${code}_ta.bin`, sgFile: `${code}_${voice}_sg.bin` });
}

export const PICO_LANGUAGES: readonly PicoLanguage[] = Object.freeze([
  lang("en-US", "lh0", "English (US)"),
  lang("en-GB", "kh0", "English (UK)"),
  lang("de-DE", "gl0", "Deutsch"),
  lang("es-ES", "zl0", "Español"),
  lang("fr-FR", "nk0", "Français"),
  lang("it-IT", "cm0", "Italiano"),
]);

// Extra spellings users type; keys are lower case with "-" separators.
const ALIASES: Record<string, string> = {
  en: "en-US",
  "en-uk": "en-GB",
  de: "de-DE",
  es: "es-ES",
  fr: "fr-FR",
  it: "it-IT",
  english: "en-US",
  german: "de-DE",
  deutsch: "de-DE",
  spanish: "es-ES",
  french: "fr-FR",
  italian: "it-IT",
};

/** Directory with the Pico data, found relative to this file (dist/src/speech/pico → package root). */
export const PICO_LANG_DIR = path.resolve(__dirname, "..", "..", "..", "..", "pico-lang");

export function picoLanguageList(): string {
  return PICO_LANGUAGES.map((l) => l.code).join(", ");
}

/** Maps "en", "fr-fr", "de_DE", "en-GB" … to a Pico language; throws for anything else. */
export function resolvePicoLanguage(input: string | undefined | null): PicoLanguage {
  if (typeof input !== "string" || input.trim() === "") {
    throw new Error(`No language given for Pico text-to-speech; available: ${picoLanguageList()}`);
  }
  const key = input.trim().toLowerCase().replace(/_/g, "-");
  const code = ALIASES[key] ?? key;
  const found = PICO_LANGUAGES.find((l) => l.code.toLowerCase() === code.toLowerCase());
  if (!found) throw new Error(`Unknown Pico language "${input}"; available: ${picoLanguageList()}`);
  return found;
}
