// Text of a value from outside (a message property, a header): only primitives have a meaningful
// one; an object would print as "[object Object]", so the caller decides what it stands for.

/** `String(v)` for a string, number, bigint or boolean; undefined for anything else. */
export function primitiveText(v: unknown): string | undefined {
  switch (typeof v) {
    case "string":
      return v;
    case "number":
    case "bigint":
    case "boolean":
      return String(v);
    default:
      return undefined;
  }
}
