// The greetings-by-time-and-mode example does what its comment promises: the rows are read by
// the real matcher at fixed times (Europe/Paris) and modes.
import assert from "assert";
import fs from "fs";
import path from "path";
import { matchGreeting, type Greeting } from "../../../src/call/caller-match";

const flow = JSON.parse(fs.readFileSync(path.join(__dirname, "../../../../examples/greetings-by-time-and-mode.json"), "utf8")) as Array<{
  type: string;
  greetings?: Greeting[];
  timeZone?: string;
}>;
const node = flow.find((n) => n.type === "sip-call")!;

/** What the example does for a caller at a Paris local time in a mode. */
function outcome(number: string, parisTime: string, mode?: string): string {
  const m = matchGreeting(node.greetings, number, false, { now: Date.parse(parisTime), timeZone: node.timeZone, mode });
  if (!m) return "none";
  return m.greeting.action === "reject" ? "reject" : m.greeting.message.split(".")[0];
}

describe("example greetings-by-time-and-mode", () => {
  it("is in the Paris time zone", () => assert.strictEqual(node.timeZone, "Europe/Paris"));
  // 2026-12-02 is a Wednesday, 2026-12-05 a Saturday; Paris is UTC+1 in December.
  it("weekday office hours, evening and weekend without a mode", () => {
    assert.strictEqual(outcome("0612345678", "2026-12-02T10:00:00+01:00"), "Hello");
    assert.strictEqual(
      matchGreeting(node.greetings, "0612345678", false, { now: Date.parse("2026-12-02T10:00:00+01:00"), timeZone: "Europe/Paris" })!.index,
      4,
    );
    assert.strictEqual(
      matchGreeting(node.greetings, "0612345678", false, { now: Date.parse("2026-12-02T20:00:00+01:00"), timeZone: "Europe/Paris" })!.index,
      5,
    );
    assert.strictEqual(
      matchGreeting(node.greetings, "0612345678", false, { now: Date.parse("2026-12-05T10:00:00+01:00"), timeZone: "Europe/Paris" })!.index,
      3,
    );
  });
  it("away: Anna hears her own message, others the away message, even at the weekend", () => {
    assert.strictEqual(outcome("01701234567", "2026-12-05T10:00:00+01:00", "away"), "Hello Anna! We are away this week");
    assert.strictEqual(outcome("0612345678", "2026-12-05T10:00:00+01:00", "away"), "Hello");
    assert.strictEqual(
      matchGreeting(node.greetings, "0612345678", false, { now: Date.parse("2026-12-05T10:00:00+01:00"), timeZone: "Europe/Paris", mode: "away" })!
        .index,
      2,
    );
  });
  it("night: everybody is rejected, Anna too", () => {
    assert.strictEqual(outcome("0612345678", "2026-12-02T10:00:00+01:00", "night"), "reject");
    assert.strictEqual(outcome("01701234567", "2026-12-02T23:00:00+01:00", "night"), "reject");
  });
});
