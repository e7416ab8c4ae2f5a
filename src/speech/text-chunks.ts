// Cuts a text into the pieces that streaming speech synthesises one after the other. The first
// piece is short, because the caller hears nothing until it is ready (Pico needs roughly 10 ms
// plus 3-4 ms per word); the later ones are whole sentences, grouped, because they are made while
// the earlier ones play and Pico phrases a sentence better when it sees all of it.

/** Most words in the first piece; a longer first sentence is cut at a comma, or here. */
export const FIRST_CHUNK_MAX_WORDS = 6;
/** Sentences after the first piece are grouped up to about this many words per piece. */
export const LATER_CHUNK_WORDS = 30;

const SENTENCE_END = /(?<=[.!?…;:。！？])\s+|\n+/u;
const CLAUSE_END = /[,،、—–]$|^-$/u;

function words(s: string): string[] {
  return s.split(/\s+/u).filter((w) => w !== "");
}

/** The first piece of an over-long first sentence: up to its last clause break within the limit. */
function cutFirst(sentence: string[], max: number): number {
  for (let n = Math.min(max, sentence.length - 1); n >= 2; n--) {
    if (CLAUSE_END.test(sentence[n - 1])) return n;
  }
  return max;
}

/**
 * Pieces of `text` in order. Joined with single spaces they give back every word of the text,
 * nothing dropped, nothing added; a text of one short sentence stays one piece.
 */
export function splitForSpeech(text: string, firstMaxWords = FIRST_CHUNK_MAX_WORDS, laterWords = LATER_CHUNK_WORDS): string[] {
  const sentences = text
    .split(SENTENCE_END)
    .map(words)
    .filter((w) => w.length > 0);
  if (sentences.length === 0) return [];
  const pieces: string[][] = [];
  const first = sentences.shift()!;
  if (first.length > firstMaxWords) {
    const n = cutFirst(first, firstMaxWords);
    pieces.push(first.slice(0, n));
    sentences.unshift(first.slice(n));
  } else {
    pieces.push(first);
  }
  let group: string[] = [];
  for (const s of sentences) {
    if (group.length > 0 && group.length + s.length > laterWords) {
      pieces.push(group);
      group = [];
    }
    group = group.concat(s);
  }
  if (group.length > 0) pieces.push(group);
  return pieces.map((p) => p.join(" "));
}
