import assert from "node:assert/strict";
import { inspect } from "node:util";
import { serializeRtp } from "../../../src/media/rtp-packet.js";
import {
  SDES_MAX_ATTRIBUTE_LENGTH,
  SDES_MAX_OFFERED_ATTRIBUTES,
  acceptAnswerCryptos,
  answerCryptos,
  createCrypto,
  createOfferCryptos,
  parseCryptoAttribute,
  redactSdesKeys,
  selectOfferedCrypto,
  srtpContexts,
} from "../../../src/media/sdes.js";

// 16-byte key 000102..0f and 14-byte salt 101112..1d, base64 of key||salt.
const KEY = Buffer.from([...Array(16).keys()]);
const SALT = Buffer.from([...Array(14).keys()].map((i) => 0x10 + i));
const B64 = Buffer.concat([KEY, SALT]).toString("base64");

function err(v: unknown) {
  const r = parseCryptoAttribute(v);
  assert.equal(r.ok, false, `should refuse ${String(v)}`);
  return r.ok ? null : r.error;
}

describe("media/sdes", () => {
  it("parses the RFC 4568 example shape with lifetime and MKI", () => {
    const r = parseCryptoAttribute(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${B64}|2^20|1:4\r`);
    assert.ok(r.ok);
    assert.equal(r.crypto.tag, 1);
    assert.equal(r.crypto.suite, "AES_CM_128_HMAC_SHA1_80");
    assert.deepEqual(r.crypto.masterKey, KEY);
    assert.deepEqual(r.crypto.masterSalt, SALT);
    assert.equal(r.crypto.lifetime, 2 ** 20);
    assert.deepEqual(r.crypto.mki, Buffer.from([0, 0, 0, 1]));
  });

  it("parses the attribute value alone, a decimal lifetime, the _32 suite and ignorable session parameters", () => {
    const r = parseCryptoAttribute(`42 AES_CM_128_HMAC_SHA1_32 inline:${B64}|1000 WSH=128`);
    assert.ok(r.ok);
    assert.equal(r.crypto.tag, 42);
    assert.equal(r.crypto.suite, "AES_CM_128_HMAC_SHA1_32");
    assert.equal(r.crypto.lifetime, 1000);
    assert.equal(r.crypto.mki, null);
    assert.deepEqual(r.crypto.sessionParams, ["WSH=128"]);
    const plain = parseCryptoAttribute(`crypto:3 AES_CM_128_HMAC_SHA1_80 inline:${B64}`);
    assert.ok(plain.ok);
    assert.equal(plain.crypto.lifetime, null);
  });

  it("refuses malformed lines with a typed reason and never throws", () => {
    const S = "AES_CM_128_HMAC_SHA1_80";
    assert.equal(err(undefined), "syntax");
    assert.equal(err(42), "syntax");
    assert.equal(err(""), "syntax");
    assert.equal(err(`x ${S} inline:${B64}`), "syntax");
    assert.equal(err(`1234567890 ${S} inline:${B64}`), "syntax");
    assert.equal(err(`1 ${S}`), "syntax");
    assert.equal(err(`1 ${S} ${B64}`), "syntax");
    assert.equal(err(`1 AES_256_CM_HMAC_SHA1_80 inline:${B64}`), "unsupported-suite");
    assert.equal(err(`1 F8_128_HMAC_SHA1_80 inline:${B64}`), "unsupported-suite");
    assert.equal(err(`1 ${S} uri:https://127.0.0.1/key`), "unsupported-key-method");
    assert.equal(err(`1 ${S} inline:${B64.slice(0, 36)}`), "bad-key", "short key");
    assert.equal(err(`1 ${S} inline:${B64}AAAA`), "bad-key", "long key");
    assert.equal(err(`1 ${S} inline:${B64.slice(0, 39)}!`), "bad-key", "not base64");
    assert.equal(err(`1 ${S} inline:${B64}|0`), "bad-lifetime");
    assert.equal(err(`1 ${S} inline:${B64}|2^49`), "bad-lifetime");
    assert.equal(err(`1 ${S} inline:${B64}|abc`), "bad-lifetime");
    assert.equal(err(`1 ${S} inline:${B64}|1:4|2^20`), "bad-lifetime", "lifetime after MKI");
    assert.equal(err(`1 ${S} inline:${B64}|1:0`), "bad-mki");
    assert.equal(err(`1 ${S} inline:${B64}|1:129`), "bad-mki");
    assert.equal(err(`1 ${S} inline:${B64}|256:1`), "bad-mki", "value does not fit its length");
    assert.equal(err(`1 ${S} inline:${B64}|1:1|2:1`), "bad-mki");
    assert.equal(err(`1 ${S} inline:${B64}|1|2|3`), "syntax");
    assert.equal(err(`1 ${S} inline:${B64}|1:1;inline:${B64}|2:1`), "unsupported-parameter", "several keys");
    for (const p of ["UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP", "KDR=10", "FEC_KEY=inline:x", "FOO"]) {
      assert.equal(err(`1 ${S} inline:${B64} ${p}`), "unsupported-parameter", p);
    }
    assert.equal(err(`1 ${S} inline:${B64} ${"x".repeat(SDES_MAX_ATTRIBUTE_LENGTH)}`), "too-long");
    // The tag is reported when it was readable.
    const r = parseCryptoAttribute(`7 AES_256_CM_HMAC_SHA1_80 inline:${B64}`);
    assert.deepEqual(r, { ok: false, error: "unsupported-suite", tag: 7 });
  });

  it("builds lines that parse back to the same key, fresh keys each time", () => {
    const a = createCrypto(5, "AES_CM_128_HMAC_SHA1_32");
    const b = createCrypto(5, "AES_CM_128_HMAC_SHA1_32");
    assert.ok(!a.masterKey.equals(b.masterKey));
    assert.equal(a.masterKey.length, 16);
    assert.equal(a.masterSalt.length, 14);
    const v = a.toAttributeValue();
    assert.match(v, /^5 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}$/);
    const r = parseCryptoAttribute(v);
    assert.ok(r.ok);
    assert.deepEqual(r.crypto.masterKey, a.masterKey);
    assert.deepEqual(r.crypto.masterSalt, a.masterSalt);
    // Lifetime and MKI survive a round trip too.
    const withMki = parseCryptoAttribute(`1 AES_CM_128_HMAC_SHA1_80 inline:${B64}|2^31|258:2`);
    assert.ok(withMki.ok);
    assert.equal(withMki.crypto.toAttributeValue(), `1 AES_CM_128_HMAC_SHA1_80 inline:${B64}|2147483648|258:2`);
  });

  it("keeps the key out of inspect() and JSON, and redacts it from SDP text", () => {
    const c = createCrypto(1, "AES_CM_128_HMAC_SHA1_80");
    const b64 = Buffer.concat([c.masterKey, c.masterSalt]).toString("base64");
    const keyHex = c.masterKey.toString("hex");
    // Forms a Buffer takes in inspect() ("<Buffer e1 f9 ...>") and JSON ({"data":[225,249,...]}).
    const keyInspect = (keyHex.match(/../g) ?? []).slice(0, 6).join(" ");
    const keyJson = [...c.masterKey.subarray(0, 6)].join(",");
    for (const s of [inspect(c), JSON.stringify(c), inspect({ nested: c }), `${JSON.stringify({ c })}`]) {
      for (const leak of [b64, keyHex, c.masterKey.toString("base64"), keyInspect, keyJson]) assert.ok(!s.includes(leak), s);
    }
    const sdp = `m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${b64}|2^20|1:4\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${b64}\r\n`;
    const red = redactSdesKeys(sdp);
    assert.ok(!red.includes(b64));
    assert.match(red, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\[redacted\]\|2\^20\|1:4\r\n/);
  });

  it("selects the first supported offered line, skipping unknown suites and bad lines", () => {
    const offered = [
      `1 AES_256_CM_HMAC_SHA1_80 inline:${Buffer.alloc(46).toString("base64")}`,
      `2 AES_CM_128_HMAC_SHA1_80 inline:short`,
      `3 AES_CM_128_HMAC_SHA1_32 inline:${B64}`,
      `4 AES_CM_128_HMAC_SHA1_80 inline:${B64}`,
    ];
    assert.equal(selectOfferedCrypto(offered)?.tag, 3);
    assert.equal(selectOfferedCrypto(offered, ["AES_CM_128_HMAC_SHA1_80"])?.tag, 4);
    assert.equal(selectOfferedCrypto(offered.slice(0, 2)), null);
    assert.equal(selectOfferedCrypto([]), null);
    // Only the first SDES_MAX_OFFERED_ATTRIBUTES lines are looked at.
    const many = Array(SDES_MAX_OFFERED_ATTRIBUTES).fill("1 NOPE inline:x");
    assert.equal(selectOfferedCrypto([...many, offered[3]]), null);
    assert.equal(selectOfferedCrypto([...many.slice(1), offered[3]])?.tag, 4);
  });

  it("offer/answer: both sides end with matching contexts and audio flows both ways", () => {
    const offer = createOfferCryptos();
    assert.deepEqual(
      offer.map((c) => [c.tag, c.suite]),
      [
        [1, "AES_CM_128_HMAC_SHA1_80"],
        [2, "AES_CM_128_HMAC_SHA1_32"],
      ],
    );
    const answerer = answerCryptos(offer.map((c) => c.toAttributeValue()));
    assert.ok(answerer);
    assert.equal(answerer.remote.tag, 1);
    assert.equal(answerer.local.tag, 1);
    assert.equal(answerer.local.suite, "AES_CM_128_HMAC_SHA1_80");
    assert.ok(!answerer.local.masterKey.equals(answerer.remote.masterKey), "answerer uses its own key");
    const offerer = acceptAnswerCryptos(offer, [answerer.local.toAttributeValue()]);
    assert.ok(offerer);
    assert.equal(offerer.local, offer[0]);

    const a = srtpContexts(offerer);
    const b = srtpContexts(answerer);
    const pkt = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 1 }, Buffer.alloc(160, 0x7f));
    assert.deepEqual(b.inbound.unprotectRtp(a.outbound.protectRtp(pkt)), pkt);
    assert.deepEqual(a.inbound.unprotectRtp(b.outbound.protectRtp(pkt)), pkt);
    // Keys are per direction: our own packets do not decrypt with our inbound context.
    const next = serializeRtp({ payloadType: 0, sequenceNumber: 2, timestamp: 160, ssrc: 1 }, Buffer.alloc(160, 0x7f));
    assert.equal(a.inbound.unprotectRtp(a.outbound.protectRtp(next)), null);
  });

  it("offerer refuses answers that do not match an offered tag and suite, or carry several lines", () => {
    const offer = createOfferCryptos();
    const good = createCrypto(2, "AES_CM_128_HMAC_SHA1_32").toAttributeValue();
    assert.ok(acceptAnswerCryptos(offer, [good]));
    assert.equal(acceptAnswerCryptos(offer, [createCrypto(2, "AES_CM_128_HMAC_SHA1_80").toAttributeValue()]), null, "suite of another tag");
    assert.equal(acceptAnswerCryptos(offer, [createCrypto(9, "AES_CM_128_HMAC_SHA1_80").toAttributeValue()]), null, "unknown tag");
    assert.equal(acceptAnswerCryptos(offer, [good, good]), null, "two lines");
    assert.equal(acceptAnswerCryptos(offer, []), null);
    assert.equal(acceptAnswerCryptos(offer, ["2 AES_CM_128_HMAC_SHA1_32 inline:bad"]), null);
    assert.equal(answerCryptos(["1 AES_256_CM_HMAC_SHA1_80 inline:x"]), null);
  });

  it("createCrypto refuses out-of-range tags", () => {
    assert.throws(() => createCrypto(-1, "AES_CM_128_HMAC_SHA1_80"), RangeError);
    assert.throws(() => createCrypto(1e9, "AES_CM_128_HMAC_SHA1_80"), RangeError);
    assert.throws(() => createCrypto(1.5, "AES_CM_128_HMAC_SHA1_80"), RangeError);
  });
});
