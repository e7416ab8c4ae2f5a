import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { EngineSynthesisRequest, SpeechEngine } from "../../../src/speech/engine";
import {
  closeDefaultSpeechService,
  encodeWav,
  registerEngine,
  SpeechService,
  synthesizePcm8k,
  type SpeechServiceOptions,
} from "../../../src/speech/index";
import { picoWorkerRunning } from "../../../src/speech/pico/pico-engine";
import { amplitudeAt, closeSharedPico, db, makeTmpDir, sox, toneInt16 } from "./helpers";

/** A deterministic engine: a 16 kHz tone whose frequency depends on the text length. */
function fakeEngine(calls: EngineSynthesisRequest[], opts: { fail?: boolean; closed?: () => void } = {}): SpeechEngine {
  return {
    describe: (req) => ({ language: req.language }),
    synthesize: async (req) => {
      calls.push(req);
      await new Promise((r) => setTimeout(r, 5));
      if (opts.fail) throw new Error("fake engine failed");
      return { samples: toneInt16(300 + 10 * req.text.length, 16000, 0.5, 0.1), sampleRate: 16000 };
    },
    languages: () => [{ language: "xx-XX", label: "Fake" }],
    close: async () => opts.closed?.(),
  };
}

function peakOf(pcm: Int16Array): number {
  let p = 0;
  for (const v of pcm) p = Math.max(p, Math.abs(v));
  return p;
}

describe("speech/speech-service", function () {
  this.timeout(30_000);
  const services: SpeechService[] = [];
  let dir: string;
  const make = (opts: SpeechServiceOptions = {}): SpeechService => {
    const s = new SpeechService(opts);
    services.push(s);
    return s;
  };
  before(() => {
    dir = makeTmpDir("speech-service-test-");
  });
  after(async () => {
    await Promise.all(services.map((s) => s.close()));
    await closeDefaultSpeechService();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("with Pico", () => {
    it("speaks 8 kHz PCM of plausible length, EQ'd and normalised to -1 dBFS by default", async () => {
      const pcm = await make().synthesize({ text: "The garage door is open.", language: "en" });
      assert.ok(pcm.length > 8000 * 1 && pcm.length < 8000 * 4, `${pcm.length / 8000} s`);
      assert.ok(Math.abs(peakOf(pcm) - Math.round(32768 * Math.pow(10, -1 / 20))) <= 1, `peak ${peakOf(pcm)}`);
    });

    it("can switch the telephone EQ off", async () => {
      const text = "The garage door is open.";
      const raw = await make({ telephoneEq: false }).synthesize({ text, language: "en-US" });
      const eq = await make().synthesize({ text, language: "en-US" });
      assert.strictEqual(raw.length, eq.length);
      assert.ok(peakOf(raw) < 30000, "Pico's own level, not normalised");
      assert.notDeepStrictEqual(raw, eq);
    });

    it("uses the default language and lists Pico's languages", async () => {
      const s = make({ defaultLanguage: "de" });
      assert.ok((await s.synthesize({ text: "Guten Tag." })).length > 4000);
      const pico = s.languages().filter((l) => l.engine === "pico");
      assert.deepStrictEqual(
        pico.map((l) => l.language),
        ["en-US", "en-GB", "de-DE", "es-ES", "fr-FR", "it-IT"],
      );
      assert.ok(pico.every((l) => l.label.length > 0));
    });

    it("rejects empty text, unknown languages and unknown engines clearly", async () => {
      const s = make();
      await assert.rejects(s.synthesize({ text: "  \n " }), /Text to speak is empty/);
      await assert.rejects(s.synthesize({ text: undefined as unknown as string }), /empty/);
      await assert.rejects(
        s.synthesize({ text: "Hi", language: "tlh" }),
        /Unknown Pico language "tlh"; available: en-US, en-GB, de-DE, es-ES, fr-FR, it-IT/,
      );
      await assert.rejects(s.synthesize({ text: "Hi", engine: "festival" }), /Unknown speech engine "festival"; available: .*pico.*command/);
      await assert.rejects(make({ maxTextLength: 5 }).synthesize({ text: "too long text" }), /too long/);
    });

    it("warms up languages and rejects unknown ones", async () => {
      const s = make();
      await s.warmUp(["fr", "it-IT"]);
      await assert.rejects(s.warmUp(["xx"]), /Unknown Pico language/);
    });

    it("serves synthesizePcm8k from a process-wide service until it is closed", async () => {
      const a = await synthesizePcm8k("Seven.", "en-US");
      assert.ok(a.length > 2000);
      await closeDefaultSpeechService();
      const b = await synthesizePcm8k("Seven.", "en-US"); // a new default service
      assert.strictEqual(b.length, a.length);
      await closeDefaultSpeechService();
    });
  });

  describe("with the command engine", () => {
    it("resamples a 44.1 kHz stereo command result to 8 kHz", async () => {
      const s = make({ telephoneEq: false });
      const pcm = await s.synthesize({ text: "beep", engine: "command", command: "sox -n -r 44100 -c 2 {file} synth 0.5 sine 440 vol 0.5" });
      assert.strictEqual(pcm.length, 4000);
      assert.ok(Math.abs(db(amplitudeAt(pcm, 440, 8000) / 16384)) < 0.3);
    });

    it("takes the template from engineOptions", async () => {
      const s = make({ engineOptions: { command: { command: "sox -n -r 16000 {file} synth 0.25 sine 700" } } });
      assert.strictEqual((await s.synthesize({ text: "x", engine: "command" })).length, 2000);
      await assert.rejects(make().synthesize({ text: "x", engine: "command" }), /needs a command template/);
    });
  });

  describe("caching and engines", () => {
    it("hits the memory cache, shares concurrent identical requests and hands out copies", async () => {
      const calls: EngineSynthesisRequest[] = [];
      const s = make({ engines: { fake: () => fakeEngine(calls) }, defaultEngine: "fake" });
      const [a, b] = await Promise.all([s.synthesize({ text: "hello" }), s.synthesize({ text: "hello" })]);
      assert.strictEqual(calls.length, 1);
      assert.notStrictEqual(a, b);
      a.fill(0);
      const c = await s.synthesize({ text: "hello" });
      assert.strictEqual(calls.length, 1);
      assert.deepStrictEqual(c, b);
      await s.synthesize({ text: "hello", language: "other" });
      assert.strictEqual(calls.length, 2, "language is part of the key");
    });

    it("hits the disk cache from a new service instance", async () => {
      const cacheDir = path.join(dir, "tts-cache");
      const calls: EngineSynthesisRequest[] = [];
      const first = await make({ cacheDir, engines: { fake: () => fakeEngine(calls) } }).synthesize({ text: "persist", engine: "fake" });
      const second = await make({ cacheDir, engines: { fake: () => fakeEngine(calls) } }).synthesize({ text: "persist", engine: "fake" });
      assert.strictEqual(calls.length, 1);
      assert.deepStrictEqual(second, first);
      assert.strictEqual(fs.readdirSync(cacheDir).length, 1);
      // The EQ setting is part of the key: a different setting is a miss.
      await make({ cacheDir, telephoneEq: false, engines: { fake: () => fakeEngine(calls) } }).synthesize({ text: "persist", engine: "fake" });
      assert.strictEqual(calls.length, 2);
    });

    it("does not cache failures", async () => {
      const calls: EngineSynthesisRequest[] = [];
      const s = make({ engines: { fake: () => fakeEngine(calls, { fail: true }) }, defaultEngine: "fake" });
      await assert.rejects(s.synthesize({ text: "x" }), /fake engine failed/);
      await assert.rejects(s.synthesize({ text: "x" }), /fake engine failed/);
      assert.strictEqual(calls.length, 2);
    });

    it("warns but still answers when the cache directory is unusable", async () => {
      const blocker = path.join(dir, "not-a-dir");
      fs.writeFileSync(blocker, "");
      const warnings: string[] = [];
      const calls: EngineSynthesisRequest[] = [];
      const s = make({
        cacheDir: path.join(blocker, "cache"),
        onWarning: (m) => warnings.push(m),
        engines: { fake: () => fakeEngine(calls) },
        defaultEngine: "fake",
      });
      assert.ok((await s.synthesize({ text: "x" })).length > 0);
      assert.strictEqual(warnings.length, 1);
      assert.match(warnings[0], /cache not written/);
    });

    it("picks up engines registered globally, passes them their options, and closes them", async () => {
      let closed = 0;
      let seen: Record<string, unknown> | undefined;
      const calls: EngineSynthesisRequest[] = [];
      registerEngine("fake-global", (options) => {
        seen = options;
        return fakeEngine(calls, { closed: () => closed++ });
      });
      const s = new SpeechService({ engineOptions: { "fake-global": { answer: 42 } } });
      await s.synthesize({ text: "x", engine: "fake-global", voice: "v1" });
      assert.deepStrictEqual(seen, { answer: 42 });
      assert.strictEqual(calls[0].voice, "v1");
      assert.ok(s.languages().some((l) => l.engine === "fake-global" && l.language === "xx-XX"));
      await s.close();
      assert.strictEqual(closed, 1);
      await assert.rejects(s.synthesize({ text: "x", engine: "fake-global" }), /closed/);
      assert.throws(() => registerEngine("bad name!", () => fakeEngine([])), /Invalid speech engine name/);
    });
  });

  describe("loadAudio", () => {
    it("loads a WAV buffer at 16 kHz to 8 kHz without touching the level", async () => {
      const pcm = await make().loadAudio(encodeWav(toneInt16(1000, 16000, 1, 0.25), 16000));
      assert.strictEqual(pcm.length, 8000);
      assert.ok(Math.abs(db(amplitudeAt(pcm, 1000, 8000) / (0.25 * 32767))) < 0.2);
    });

    it("loads a 44.1 kHz stereo 24-bit file by path, and an 8 kHz mu-law file unchanged in length", async () => {
      const f1 = path.join(dir, "stereo24.wav");
      sox(["-n", "-r", "44100", "-b", "24", "-c", "2", f1, "synth", "1.5", "sine", "500", "sine", "500", "vol", "0.5"]);
      const a = await make().loadAudio(f1);
      assert.strictEqual(a.length, 12000);
      assert.ok(Math.abs(db(amplitudeAt(a, 500, 8000) / 16384)) < 0.3);
      const f2 = path.join(dir, "ulaw.wav");
      sox(["-n", "-r", "8000", "-e", "mu-law", f2, "synth", "0.5", "sine", "800"]);
      assert.strictEqual((await make().loadAudio(f2)).length, 4000);
    });

    it("explains unusable input", async () => {
      const s = make();
      await assert.rejects(s.loadAudio(path.join(dir, "missing.wav")), /Cannot read audio file .*missing\.wav: .*ENOENT/);
      await assert.rejects(s.loadAudio(dir), /not a regular file/);
      await assert.rejects(s.loadAudio(Buffer.from("ID3\x03 this is an mp3")), /Cannot use audio data: Not a WAV file/);
      await assert.rejects(s.loadAudio(encodeWav(new Int16Array(0), 8000)), /holds no samples/);
      await assert.rejects(s.loadAudio(42 as unknown as string), /expects a WAV Buffer or a file path/);
      const big = path.join(dir, "big.wav");
      fs.writeFileSync(big, encodeWav(new Int16Array(1000), 8000));
      await assert.rejects(make({ maxAudioFileBytes: 100 }).loadAudio(big), /larger than 100 bytes/);
    });
  });

  describe("shutdown", () => {
    it("closing every service stops the Pico worker", async () => {
      await Promise.all(services.splice(0).map((s) => s.close()));
      await closeDefaultSpeechService();
      await closeSharedPico();
      assert.ok(!picoWorkerRunning());
    });
  });
});
