// Text-to-speech through an external program, e.g. `pico2wave -l {lang} -w {file} {text}` or
// `espeak-ng -v {lang} -w {file} {text}`. The template is split into argv once and placeholders
// are substituted per argument, and the program is started without a shell, so text can never
// become shell syntax or extra arguments.
import { execFile, type ExecFileException } from "child_process";
import { promises as fsp } from "fs";
import os from "os";
import path from "path";
import type { EngineAudio, EngineSynthesisRequest, SpeechEngine } from "./engine";
import { parseWav } from "./wav";

export interface CommandEngineOptions {
  /** Template used when a request brings none. */
  command?: string;
  /** Kill the program after this long (default 30 s). */
  timeoutMs?: number;
  /** Largest WAV accepted on stdout (default 64 MiB). */
  maxOutputBytes?: number;
  /** Where temporary files go (default os.tmpdir()). */
  tmpDir?: string;
}

export interface CommandValues {
  text: string;
  lang: string;
  file: string;
  voice: string;
}

/** Splits a template like a POSIX shell would split words: blanks separate, quotes group, \ escapes. */
export function splitCommandTemplate(template: string): string[] {
  const args: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur += ch;
    } else if (ch === "\\" && i + 1 < template.length && (quote === null || /["\\$`]/.test(template[i + 1]))) {
      cur += template[++i];
      inWord = true;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) args.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`TTS command template has an unterminated ${quote} quote: ${template}`);
  if (inWord) args.push(cur);
  if (args.length === 0) throw new Error("TTS command template is empty");
  if (/\{(text|lang|file|voice)\}/.test(args[0])) throw new Error("TTS command template: the program name cannot be a placeholder");
  return args;
}

/** Substitutes {text} {lang} {file} {voice} inside each argument (one pass: inserted text is not re-scanned). */
export function buildCommandArgs(template: string, values: CommandValues): string[] {
  return splitCommandTemplate(template).map((arg, i) => {
    if (i === 0) return arg;
    return arg.replace(/\{(text|lang|file|voice)\}/g, (_m, key: keyof CommandValues, offset: number) => {
      const v = values[key];
      // Text at the start of an argument must not be taken for an option ("-w /etc/…").
      return key === "text" && offset === 0 && v.startsWith("-") ? ` ${v}` : v;
    });
  });
}

function checkToken(kind: string, value: string): void {
  // Language and voice names never need more than this; anything else smells of option injection.
  if (value !== "" && !/^[A-Za-z0-9][A-Za-z0-9_.+:-]*$/.test(value)) throw new Error(`Invalid ${kind} for TTS command: "${value}"`);
}

function describeFailure(program: string, err: ExecFileException, stderr: string, timeoutMs: number): Error {
  const tail = stderr.trim().slice(-800);
  let reason: string;
  if (err.code === "ENOENT") reason = "program not found";
  else if (err.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") reason = "too much output";
  else if (err.killed || err.signal) reason = err.killed && err.signal === "SIGTERM" ? `timed out after ${timeoutMs} ms` : `killed by ${err.signal}`;
  else if (typeof err.code === "number") reason = `exit code ${err.code}`;
  else reason = err.message;
  return new Error(`TTS command "${program}" failed (${reason})${tail ? `: ${tail}` : ""}`);
}

/** Runs the template once and returns the WAV bytes it produced (file or, without {file}, stdout). */
export async function runTtsCommand(template: string, values: Omit<CommandValues, "file">, options: CommandEngineOptions = {}): Promise<Buffer> {
  checkToken("language", values.lang);
  checkToken("voice", values.voice);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const split = splitCommandTemplate(template);
  const usesFile = split.some((a) => a.includes("{file}"));
  const usesText = split.some((a) => a.includes("{text}"));
  const dir = await fsp.mkdtemp(path.join(options.tmpDir ?? os.tmpdir(), "sip-tts-"));
  const file = path.join(dir, "speech.wav");
  try {
    const [program, ...args] = buildCommandArgs(template, { ...values, file });
    const stdout = await new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        program,
        args,
        { encoding: "buffer", timeout: timeoutMs, maxBuffer: options.maxOutputBytes ?? 64 * 1024 * 1024, windowsHide: true },
        (err, out, errOut) => {
          if (err) reject(describeFailure(program, err, errOut.toString("utf8"), timeoutMs));
          else resolve(out);
        },
      );
      // Templates without {text} get the text on stdin (e.g. `espeak-ng --stdout -v {lang}`).
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(usesText ? undefined : values.text);
    });
    if (!usesFile) {
      if (stdout.length === 0) throw new Error(`TTS command "${program}" wrote nothing to stdout (and the template has no {file})`);
      return stdout;
    }
    try {
      return await fsp.readFile(file);
    } catch {
      throw new Error(`TTS command "${program}" exited successfully but did not write the {file} WAV`);
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** A SpeechEngine around runTtsCommand; the template comes from the request or the options. */
export class CommandEngine implements SpeechEngine {
  constructor(private readonly options: CommandEngineOptions = {}) {}

  private template(req: EngineSynthesisRequest): string {
    const t = req.command ?? this.options.command;
    if (!t || t.trim() === "") throw new Error('The "command" TTS engine needs a command template, e.g. "pico2wave -l {lang} -w {file} {text}"');
    return t;
  }

  describe(req: EngineSynthesisRequest): Record<string, unknown> {
    return { command: this.template(req), language: req.language, voice: req.voice ?? "" };
  }

  async synthesize(req: EngineSynthesisRequest): Promise<EngineAudio> {
    const wavBytes = await runTtsCommand(this.template(req), { text: req.text, lang: req.language, voice: req.voice ?? "" }, this.options);
    let wav;
    try {
      wav = parseWav(wavBytes);
    } catch (e) {
      throw new Error(`TTS command output is not usable audio: ${(e as Error).message}`);
    }
    return { samples: wav.samples, sampleRate: wav.sampleRate };
  }

  languages(): [] {
    return [];
  }

  async close(): Promise<void> {
    // Nothing persistent: every request is its own process.
  }
}
