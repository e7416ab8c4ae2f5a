// Numbers from the editor and from messages: "" and missing mean "not set".

/** `v` as a number, or `fallback` when it is empty, missing or not a number. */
export function num(v: unknown, fallback: number): number {
  const n = Number(v);
  return v === "" || v === undefined || v === null || Number.isNaN(n) ? fallback : n;
}
