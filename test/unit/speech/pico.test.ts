import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PICO_LANG_DIR, PICO_LANGUAGES, resolvePicoLanguage } from "../../../src/speech/pico/languages";
import workerThreads from "worker_threads";
import { PICO_SAMPLE_RATE, PicoEngine, picoWorkerRunning } from "../../../src/speech/pico/pico-engine";
import type { CrashMode } from "./pico-crash-worker";
import { buildPicoInput, escapePicoText } from "../../../src/speech/pico/pico-text";
import { closeSharedPico, makeTmpDir, picoSay } from "./helpers";

const SENTENCES: Record<string, string> = {
  "en-US": "Hello, this is your door phone. Somebody is ringing at the front door.",
  "en-GB": "Hello, this is your door phone. Somebody is ringing at the front door.",
  "de-DE": "Hallo, hier ist Ihre Türsprechanlage. Jemand klingelt an der Haustür.",
  "es-ES": "Hola, aquí está su portero automático. Alguien llama a la puerta.",
  "fr-FR": "Bonjour, ici votre interphone. Quelqu'un sonne à la porte d'entrée.",
  "it-IT": "Ciao, qui è il vostro citofono. Qualcuno suona alla porta d'ingresso.",
};

/**
 * Runs `body` with every Pico worker started through test/unit/speech/pico-crash-worker (the real
 * worker plus a "crash" message); `crash` sends that message to the newest one.
 */
async function withCrashableWorker(body: (crash: (mode?: CrashMode) => void) => Promise<void>): Promise<void> {
  await closeSharedPico(); // the worker must start inside, through the double
  assert.ok(!picoWorkerRunning(), "no Pico worker may be running before the crash test");
  const threads = workerThreads as { Worker: typeof workerThreads.Worker };
  const RealWorker = threads.Worker;
  const started: InstanceType<typeof RealWorker>[] = [];
  threads.Worker = class extends RealWorker {
    constructor(file: string | URL, options?: workerThreads.WorkerOptions) {
      super(/pico-worker\.js$/.test(String(file)) ? path.join(__dirname, "pico-crash-worker.js") : file, options);
      started.push(this);
    }
  };
  try {
    await body((mode = "uncaught") => {
      assert.ok(started.length > 0, "a Pico worker started through the double");
      started[started.length - 1].postMessage({ type: "crash", mode });
    });
  } finally {
    threads.Worker = RealWorker;
  }
}

/** RMS of 20 ms frames. */
function envelope(pcm: Int16Array): number[] {
  const frame = PICO_SAMPLE_RATE / 50;
  const out: number[] = [];
  for (let i = 0; i + frame <= pcm.length; i += frame) {
    let s = 0;
    for (let j = i; j < i + frame; j++) s += pcm[j] * pcm[j];
    out.push(Math.sqrt(s / frame));
  }
  return out;
}

function correlation(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  const ma = a.slice(0, n).reduce((x, y) => x + y, 0) / n;
  const mb = b.slice(0, n).reduce((x, y) => x + y, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe("speech/pico", function () {
  this.timeout(30_000);

  describe("languages and text", () => {
    it("lists the six shipped languages, each with its data files present", () => {
      assert.deepStrictEqual(
        PICO_LANGUAGES.map((l) => l.code),
        ["en-US", "en-GB", "de-DE", "es-ES", "fr-FR", "it-IT"],
      );
      for (const l of PICO_LANGUAGES) {
        for (const f of [l.taFile, l.sgFile]) assert.ok(fs.existsSync(path.join(PICO_LANG_DIR, f)), f);
      }
    });

    it("accepts aliases and spellings", () => {
      const cases: [string, string][] = [
        ["en", "en-US"],
        ["EN", "en-US"],
        ["en-us", "en-US"],
        ["en_GB", "en-GB"],
        ["en-uk", "en-GB"],
        ["de", "de-DE"],
        ["de_DE", "de-DE"],
        ["fr", "fr-FR"],
        ["fr-fr", "fr-FR"],
        [" es-ES ", "es-ES"],
        ["it", "it-IT"],
        ["german", "de-DE"],
      ];
      for (const [input, code] of cases) assert.strictEqual(resolvePicoLanguage(input).code, code, input);
    });

    it("rejects unknown or missing languages naming the available ones", () => {
      for (const bad of ["xx", "pt-BR", "fr-CA", "", undefined]) {
        assert.throws(
          () => resolvePicoLanguage(bad),
          (e: Error) => /en-US, en-GB, de-DE, es-ES, fr-FR, it-IT/.test(e.message) && (bad ? e.message.includes(bad) : true),
        );
      }
    });

    it("neutralises markup and control characters in user text", () => {
      assert.strictEqual(escapePicoText('a <volume level="0">b</volume> c'), 'a  volume level="0" b /volume  c');
      assert.strictEqual(escapePicoText("x\u0000y\u0007z\nw\tv"), "x y z\nw\tv");
      assert.strictEqual(buildPicoInput("<hi>", 50), '<volume level="50"> hi </volume>');
      assert.throws(() => buildPicoInput("x", 600), /volume/);
    });
  });

  describe("synthesis in the worker", () => {
    for (const lang of PICO_LANGUAGES) {
      it(`speaks ${lang.code}: audible, plausible duration, no clipping`, async () => {
        const text = SENTENCES[lang.code];
        const pcm = await picoSay(lang.code, text);
        const seconds = pcm.length / PICO_SAMPLE_RATE;
        const words = text.split(/\s+/).length;
        assert.ok(seconds > 0.25 * words && seconds < 0.8 * words, `${seconds.toFixed(2)} s for ${words} words`);
        const env = envelope(pcm);
        const voiced = env.filter((v) => v > 500).length / env.length;
        assert.ok(voiced > 0.3, `only ${(voiced * 100).toFixed(0)} % of frames carry sound`);
        let peak = 0;
        let clipped = 0;
        for (const v of pcm) {
          peak = Math.max(peak, Math.abs(v));
          if (v >= 32767 || v <= -32767) clipped++;
        }
        assert.strictEqual(clipped, 0, "samples at full scale");
        assert.ok(peak > 8000, `peak ${peak} is too quiet`);
      });
    }

    it("gives different audio for different text, the same envelope for the same text", async () => {
      const short = await picoSay("en-US", "One, two.");
      const long = await picoSay("en-US", "Seven, eight, nine, ten, eleven, twelve, thirteen.");
      assert.ok(long.length > short.length * 2, `${long.length} vs ${short.length}`);
      const a = await picoSay("en-US", "Press one for the kitchen.");
      const b = await picoSay("en-US", "Press two for the garage.");
      const engine = new PicoEngine();
      try {
        const again = await engine.synthesize("Press one for the kitchen.", "en-US");
        assert.strictEqual(again.length, a.length);
        const same = correlation(envelope(a), envelope(again));
        const other = correlation(envelope(a), envelope(b));
        assert.ok(same > 0.95, `same text envelope correlation ${same.toFixed(3)}`);
        assert.ok(other < same - 0.05, `different text correlation ${other.toFixed(3)} vs ${same.toFixed(3)}`);
      } finally {
        await engine.close();
      }
    });

    it("does not obey markup smuggled into the text", async () => {
      // If the tag were honoured, everything after it would be silent.
      const pcm = await picoSay("en-US", 'Attention <volume level="0"> the garage door is still open, please close it.');
      const env = envelope(pcm);
      const tail = env.slice(Math.floor(env.length * 0.5));
      assert.ok(tail.filter((v) => v > 500).length > tail.length * 0.25, "second half is audible");
    });

    it("speaks as in a fresh worker after switching languages back and forth", async () => {
      // Pico reads memory it never wrote; reusing a dirty area once made en-GB/en-US speak differently.
      const text = "Hello, this is a test of something. 1 2 3.";
      for (const [lang, other] of [
        ["en-GB", "en-US"],
        ["en-US", "en-GB"],
      ]) {
        await closeSharedPico(); // no other engine may keep the old worker alive
        assert.ok(!picoWorkerRunning());
        const engine = new PicoEngine();
        try {
          const fresh = await engine.synthesize(text, lang);
          await engine.synthesize(text, other);
          await engine.synthesize("Bonjour.", "fr");
          const again = await engine.synthesize(text, lang);
          assert.strictEqual(again.length, fresh.length, lang);
        } finally {
          await engine.close();
        }
      }
    });

    it("queues concurrent requests in different languages", async () => {
      const engine = new PicoEngine();
      try {
        const langs = ["de-DE", "en-GB", "de-DE", "it-IT", "en-US"];
        const results = await Promise.all(langs.map((l) => engine.synthesize(SENTENCES[l], l)));
        for (let i = 0; i < langs.length; i++) {
          assert.strictEqual(results[i].length, (await picoSay(langs[i], SENTENCES[langs[i]])).length, langs[i]);
        }
      } finally {
        await engine.close();
      }
    });

    it("rejects empty text and unknown languages without starting work", async () => {
      const engine = new PicoEngine();
      try {
        await assert.rejects(engine.synthesize("   ", "en-US"), /empty/);
        await assert.rejects(engine.synthesize("Hello", "klingon"), /Unknown Pico language "klingon"; available: en-US/);
      } finally {
        await engine.close();
      }
    });

    it("reports missing language files and keeps serving other requests", async () => {
      const empty = makeTmpDir("pico-nolang-");
      const broken = new PicoEngine({ langDir: empty });
      try {
        await assert.rejects(broken.synthesize("Hello", "en-US"), /language file missing for en-US/);
        assert.ok((await picoSay("en-US", "Still working?")).length > 0);
      } finally {
        await broken.close();
        fs.rmSync(empty, { recursive: true, force: true });
      }
    });

    it("rejects pending requests when the worker crashes and restarts on the next one", () =>
      withCrashableWorker(async (crash) => {
        const engine = new PicoEngine();
        try {
          await engine.synthesize("Warm.", "en-US");
          assert.ok(picoWorkerRunning());
          crash();
          await assert.rejects(engine.synthesize("This request is lost.", "en-US"), /Pico text-to-speech worker (crashed|exited)/);
          const after = await engine.synthesize("Back again.", "en-US");
          assert.ok(after.length > PICO_SAMPLE_RATE * 0.3);
        } finally {
          await engine.close();
        }
      }));

    it("replaces the worker after a failure that may have damaged the WASM state", () =>
      withCrashableWorker(async (crash) => {
        const engine = new PicoEngine();
        try {
          await engine.synthesize("Warm.", "en-US");
          crash("next-request");
          const failing = engine.synthesize("This one fails.", "en-US");
          const queued = engine.synthesize("This one was queued behind it.", "en-US");
          await assert.rejects(failing, /simulated WASM failure/);
          await assert.rejects(queued, /worker restarted after: simulated WASM failure/);
          assert.ok((await engine.synthesize("Fresh worker.", "en-US")).length > 0);
        } finally {
          await engine.close();
        }
      }));

    it("restarts the worker when a request times out", async () => {
      const impatient = new PicoEngine({ timeoutMs: 1 });
      const normal = new PicoEngine();
      try {
        await assert.rejects(impatient.synthesize(SENTENCES["it-IT"], "it-IT"), /did not answer within 1 ms/);
        assert.ok((await normal.synthesize("Recovered.", "en-US")).length > 0);
      } finally {
        await impatient.close();
        await normal.close();
      }
    });

    it("rejects requests of a closed engine", async () => {
      const engine = new PicoEngine();
      await engine.close();
      await assert.rejects(engine.synthesize("Hello", "en-US"), /closed/);
    });

    it("terminates the worker when the last engine is closed", async () => {
      await closeSharedPico();
      const a = new PicoEngine();
      const b = new PicoEngine();
      await Promise.all([a.synthesize("One.", "en-US"), b.load("de")]);
      assert.ok(picoWorkerRunning());
      const pending = a.synthesize(SENTENCES["en-US"], "en-US");
      await a.close();
      await assert.rejects(pending, /closed/);
      assert.ok(picoWorkerRunning(), "b still uses it");
      await b.close();
      assert.ok(!picoWorkerRunning());
    });
  });
});
