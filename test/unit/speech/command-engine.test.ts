import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { buildCommandArgs, CommandEngine, runTtsCommand, splitCommandTemplate } from "../../../src/speech/command-engine";
import { parseWav } from "../../../src/speech/wav";
import { amplitudeAt, makeTmpDir } from "./helpers";

describe("speech/command-engine", function () {
  this.timeout(10_000);
  let dir: string;
  before(() => {
    dir = makeTmpDir("tts-cmd-test-");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("template handling", () => {
    it("splits like a shell: blanks, quotes and backslashes", () => {
      assert.deepStrictEqual(splitCommandTemplate("pico2wave -l {lang} -w {file} {text}"), ["pico2wave", "-l", "{lang}", "-w", "{file}", "{text}"]);
      assert.deepStrictEqual(splitCommandTemplate(`say  "a b"  'c "d"' e\\ f "g\\"h" ''`), ["say", "a b", 'c "d"', "e f", 'g"h', ""]);
      assert.throws(() => splitCommandTemplate('say "open'), /unterminated/);
      assert.throws(() => splitCommandTemplate("   "), /empty/);
      assert.throws(() => splitCommandTemplate("{text} -w {file}"), /program name/);
    });

    it("substitutes inside each argument, keeping hostile text a single argument", () => {
      const text = `it's "quoted"; rm -rf / $(reboot) \`id\` | cat > x {file}`;
      const args = buildCommandArgs("espeak-ng -v {lang} -w {file} {text}", { text, lang: "de", file: "/tmp/a.wav", voice: "" });
      assert.deepStrictEqual(args, ["espeak-ng", "-v", "de", "-w", "/tmp/a.wav", text]);
      const embedded = buildCommandArgs("tts --out={file} --say={text}", { text: "-x", lang: "", file: "/f", voice: "" });
      assert.deepStrictEqual(embedded, ["tts", "--out=/f", "--say=-x"]);
    });

    it("keeps text that starts with a dash from being read as an option", () => {
      const args = buildCommandArgs("pico2wave -w {file} {text}", { text: "-w /etc/passwd", lang: "", file: "/f", voice: "" });
      assert.strictEqual(args[3], " -w /etc/passwd");
    });
  });

  describe("running commands", () => {
    it("runs a sox template and returns the WAV it wrote, leaving no temp files", async () => {
      const tmp = makeTmpDir("tts-cmd-tmp-");
      try {
        const wav = await runTtsCommand(
          "sox -n -r 22050 -c 2 {file} synth 0.5 sine 440",
          { text: "ignored", lang: "en", voice: "" },
          { tmpDir: tmp },
        );
        const audio = parseWav(wav);
        assert.strictEqual(audio.sampleRate, 22050);
        assert.strictEqual(audio.channels, 2);
        assert.strictEqual(audio.samples.length, 11025);
        assert.ok(amplitudeAt(audio.samples, 440, 22050) > 0.5);
        assert.deepStrictEqual(fs.readdirSync(tmp), []);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    it("reads WAV from stdout when the template has no {file}", async () => {
      const wav = await runTtsCommand("sox -n -r 8000 -t wav - synth 0.25 sine 1000", { text: "x", lang: "", voice: "" });
      assert.strictEqual(parseWav(wav).samples.length, 2000);
    });

    it("passes text, language and voice as exact single arguments, and text on stdin without {text}", async () => {
      // A stand-in "TTS program" that records its argv and stdin, then writes a WAV.
      const script = path.join(dir, "fake-tts.js");
      const record = path.join(dir, "record.json");
      fs.writeFileSync(
        script,
        `const fs = require("fs");
         const stdin = fs.readFileSync(0, "utf8");
         fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), stdin }));
         const h = Buffer.alloc(44 + 1600); h.write("RIFF", 0); h.writeUInt32LE(36 + 1600, 4); h.write("WAVEfmt ", 8);
         h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(8000, 24);
         h.writeUInt32LE(16000, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write("data", 36); h.writeUInt32LE(1600, 40);
         fs.writeFileSync(process.argv[2], h);`,
      );
      const node = JSON.stringify(process.execPath);
      const hostile = `hello "world"; touch ${path.join(dir, "pwned")} $(id) > /dev/null`;
      await runTtsCommand(`${node} ${JSON.stringify(script)} {file} --lang={lang} {voice} {text}`, { text: hostile, lang: "fr-FR", voice: "nk0" });
      const rec = JSON.parse(fs.readFileSync(record, "utf8"));
      assert.strictEqual(rec.argv.length, 4);
      assert.deepStrictEqual(rec.argv.slice(1), ["--lang=fr-FR", "nk0", hostile]);
      assert.ok(!fs.existsSync(path.join(dir, "pwned")));

      await runTtsCommand(`${node} ${JSON.stringify(script)} {file}`, { text: "über stdin", lang: "", voice: "" });
      assert.strictEqual(JSON.parse(fs.readFileSync(record, "utf8")).stdin, "über stdin");
    });

    it("fails with the command's stderr", async () => {
      await assert.rejects(
        runTtsCommand("sox -n {file} synth 0.5 nonsense 440", { text: "x", lang: "", voice: "" }),
        (e: Error) => /TTS command "sox" failed \(exit code \d+\)/.test(e.message) && /sox FAIL/.test(e.message),
      );
    });

    it("names a missing program", async () => {
      await assert.rejects(
        runTtsCommand("no-such-tts-program-4711 -w {file} {text}", { text: "x", lang: "", voice: "" }),
        /"no-such-tts-program-4711" failed \(program not found\)/,
      );
    });

    it("kills a command that takes too long", async () => {
      await assert.rejects(runTtsCommand("sleep 5", { text: "x", lang: "", voice: "" }, { timeoutMs: 200 }), /timed out after 200 ms/);
    });

    it("complains when the program exits 0 without writing the file", async () => {
      await assert.rejects(runTtsCommand("true {file}", { text: "x", lang: "", voice: "" }), /did not write the \{file\} WAV/);
    });

    it("rejects language or voice values that look like options", async () => {
      await assert.rejects(runTtsCommand("sox -n {file} synth 0.1 sine 440", { text: "x", lang: "--help", voice: "" }), /Invalid language/);
      await assert.rejects(runTtsCommand("sox -n {file} synth 0.1 sine 440", { text: "x", lang: "en", voice: "a b" }), /Invalid voice/);
    });
  });

  describe("CommandEngine", () => {
    it("uses the request's template, else its default, else explains what is missing", async () => {
      const engine = new CommandEngine({ command: "sox -n -r 16000 {file} synth 0.3 sine 500" });
      const own = await engine.synthesize({ text: "t", language: "en" });
      assert.strictEqual(own.sampleRate, 16000);
      const req = await engine.synthesize({ text: "t", language: "en", command: "sox -n -r 8000 {file} synth 0.1 sine 500" });
      assert.strictEqual(req.samples.length, 800);
      assert.throws(() => new CommandEngine().describe({ text: "t", language: "en" }), /needs a command template/);
      assert.deepStrictEqual(new CommandEngine().languages(), []);
    });

    it("reports output that is not WAV", async () => {
      await assert.rejects(
        new CommandEngine().synthesize({ text: "t", language: "en", command: "sox -n -t au - synth 0.1 sine 500" }),
        /not usable audio: Not a WAV file/,
      );
    });
  });
});
