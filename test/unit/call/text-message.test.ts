// SIP MESSAGE (RFC 3428): the pure parts of src/call/text-message.ts.
import assert from "assert";
import { checkOutgoingText, cleanText, MAX_TEXT_MESSAGE_BYTES, messageTargetUri, screenIncomingMessage } from "../../../src/call/text-message";

describe("call/text-message", () => {
  it("addresses a text like a dial: URI as is, user@host gets sip:, a number the account's domain", () => {
    assert.strictEqual(messageTargetUri("sips:bob@example.org", "pbx"), "sips:bob@example.org");
    assert.strictEqual(messageTargetUri("bob@127.0.0.1", "pbx"), "sip:bob@127.0.0.1");
    assert.strictEqual(messageTargetUri(" +49 (30) 123-4 ", "pbx:5080"), "sip:+49301234@pbx:5080");
    assert.throws(() => messageTargetUri("  ", "pbx"), /msg\.to must be a number or a SIP URI/);
  });

  it("sends at most MAX_TEXT_MESSAGE_BYTES of UTF-8, counted in bytes", () => {
    assert.strictEqual(checkOutgoingText("x".repeat(MAX_TEXT_MESSAGE_BYTES)), "x".repeat(MAX_TEXT_MESSAGE_BYTES));
    assert.throws(() => checkOutgoingText("é".repeat(MAX_TEXT_MESSAGE_BYTES / 2 + 1)), /1302 bytes, more than 1300/);
    assert.throws(() => checkOutgoingText(""), /msg\.payload must be the text to send/);
  });

  it("accepts text/plain in UTF-8 or ASCII only (415 with Accept), and bounds the size (413)", () => {
    assert.strictEqual(screenIncomingMessage("text/plain", "hi"), undefined);
    assert.strictEqual(screenIncomingMessage('Text/Plain; charset="UTF-8"', "hi"), undefined);
    assert.strictEqual(screenIncomingMessage("text/plain;charset=us-ascii", "hi"), undefined);
    assert.strictEqual(screenIncomingMessage("application/json", "{}")?.statusCode, 415);
    assert.deepStrictEqual(screenIncomingMessage("application/json", "{}")?.extraHeaders, ["Accept: text/plain"]);
    assert.strictEqual(screenIncomingMessage(undefined, "x")?.statusCode, 415);
    assert.strictEqual(screenIncomingMessage("text/plain; charset=ISO-8859-1", "x")?.statusCode, 415);
    assert.strictEqual(screenIncomingMessage("text/plain", "x".repeat(MAX_TEXT_MESSAGE_BYTES)), undefined);
    assert.strictEqual(screenIncomingMessage("text/plain", "x".repeat(MAX_TEXT_MESSAGE_BYTES + 1))?.statusCode, 413);
  });

  it("removes control characters but keeps tabs and line breaks", () => {
    assert.strictEqual(cleanText("a\u0000b\u0007c\u001b[0m\td\r\ne\u007f"), "abc[0m\td\r\ne");
  });
});
