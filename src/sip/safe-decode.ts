// Percent-decoding of text that came from the network. decodeURIComponent throws a
// URIError on an escape that is not valid UTF-8 ("%FF", "%C0%AF"); on the receive
// path that exception would escape into Node-RED. These helpers never throw.

/**
 * Decodes %XX escapes; invalid UTF-8 becomes U+FFFD instead of an exception.
 * Non-string input (a header parser gave us undefined) yields "".
 */
export function safeDecodeURIComponent(value: unknown): string {
  if (typeof value !== "string") return "";
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return decodeBytes(value);
  }
}

/** The lenient path: escapes become bytes, the bytes are read as UTF-8 with replacement. */
function decodeBytes(value: string): string {
  const parts: Buffer[] = [];
  let plain = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === "%" && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      if (plain) {
        parts.push(Buffer.from(plain, "utf8"));
        plain = "";
      }
      parts.push(Buffer.from([parseInt(value.slice(i + 1, i + 3), 16)]));
      i += 2;
    } else plain += c;
  }
  if (plain) parts.push(Buffer.from(plain, "utf8"));
  return Buffer.concat(parts).toString("utf8");
}

/** JSON.parse that answers undefined instead of throwing. */
export function safeJsonParse(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
