// message/sipfrag status lines and Subscription-State, as a transfer's NOTIFYs carry them (RFC 3515, RFC 6665).
import assert from "assert";
import { buildSipfrag, parseSipfrag, parseSubscriptionState, SIPFRAG_MAX_BYTES, SIPFRAG_REASON_MAX } from "../../../src/sip/sipfrag";

describe("sip/sipfrag", () => {
  it("reads the status line of a sipfrag body", () => {
    assert.deepStrictEqual(parseSipfrag("SIP/2.0 100 Trying\r\n"), { statusCode: 100, reason: "Trying" });
    assert.deepStrictEqual(parseSipfrag("SIP/2.0 200 OK"), { statusCode: 200, reason: "OK" });
    assert.deepStrictEqual(parseSipfrag("\r\nsip/2.0 486 Busy Here\r\nContact: <sip:x@y>\r\n\r\n"), { statusCode: 486, reason: "Busy Here" });
    assert.deepStrictEqual(parseSipfrag(Buffer.from("SIP/2.0 180 Ringing\n")), { statusCode: 180, reason: "Ringing" });
    assert.deepStrictEqual(parseSipfrag("SIP/2.0 603"), { statusCode: 603, reason: "" });
  });

  it("refuses what is not a status line: request lines, bad codes, garbage, other types", () => {
    for (const bad of [
      "INVITE sip:bob@x SIP/2.0",
      "SIP/2.0 99 Low",
      "SIP/2.0 700 High",
      "SIP/2.0 2000 OK",
      "HTTP/1.1 200 OK",
      "",
      "\u0000\u0001",
      undefined,
      null,
      200,
      {},
    ]) {
      assert.strictEqual(parseSipfrag(bad), undefined, JSON.stringify(bad));
    }
  });

  it("is bounded: a long reason is cut, control characters replaced, only the first SIPFRAG_MAX_BYTES looked at", () => {
    const r = parseSipfrag(`SIP/2.0 200 ${"A".repeat(100_000)}`);
    assert.deepStrictEqual(r, { statusCode: 200, reason: "A".repeat(SIPFRAG_REASON_MAX) }, "a huge line: its code, and the reason cut");
    const long = parseSipfrag(`SIP/2.0 480 ${"B".repeat(SIPFRAG_MAX_BYTES - 20)}`);
    assert.strictEqual(long?.reason.length, SIPFRAG_REASON_MAX);
    assert.strictEqual(parseSipfrag("SIP/2.0 500 Bad\u0007Thing\u00ff")?.reason, "Bad?Thing?");
    assert.strictEqual(parseSipfrag("\r\n".repeat(SIPFRAG_MAX_BYTES) + "SIP/2.0 200 OK"), undefined);
  });

  it("builds one status line, with a safe code and reason", () => {
    assert.strictEqual(buildSipfrag(100, "Trying"), "SIP/2.0 100 Trying\r\n");
    assert.strictEqual(buildSipfrag(486, "Busy\r\nX-Evil: 1"), "SIP/2.0 486 BusyX-Evil: 1\r\n");
    assert.strictEqual(buildSipfrag(42, ""), "SIP/2.0 500 Unknown\r\n");
    assert.deepStrictEqual(parseSipfrag(buildSipfrag(180, "Ringing")), { statusCode: 180, reason: "Ringing" });
  });

  it("reads Subscription-State", () => {
    assert.deepStrictEqual(parseSubscriptionState("active;expires=60"), { state: "active" });
    assert.deepStrictEqual(parseSubscriptionState("Terminated;reason=noresource"), { state: "terminated", reason: "noresource" });
    assert.deepStrictEqual(parseSubscriptionState(" terminated ; retry-after=5 ; reason = timeout"), { state: "terminated", reason: "timeout" });
    assert.deepStrictEqual(parseSubscriptionState("gone"), { state: "unknown" });
    assert.deepStrictEqual(parseSubscriptionState(undefined), { state: "unknown" });
  });
});
