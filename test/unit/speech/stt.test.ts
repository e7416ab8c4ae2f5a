// Speech-to-text: the engine registry and the external-command engine (no shell, bounded, temp file removed).
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import {
  buildSttArgs,
  cleanTranscript,
  CommandSpeechToText,
  createSpeechToTextEngine,
  registerSpeechToTextEngine,
  registeredSpeechToTextEngines,
  STT_MAX_OUTPUT_BYTES,
  transcribeSafely,
} from "../../../src/speech/stt";
import { encodeWav, parseWav } from "../../../src/speech/wav";

const node = JSON.stringify(process.execPath);
const wav8k = () =>
  encodeWav(
    new Int16Array(800).map((_v, i) => Math.round(8000 * Math.sin(i / 3))),
    8000,
  );

describe("speech-to-text", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stt-test-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A stand-in transcriber: records argv and the WAV it was given, prints `text`. */
  const fakeTool = (body: string) => {
    const script = path.join(dir, "fake-stt.js");
    fs.writeFileSync(script, `const fs = require("fs"); const argv = process.argv.slice(2);\n${body}`);
    return `${node} ${JSON.stringify(script)}`;
  };

  describe("registry", () => {
    it("no engine (empty, none) is no engine, not an error; an unknown name is", () => {
      assert.strictEqual(createSpeechToTextEngine(undefined), undefined);
      assert.strictEqual(createSpeechToTextEngine(""), undefined);
      assert.strictEqual(createSpeechToTextEngine("none"), undefined);
      assert.throws(() => createSpeechToTextEngine("whisperish"), /Unknown speech-to-text engine "whisperish"/);
      assert.ok(registeredSpeechToTextEngines().includes("command"));
    });

    it("engines are registered by name and created with their options", async () => {
      registerSpeechToTextEngine("echo-test", (o) => ({ name: "echo-test", transcribe: () => Promise.resolve(String(o.text)) }));
      const e = createSpeechToTextEngine("echo-test", { text: "hello" });
      assert.strictEqual(await e?.transcribe(Buffer.alloc(0), {}), "hello");
      assert.throws(() => registerSpeechToTextEngine("bad name!", () => e!), /Invalid/);
    });

    it("transcribeSafely: no engine → nothing; a failure → an error text, never a rejection", async () => {
      assert.deepStrictEqual(await transcribeSafely(undefined, Buffer.alloc(0), {}), {});
      const failing = { name: "x", transcribe: () => Promise.reject(new Error("boom")) };
      assert.deepStrictEqual(await transcribeSafely(failing, Buffer.alloc(0), {}), { error: "speech-to-text (x) failed: boom" });
    });
  });

  describe("command engine", () => {
    it("checks the template: {file} needed, program not a placeholder, quotes closed", () => {
      assert.throws(() => new CommandSpeechToText({ command: "" }), /needs a command line/);
      assert.throws(() => new CommandSpeechToText({ command: "tool -i x.wav" }), /needs \{file\}/);
      assert.throws(() => new CommandSpeechToText({ command: "{file} -x" }), /program name cannot be a placeholder/);
      assert.throws(() => new CommandSpeechToText({ command: "tool 'x {file}" }), /^Error: Speech-to-text command has an unterminated/);
      assert.deepStrictEqual(buildSttArgs("t -i {file} --lang={lang}", { file: "/tmp/a b.wav", lang: "en-US" }), [
        "t",
        "-i",
        "/tmp/a b.wav",
        "--lang=en-US",
      ]);
      assert.throws(() => buildSttArgs("t {file} {lang}", { file: "f", lang: "en; rm -rf /" }), /Invalid language/);
    });

    it("runs without a shell, hands over the WAV as {file}, returns stdout as one line, removes the temp file", async () => {
      const cmd =
        fakeTool(`fs.writeFileSync(${JSON.stringify(path.join(dir, "seen.json"))}, JSON.stringify({ argv, size: fs.statSync(argv[0]).size }));
        process.stdout.write("  hello\\n\\u0007world  \\n");`);
      const e = new CommandSpeechToText({ command: `${cmd} {file} $(touch ${path.join(dir, "pwned")}) {lang}`, tmpDir: dir });
      const wav = wav8k();
      assert.strictEqual(await e.transcribe(wav, { language: "en-US" }), "hello world");
      const seen = JSON.parse(fs.readFileSync(path.join(dir, "seen.json"), "utf8"));
      assert.strictEqual(seen.size, wav.length, "the recording as it is (no resampling asked)");
      assert.deepStrictEqual(seen.argv.slice(1), ["$(touch", `${path.join(dir, "pwned")})`, "en-US"]);
      assert.ok(!fs.existsSync(path.join(dir, "pwned")), "no shell ran");
      assert.ok(!fs.existsSync(seen.argv[0]), "temp WAV removed");
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["fake-stt.js", "seen.json"]);
    });

    it("resamples to the rate the tool wants", async () => {
      const copy = path.join(dir, "copy.wav");
      const cmd = fakeTool(`fs.copyFileSync(argv[0], ${JSON.stringify(copy)});`);
      const e = new CommandSpeechToText({ command: `${cmd} {file}`, sampleRate: 16000, tmpDir: dir });
      assert.strictEqual(await e.transcribe(wav8k(), {}), "");
      const w = parseWav(fs.readFileSync(copy));
      assert.strictEqual(w.sampleRate, 16000);
      assert.strictEqual(w.samples.length, 1600);
    });

    it("fails clearly: exit code with stderr, missing program, too much output, timeout, abort", async () => {
      const failing = new CommandSpeechToText({ command: `${fakeTool(`console.error("model not found"); process.exit(3);`)} {file}`, tmpDir: dir });
      await assert.rejects(failing.transcribe(wav8k(), {}), /exited with code 3: model not found/);
      const missing = new CommandSpeechToText({ command: "no-such-stt-4711 {file}", tmpDir: dir });
      await assert.rejects(missing.transcribe(wav8k(), {}), /"no-such-stt-4711" not found/);
      const chatty = new CommandSpeechToText({
        command: `${fakeTool(`process.stdout.write("x".repeat(${STT_MAX_OUTPUT_BYTES + 10})); setTimeout(() => {}, 5000);`)} {file}`,
        tmpDir: dir,
      });
      await assert.rejects(chatty.transcribe(wav8k(), {}), /more than \d+ bytes of output/);
      const slow = new CommandSpeechToText({ command: `${fakeTool(`setTimeout(() => {}, 10000);`)} {file}`, timeoutMs: 200, tmpDir: dir });
      await assert.rejects(slow.transcribe(wav8k(), {}), /timed out after 200 ms/);
      const ac = new AbortController();
      const p = slow.transcribe(wav8k(), { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(p, /aborted/);
      assert.deepStrictEqual(fs.readdirSync(dir), ["fake-stt.js"], "every temp dir removed");
    });

    it("cleans and bounds the transcript", () => {
      assert.strictEqual(cleanTranscript("a\r\n\tb\u0000c "), "a b c");
      assert.strictEqual(cleanTranscript("x".repeat(30_000)).length, 20_000);
    });
  });
});
