// Speech-to-text through an external program, e.g. `pocketsphinx_continuous -infile {file} -logfn /dev/null`,
// `whisper-cli -m model.bin -nt -f {file}` or `vosk-transcriber -i {file}`. The recording is written to
// a temporary WAV ({file}), the program is started WITHOUT a shell from the template split once into
// argv (the same splitter as the TTS command engine), and its stdout is the transcript. Only the
// user's template and our own temp path and checked language reach argv: nothing from a message.
import { spawn } from "child_process";
import { promises as fsp } from "fs";
import os from "os";
import path from "path";
import { splitCommandTemplate } from "../command-engine";
import { floatToInt16 } from "../pcm";
import { resampleFloat32 } from "../resample";
import { encodeWav, parseWav } from "../wav";
import type { SpeechToTextEngine, TranscribeOptions } from "./engine";

/** A transcription program is killed after this long unless the options say otherwise (ms). */
export const DEFAULT_STT_TIMEOUT_MS = 60_000;
/** Largest transcript read from the program's stdout (bytes); more fails the transcription. */
export const STT_MAX_OUTPUT_BYTES = 256 * 1024;
/** The tail of stderr kept for the error text (bytes). */
export const STT_STDERR_TAIL_BYTES = 2048;
/** Longest transcript handed on, characters (after whitespace is collapsed). */
export const MAX_TRANSCRIPT_CHARS = 20_000;

export interface CommandSpeechToTextOptions {
  /** The command line, with {file} (the WAV) and optionally {lang}. */
  command?: string;
  /** Resample the 8 kHz recording to this rate first (e.g. 16000 for pocketsphinx or whisper); 0/undefined = as recorded. */
  sampleRate?: number;
  timeoutMs?: number;
  /** Where the temporary WAV goes (default os.tmpdir()). */
  tmpDir?: string;
}

const PLACEHOLDER = /\{(file|lang)\}/g;

/** The argv for one run; throws on a template without {file} or a language that is not a plain tag. */
export function buildSttArgs(template: string, values: { file: string; lang: string }): string[] {
  let argv: string[];
  try {
    argv = splitCommandTemplate(template);
  } catch (e) {
    throw new Error((e as Error).message.replace(/^TTS command template/, "Speech-to-text command"));
  }
  if (/\{(file|lang)\}/.test(argv[0])) throw new Error("Speech-to-text command: the program name cannot be a placeholder");
  if (!argv.some((a) => a.includes("{file}"))) throw new Error("Speech-to-text command needs {file} where the recording's WAV path goes");
  if (values.lang !== "" && !/^[A-Za-z0-9][A-Za-z0-9_.+:-]{0,34}$/.test(values.lang))
    throw new Error(`Invalid language for speech-to-text: "${values.lang}"`);
  return argv.map((a, i) => (i === 0 ? a : a.replace(PLACEHOLDER, (_m, k: "file" | "lang") => values[k])));
}

/** The program's output as one line of text: control characters dropped, blanks collapsed, bounded. */
export function cleanTranscript(raw: string): string {
  return raw
    .replace(/\p{Cc}/gu, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, MAX_TRANSCRIPT_CHARS);
}

async function wavAtRate(wav: Buffer, rate: number | undefined): Promise<Buffer> {
  if (!rate) return wav;
  const audio = parseWav(wav);
  if (audio.sampleRate === rate && audio.channels === 1 && audio.encoding === "pcm" && audio.bitsPerSample === 16) return wav;
  return encodeWav(floatToInt16(await resampleFloat32(audio.samples, audio.sampleRate, rate)), rate);
}

/** Runs the program once; resolves with its stdout, rejects with a readable reason. */
function run(argv: string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const [program, ...args] = argv;
  return new Promise<string>((resolve, reject) => {
    const out: Buffer[] = [];
    let outBytes = 0;
    let errTail = "";
    let failure: string | undefined;
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
    const stop = (why: string) => {
      failure ??= why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => stop(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => stop("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    child.stdout.on("data", (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > STT_MAX_OUTPUT_BYTES) stop(`more than ${STT_MAX_OUTPUT_BYTES} bytes of output`);
      else out.push(b);
    });
    child.stderr.on("data", (b: Buffer) => {
      errTail = (errTail + b.toString("utf8")).slice(-STT_STDERR_TAIL_BYTES);
    });
    const finish = (err?: string) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      const tail = errTail.trim().slice(-400);
      if (err) reject(new Error(`"${program}" ${err}${tail ? `: ${tail}` : ""}`));
      else resolve(Buffer.concat(out).toString("utf8"));
    };
    child.on("error", (e: NodeJS.ErrnoException) => finish(e.code === "ENOENT" ? "not found" : e.message));
    child.on("close", (code, sig) => {
      if (failure) finish(failure);
      else if (code !== 0) finish(sig ? `killed by ${sig}` : `exited with code ${code}`);
      else finish();
    });
  });
}

export class CommandSpeechToText implements SpeechToTextEngine {
  readonly name = "command";
  private readonly template: string;

  constructor(private readonly options: CommandSpeechToTextOptions = {}) {
    const t = String(options.command ?? "").trim();
    if (!t)
      throw new Error('The "command" speech-to-text engine needs a command line, e.g. "pocketsphinx_continuous -infile {file} -logfn /dev/null"');
    buildSttArgs(t, { file: "x.wav", lang: "" }); // a bad template is a configuration error, seen at start
    this.template = t;
  }

  async transcribe(wav: Buffer, options: TranscribeOptions = {}): Promise<string> {
    const dir = await fsp.mkdtemp(path.join(this.options.tmpDir ?? os.tmpdir(), "sip-stt-"));
    try {
      const file = path.join(dir, "voicemail.wav");
      await fsp.writeFile(file, await wavAtRate(wav, this.options.sampleRate), { mode: 0o600 });
      const argv = buildSttArgs(this.template, { file, lang: options.language ?? "" });
      return cleanTranscript(await run(argv, this.options.timeoutMs ?? DEFAULT_STT_TIMEOUT_MS, options.signal));
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
}
