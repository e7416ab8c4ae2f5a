// Talk-off on synthesized speech: over ten minutes of Pico speech in six
// languages, G.711 coded at two levels, must yield no digit; the same audio
// with real DTMF tones spliced in must yield exactly those tones.
import assert from "node:assert/strict";
import { closeDefaultSpeechService, synthesizePcm8k } from "../../../src/speech/index.js";
import { generateDtmfTone } from "../../../src/dtmf/tone-generator.js";
import { LAWS, RATE, concat, detect, digitsOf, g711, ms, silence, toInt16 } from "./signals.js";
import { SPEECH_LANGUAGES, speechParagraphs } from "./speech-texts.js";

const PARAGRAPHS_PER_LANGUAGE = 6;

describe("dtmf/inband-detector talk-off on synthesized speech", function () {
  this.timeout(600_000);
  const speech = new Map<string, Int16Array>();

  before(async () => {
    for (const [i, lang] of SPEECH_LANGUAGES.entries()) {
      const parts: Int16Array[] = [];
      for (const text of speechParagraphs(lang, PARAGRAPHS_PER_LANGUAGE, 1000 + i)) {
        parts.push(await synthesizePcm8k(text, lang), silence(ms(300)));
      }
      speech.set(lang, concat(...parts));
    }
  });

  after(async () => {
    await closeDefaultSpeechService();
  });

  it("has at least 10 minutes of speech across six languages", () => {
    assert.equal(speech.size, 6);
    let total = 0;
    for (const [lang, pcm] of speech) {
      assert.ok(pcm.length / RATE >= 80, `${lang}: ${pcm.length / RATE} s`);
      total += pcm.length / RATE;
    }
    assert.ok(total >= 600, `only ${total.toFixed(0)} s of speech`);
  });

  for (const lang of SPEECH_LANGUAGES) {
    it(`no digits in ${lang} speech (mu-law and A-law, nominal and -10 dB)`, () => {
      const pcm = speech.get(lang)!;
      for (const law of LAWS) {
        for (const gain of [1, 0.316]) {
          const found = detect(g711(toInt16(Float64Array.from(pcm, (v) => v * gain)), law));
          assert.equal(digitsOf(found), "", `${lang} ${law} gain ${gain}: ${JSON.stringify(found[0])}`);
        }
      }
    });
  }

  it("finds DTMF tones spliced between the same speech", () => {
    // Guards against a detector that passes the talk-off cases by never firing.
    const keys = "159#0*D";
    const pcm = speech.get("de-DE")!;
    const parts: Int16Array[] = [];
    const slice = Math.floor(pcm.length / keys.length);
    for (const [i, k] of [...keys].entries()) {
      parts.push(pcm.subarray(i * slice, (i + 1) * slice), generateDtmfTone(k, 60, { levelDbm0: -12 }));
    }
    assert.equal(digitsOf(detect(g711(concat(...parts), "alaw"))), keys);
  });
});
