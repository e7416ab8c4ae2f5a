// Turns user text into Pico input. Pico parses "<…>" anywhere in the text as markup (and has no
// escape for it), so user text must not contain angle brackets or it could change voice, volume,
// play files or mute the rest of the message.

/** Pico volume markup level; 100 (Pico's default) clips, 50 matches Debian pico2wave cleanly. */
export const PICO_DEFAULT_VOLUME = 50;

/** Removes everything Pico could read as markup or as a flush command. */
export function escapePicoText(text: string): string {
  return (
    text
      .replace(/[<>]/g, " ")
      // NUL flushes the engine; other C0/C1 controls are noise. Keep \t \n \r (they separate words/paragraphs).
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, " ")
  );
}

/** Builds the complete markup string handed to the engine. */
export function buildPicoInput(text: string, volume = PICO_DEFAULT_VOLUME): string {
  if (!Number.isFinite(volume) || volume < 0 || volume > 500) throw new RangeError(`Pico volume must be 0..500, got ${volume}`);
  return `<volume level="${Math.round(volume)}">${escapePicoText(text)}</volume>`;
}
