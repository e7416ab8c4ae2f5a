import assert from "assert";
import { safeDecodeURIComponent, safeJsonParse } from "../../../src/sip/safe-decode";
import { partyFromUri } from "../../../src/call/caller-match";

describe("decoding network text never throws", () => {
  it("invalid UTF-8 escapes become U+FFFD, valid ones decode", () => {
    assert.strictEqual(safeDecodeURIComponent("%FF"), "\uFFFD");
    assert.ok(safeDecodeURIComponent("%C0%AF").includes("\uFFFD"));
    assert.strictEqual(safeDecodeURIComponent("%2B49%20301"), "+49 301");
    assert.strictEqual(safeDecodeURIComponent("a%FFb%41"), "a\uFFFDbA");
    assert.strictEqual(safeDecodeURIComponent("100%"), "100%");
    assert.strictEqual(safeDecodeURIComponent("%E2%82"), "\uFFFD");
    assert.strictEqual(safeDecodeURIComponent(undefined), "");
    assert.strictEqual(safeJsonParse("{"), undefined);
    assert.deepStrictEqual(safeJsonParse('{"a":1}'), { a: 1 });
  });

  it("partyFromUri survives a caller user of %C0%AF / %FF (URIError before)", () => {
    for (const user of ["%C0%AF", "%FF", "%", "%E2%82%"]) {
      const uri = { user, toString: () => `sip:${user}@127.0.0.1` };
      const party = partyFromUri(uri, '"Mallory"');
      assert.strictEqual(typeof party.number, "string");
      assert.strictEqual(party.name, "Mallory");
    }
    assert.strictEqual(partyFromUri({ user: "%2B4930", toString: () => "" }).number, "+4930");
    assert.strictEqual(partyFromUri(undefined).number, "");
    const throwing = {
      user: "1",
      toString: () => {
        throw new Error("x");
      },
    };
    assert.strictEqual(partyFromUri(throwing).uri, "");
  });
});
