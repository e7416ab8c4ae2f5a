import assert from "node:assert/strict";
import { DTMF_DIGITS } from "../../../src/types.js";
import {
  DTMF_CONTENT_TYPE,
  DTMF_RELAY_CONTENT_TYPE,
  buildSipInfoDtmf,
  parseDtmfBody,
  parseDtmfRelayBody,
  parseSipInfoDtmf,
} from "../../../src/dtmf/sip-info.js";

describe("dtmf/sip-info", () => {
  describe("application/dtmf-relay", () => {
    const cases: [string, string, number | undefined][] = [
      ["Signal=5\r\nDuration=160\r\n", "5", 160],
      ["Signal=5\nDuration=250\n", "5", 250],
      ["signal=#\r\nduration=100", "#", 100],
      ["SIGNAL = *\r\nDURATION = 80\r\n", "*", 80],
      ["Signal= *\r\n", "*", undefined],
      ["Signal=1", "1", undefined],
      ["  Signal =  9  \r\n  Duration=  300 \r\n", "9", 300],
      ["\r\nSignal=0\r\n\r\n", "0", undefined],
      ["Duration=200\r\nSignal=d\r\n", "D", 200],
      ["Signal=10\r\nDuration=160", "*", 160],
      ["Signal=11\r\nDuration=160", "#", 160],
      ["Signal=12", "A", undefined],
      ["Signal=15", "D", undefined],
      ["Signal: 7\r\nDuration: 160", "7", 160],
      ["Signal=4\rDuration=90\r", "4", 90],
      ["Signal=3\r\nDuration=abc\r\n", "3", undefined],
      ["Signal=6\r\nVolume=10\r\nDuration=160\r\n", "6", 160],
    ];
    for (const [body, digit, duration] of cases) {
      it(`parses ${JSON.stringify(body)}`, () => {
        const r = parseDtmfRelayBody(body);
        assert.deepEqual(r, duration === undefined ? { ok: true, digit } : { ok: true, digit, durationMs: duration });
      });
    }

    it("reports errors for missing or invalid signals", () => {
      for (const body of ["", "Duration=160\r\n", "Signal=\r\n", "Signal=E", "Signal=16", "Signal=17", "Signal=12345", "hello"]) {
        const r = parseDtmfRelayBody(body);
        assert.equal(r.ok, false, body);
        if (!r.ok) assert.ok(r.error.length > 0);
      }
      const flash = parseDtmfRelayBody("Signal=16");
      assert.ok(!flash.ok && /flash/.test(flash.error));
    });
  });

  describe("application/dtmf", () => {
    it("parses the key or its event code", () => {
      for (const d of DTMF_DIGITS) assert.deepEqual(parseDtmfBody(d), { ok: true, digit: d });
      assert.deepEqual(parseDtmfBody("10"), { ok: true, digit: "*" });
      assert.deepEqual(parseDtmfBody("11"), { ok: true, digit: "#" });
      assert.deepEqual(parseDtmfBody(" 5\r\n"), { ok: true, digit: "5" });
      assert.deepEqual(parseDtmfBody("b"), { ok: true, digit: "B" });
      for (const bad of ["", "16", "55x", "**", "E"]) assert.equal(parseDtmfBody(bad).ok, false, bad);
    });
  });

  describe("by content type", () => {
    it("dispatches on the media type, ignoring case and parameters, strings or bytes", () => {
      assert.deepEqual(parseSipInfoDtmf("Application/DTMF-Relay", "Signal=8\r\nDuration=160\r\n"), { ok: true, digit: "8", durationMs: 160 });
      assert.deepEqual(parseSipInfoDtmf("application/dtmf; charset=utf-8", Buffer.from("#")), { ok: true, digit: "#" });
      const r = parseSipInfoDtmf("application/sdp", "v=0");
      assert.ok(!r.ok && /unsupported content type/.test(r.error));
    });
  });

  describe("building", () => {
    it("builds bodies that parse back to the same key", () => {
      for (const d of DTMF_DIGITS) {
        const relay = buildSipInfoDtmf(d);
        assert.equal(relay.contentType, DTMF_RELAY_CONTENT_TYPE);
        assert.equal(relay.body, `Signal=${d}\r\nDuration=160\r\n`);
        assert.deepEqual(parseSipInfoDtmf(relay.contentType, relay.body), { ok: true, digit: d, durationMs: 160 });
        const plain = buildSipInfoDtmf(d, "dtmf");
        assert.deepEqual(plain, { contentType: DTMF_CONTENT_TYPE, body: d });
        assert.deepEqual(parseSipInfoDtmf(plain.contentType, plain.body), { ok: true, digit: d });
      }
      assert.equal(buildSipInfoDtmf("a", "dtmf-relay", 250).body, "Signal=A\r\nDuration=250\r\n");
      assert.throws(() => buildSipInfoDtmf("x"), RangeError);
      assert.throws(() => buildSipInfoDtmf("1", "dtmf-relay", 0), RangeError);
    });
  });
});
