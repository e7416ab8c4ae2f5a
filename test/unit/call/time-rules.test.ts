// Time windows and modes of caller rules, at fixed instants in named time zones (DST days in
// Europe/Paris included), and the greeting table that uses them.
import assert from "assert";
import { checkMode, conditionsError, conditionsHold, localTime, parseClock, parseDays, isValidTimeZone } from "../../../src/call/time-rules";
import { Greeting, matchGreeting, matchedRule, pickGreeting } from "../../../src/call/caller-match";

const at = (iso: string, timeZone = "Europe/Paris", mode?: string) => ({ now: Date.parse(iso), timeZone, mode });

describe("call/time-rules: local time in the user's zone", () => {
  it("reads day and minute in the zone, DST included", () => {
    // 2026-03-29 is the Sunday Paris moves from UTC+1 to UTC+2 (at 01:00 UTC).
    assert.deepStrictEqual(localTime(Date.parse("2026-03-29T00:30:00Z"), "Europe/Paris"), { day: 7, minutes: 90 });
    assert.deepStrictEqual(localTime(Date.parse("2026-03-29T01:30:00Z"), "Europe/Paris"), { day: 7, minutes: 210 });
    // 2026-10-25: back to UTC+1 at 01:00 UTC.
    assert.deepStrictEqual(localTime(Date.parse("2026-10-25T05:30:00Z"), "Europe/Paris"), { day: 7, minutes: 390 });
    assert.deepStrictEqual(localTime(Date.parse("2026-12-04T23:30:00Z"), "America/New_York"), { day: 5, minutes: 18 * 60 + 30 });
    assert.deepStrictEqual(localTime(Date.parse("2026-12-04T23:30:00Z"), "UTC"), { day: 5, minutes: 23 * 60 + 30 });
    assert.strictEqual(isValidTimeZone("Europe/Paris"), true);
    assert.strictEqual(isValidTimeZone(""), true, "empty = the system's");
    assert.strictEqual(isValidTimeZone("Mars/Olympus"), false);
  });

  it("parses days, times and modes", () => {
    assert.deepStrictEqual([...parseDays("mon-fri")!], [1, 2, 3, 4, 5]);
    assert.deepStrictEqual([...parseDays("Sat, sun")!], [6, 7]);
    assert.deepStrictEqual([...parseDays("fri-mon")!], [5, 6, 7, 1], "a range over the week's end");
    assert.deepStrictEqual([...parseDays("1-3 7")!], [1, 2, 3, 7]);
    assert.deepStrictEqual([...parseDays("Monday - Wednesday")!], [1, 2, 3]);
    assert.strictEqual(parseDays(""), undefined);
    assert.throws(() => parseDays("mon-xyz"), /unknown day "xyz"/);
    assert.throws(() => parseDays("8"), /unknown day "8"/);
    assert.strictEqual(parseClock("07:30"), 450);
    assert.strictEqual(parseClock("7"), 420);
    assert.strictEqual(parseClock("24:00"), 1440);
    assert.ok(Number.isNaN(parseClock("25:00")!) && Number.isNaN(parseClock("7.30")!));
    assert.strictEqual(conditionsError({ from: "7h" }), '"7h" is not a time (HH:MM)');
    assert.strictEqual(conditionsError({ days: "mon", from: "08:00", to: "18:00" }), undefined);
    assert.strictEqual(checkMode(" Night "), "night");
    assert.strictEqual(checkMode(""), "");
    assert.throws(() => checkMode("a b"), /letters, digits/);
    assert.throws(() => checkMode(3), /mode name/);
  });

  it("windows: within the day, crossing midnight (it belongs to the day it starts), on DST days", () => {
    const office = { days: "mon-fri", from: "08:00", to: "18:00" };
    assert.strictEqual(conditionsHold(office, at("2026-12-04T07:00:00Z")), true, "Friday 08:00 Paris");
    assert.strictEqual(conditionsHold(office, at("2026-12-04T06:59:00Z")), false, "Friday 07:59");
    assert.strictEqual(conditionsHold(office, at("2026-12-04T17:00:00Z")), false, "18:00 is outside");
    assert.strictEqual(conditionsHold(office, at("2026-12-05T10:00:00Z")), false, "Saturday");
    assert.strictEqual(conditionsHold(office, at("2026-12-04T07:00:00Z", "America/New_York")), false, "02:00 in New York");

    const fridayNight = { days: "fri", from: "22:00", to: "07:00" };
    assert.strictEqual(conditionsHold(fridayNight, at("2026-12-04T21:30:00Z")), true, "Friday 22:30");
    assert.strictEqual(conditionsHold(fridayNight, at("2026-12-05T05:59:00Z")), true, "Saturday 06:59: the night began on Friday");
    assert.strictEqual(conditionsHold(fridayNight, at("2026-12-05T06:00:00Z")), false, "Saturday 07:00");
    assert.strictEqual(conditionsHold(fridayNight, at("2026-12-05T21:30:00Z")), false, "Saturday 22:30");
    assert.strictEqual(conditionsHold(fridayNight, at("2026-12-04T05:00:00Z")), false, "Friday 06:00 belongs to Thursday's night");

    // Saturday night into the Sunday the clocks go forward: 07:00 local is 05:00 UTC, not 06:00.
    const saturdayNight = { days: "sat", from: "22:00", to: "07:00" };
    assert.strictEqual(conditionsHold(saturdayNight, at("2026-03-29T04:59:00Z")), true, "06:59 CEST");
    assert.strictEqual(conditionsHold(saturdayNight, at("2026-03-29T05:00:00Z")), false, "07:00 CEST");
    // ...and the Sunday they go back: 06:30 local is 05:30 UTC.
    assert.strictEqual(conditionsHold(saturdayNight, at("2026-10-25T05:30:00Z")), true, "06:30 CET");
    assert.strictEqual(conditionsHold(saturdayNight, at("2026-10-25T06:00:00Z")), false, "07:00 CET");

    assert.strictEqual(conditionsHold({ from: "22:00" }, at("2026-12-04T22:59:00Z")), true, "to empty = midnight");
    assert.strictEqual(conditionsHold({ to: "06:00" }, at("2026-12-04T22:59:00Z")), false);
    assert.strictEqual(conditionsHold({ from: "7x" }, at("2026-12-04T12:00:00Z")), false, "an unreadable time never holds");
    assert.strictEqual(conditionsHold({ days: "mon", from: "9:00", to: "9:00" }, at("2026-12-07T20:00:00Z")), true, "from = to: the whole day");
  });

  it("modes: a row asks for one or more; no mode set matches only rows without one", () => {
    assert.strictEqual(conditionsHold({ mode: "away,night" }, at("2026-12-04T12:00:00Z", "UTC", "night")), true);
    assert.strictEqual(conditionsHold({ mode: "Away" }, at("2026-12-04T12:00:00Z", "UTC", "away")), true);
    assert.strictEqual(conditionsHold({ mode: "away" }, at("2026-12-04T12:00:00Z", "UTC", "home")), false);
    assert.strictEqual(conditionsHold({ mode: "away" }, at("2026-12-04T12:00:00Z", "UTC")), false);
    assert.strictEqual(conditionsHold({ mode: "night", from: "22:00", to: "06:00" }, at("2026-12-04T12:00:00Z", "UTC", "night")), false);
  });
});

describe("call/caller-match: greeting rows with time windows and modes", () => {
  const table: Greeting[] = [
    { number: "", message: "Hello" },
    { number: "bob", message: "Hi Bob" },
    { number: "bob", message: "Bob, we are asleep", from: "22:00", to: "07:00" },
    { number: "", message: "", action: "reject", mode: "away" },
    { number: "bob", message: "Bob, we are away", mode: "away" },
    { number: "06*", message: "office hours", days: "mon-fri", from: "08:00", to: "18:00" },
  ];

  it("the same caller gets another greeting, or is rejected, by time and mode; the row is reported", () => {
    const day = at("2026-12-04T12:00:00Z");
    const night = at("2026-12-04T23:00:00Z");
    const away = at("2026-12-04T12:00:00Z", "Europe/Paris", "away");
    assert.strictEqual(pickGreeting(table, "bob", false, day)?.message, "Hi Bob");
    assert.strictEqual(pickGreeting(table, "bob", false, night)?.message, "Bob, we are asleep", "a row with conditions wins at the same level");
    assert.strictEqual(pickGreeting(table, "bob", false, away)?.message, "Bob, we are away");
    assert.strictEqual(pickGreeting(table, "carol", false, day)?.message, "Hello");
    const carolAway = matchGreeting(table, "carol", false, away)!;
    assert.strictEqual(carolAway.greeting.action, "reject");
    assert.deepStrictEqual(matchedRule(carolAway, away), { table: "greetings", index: 4, pattern: "", action: "reject", mode: "away" });
    assert.deepStrictEqual(matchedRule(matchGreeting(table, "bob", false, night)!, night), {
      table: "greetings",
      index: 3,
      pattern: "bob",
      action: "greet",
      window: { from: "22:00", to: "07:00" },
    });
    assert.strictEqual(pickGreeting(table, "0612", false, day)?.message, "office hours");
    assert.strictEqual(pickGreeting(table, "0612", false, at("2026-12-05T12:00:00Z"))?.message, "Hello", "Saturday: the generic row");
  });

  it("old rows (no time, no mode, no action) match as before, with or without a context", () => {
    const old: Greeting[] = [
      { number: "", message: "generic" },
      { number: "06??", message: "short" },
      { number: "06*", message: "long" },
      { number: "0612", message: "exact" },
    ];
    for (const ctx of [undefined, at("2026-12-04T12:00:00Z", "UTC", "night")]) {
      assert.strictEqual(pickGreeting(old, "0612", false, ctx)?.message, "exact");
      assert.strictEqual(pickGreeting(old, "0613", false, ctx)?.message, "short");
      assert.strictEqual(pickGreeting(old, "061234", false, ctx)?.message, "long");
      assert.strictEqual(pickGreeting(old, "0700", false, ctx)?.message, "generic");
      assert.strictEqual(matchGreeting(old, "0700", false, ctx)?.index, 0);
    }
    assert.strictEqual(pickGreeting(table, "bob")?.message, "Hi Bob", "without a context, rows with conditions are skipped");
    // A hand-edited flow with non-text values in the new fields: they are ignored, nothing throws.
    const junk = [{ number: "", message: "x", days: 5, from: {}, mode: ["a"] } as unknown as Greeting, { number: "", message: "plain" }];
    assert.strictEqual(pickGreeting(junk, "bob", false, at("2026-12-04T12:00:00Z"))?.message, "x");
    assert.strictEqual(conditionsError(junk[0]), undefined);
  });
});
