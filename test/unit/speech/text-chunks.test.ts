import * as assert from "assert";
import { FIRST_CHUNK_MAX_WORDS, splitForSpeech } from "../../../src/speech/text-chunks";

const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);

describe("speech/text-chunks", () => {
  it("keeps a short sentence whole", () => {
    assert.deepStrictEqual(splitForSpeech("The garage door is open."), ["The garage door is open."]);
  });

  it("makes the first piece short: cut at a comma within the limit", () => {
    const pieces = splitForSpeech("Hello Anna, the alarm in the kitchen went off two minutes ago.");
    assert.deepStrictEqual(pieces, ["Hello Anna,", "the alarm in the kitchen went off two minutes ago."]);
  });

  it("cuts a long first sentence without a comma after the word limit", () => {
    const text = "the alarm in the living room went off two minutes ago please check";
    const pieces = splitForSpeech(text);
    assert.strictEqual(words(pieces[0]).length, FIRST_CHUNK_MAX_WORDS);
    assert.strictEqual(pieces.length, 2);
  });

  it("groups the later sentences up to the word budget, each piece ending at a sentence", () => {
    const sentence = "The door is open now."; // five words
    const text = Array.from({ length: 12 }, () => sentence).join(" ");
    const pieces = splitForSpeech(text, 6, 30);
    assert.strictEqual(pieces[0], sentence, "the first sentence alone");
    for (const p of pieces.slice(1)) {
      assert.ok(words(p).length <= 30, p);
      assert.ok(p.endsWith("."), p);
    }
    assert.strictEqual(pieces.length, 1 + Math.ceil(11 / 6));
  });

  it("splits at ! ? ; : and line breaks, and never loses or adds a word", () => {
    const text = "Fire!  Leave the house now?\nYes; the door: open.\n\n  Café, Straße und ça va… fini";
    const pieces = splitForSpeech(text);
    assert.deepStrictEqual(words(pieces.join(" ")), words(text));
    assert.strictEqual(pieces[0], "Fire!");
  });

  it("returns nothing for blank text", () => {
    assert.deepStrictEqual(splitForSpeech("   \n "), []);
  });
});
