import assert from "node:assert/strict";
import {
  delayImpairment,
  effectiveEquipmentImpairment,
  estimateCallQuality,
  estimatedOneWayDelayMs,
  G711_BPL_WITH_PLC,
  G711_BPL_WITHOUT_PLC,
  JITTER_BUFFER_MIN_MS,
  mosFromR,
  rFactor,
} from "../../../src/media/call-quality.js";

const close = (actual: number, expected: number, tol: number, what = "") =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} not within ${tol} of ${expected}`);

describe("media/call-quality", () => {
  describe("R to MOS (G.107 Annex B)", () => {
    it("known points", () => {
      close(mosFromR(93.2), 4.41, 0.005, "R=93.2");
      close(mosFromR(80), 1 + 0.035 * 80 + 80 * 20 * 20 * 7e-6, 1e-12, "R=80"); // 4.024
      close(mosFromR(70), 3.597, 0.0005, "R=70");
      close(mosFromR(50), 2.575, 0.0005, "R=50");
    });

    it("is clamped to 1..4.5 and monotonic", () => {
      assert.equal(mosFromR(-5), 1);
      assert.equal(mosFromR(0), 1);
      assert.equal(mosFromR(3), 1, "the cubic dips below 1 for small R");
      assert.equal(mosFromR(100), 4.5);
      assert.equal(mosFromR(120), 4.5);
      assert.equal(mosFromR(NaN), 1);
      let prev = 0;
      for (let r = 0; r <= 100; r += 0.5) {
        const m = mosFromR(r);
        assert.ok(m >= prev, `R=${r}`);
        prev = m;
      }
    });
  });

  describe("E-model with G.107 default values", () => {
    it("gives the reference R = 93.2 with no delay and no loss", () => {
      close(rFactor(0, 0), 93.2, 0.05, "R");
    });

    it("delay impairment follows the published G.107 curve (Cole & Rosenbluth fit within 3.5)", () => {
      // Independent check: Id ~ 0.024 d + 0.11 (d - 177.3) H(d - 177.3) (Cole & Rosenbluth 2001).
      const fit = (d: number) => 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
      for (const d of [50, 150, 250, 300, 400]) {
        close(rFactor(0, 0) - rFactor(d, 0), fit(d), 3.5, `Id at ${d} ms`);
      }
    });

    it("the interactivity term Idd starts at 100 ms and is 3.04 at 200 ms", () => {
      // Idd(200) = 25 ((1 + 1)^(1/6) - 3 (1 + 3^-6)^(1/6) + 2) with X = log2(200/100) = 1.
      const iddAt200 = 25 * (2 ** (1 / 6) - 3 * (1 + 3 ** -6) ** (1 / 6) + 2);
      close(iddAt200, 3.044, 0.001);
      // Idte and Idle change smoothly; Idd switches on above 100 ms. Compare with a curve that
      // extrapolates the echo terms linearly from just below 100 ms.
      const echoOnly = (d: number) => delayImpairment(d) - (d > 100 ? 25 * ((1 + Math.log2(d / 100) ** 6) ** (1 / 6) - 3 * (1 + (Math.log2(d / 100) / 3) ** 6) ** (1 / 6) + 2) : 0);
      close(delayImpairment(200) - echoOnly(200), iddAt200, 1e-9);
      assert.equal(delayImpairment(100) - echoOnly(100), 0);
    });

    it("delay only makes it worse", () => {
      let prev = Infinity;
      for (let d = 0; d <= 800; d += 10) {
        const r = rFactor(d, 0);
        assert.ok(r <= prev + 1e-9, `${d} ms`);
        prev = r;
      }
    });

    it("packet loss: Ie,eff = 95 Ppl / (Ppl / BurstR + Bpl) for G.711", () => {
      assert.equal(effectiveEquipmentImpairment(0), 0);
      close(effectiveEquipmentImpairment(1), 95 / (1 + G711_BPL_WITHOUT_PLC), 1e-12, "1 % no PLC");
      close(effectiveEquipmentImpairment(1), 17.92, 0.01);
      close(effectiveEquipmentImpairment(1, { plc: true }), 95 / (1 + G711_BPL_WITH_PLC), 1e-12, "1 % PLC");
      close(effectiveEquipmentImpairment(1, { plc: true }), 3.64, 0.01);
      close(effectiveEquipmentImpairment(2, { plc: true, burstR: 2 }), (95 * 2) / (1 + 25.1), 1e-12, "bursty");
      close(effectiveEquipmentImpairment(250), (95 * 100) / (100 + 4.3), 1e-12, "clamped to 100 %");
      close(rFactor(0, 1) - rFactor(0, 0), -17.92, 0.01);
    });
  });

  describe("estimateCallQuality", () => {
    it("one-way delay = RTT/2 + frame + jitter buffer", () => {
      assert.equal(estimatedOneWayDelayMs({ rttMs: 200, jitterMs: 30 }), 100 + 20 + 60);
      assert.equal(estimatedOneWayDelayMs({ rttMs: null, jitterMs: 2 }), 20 + JITTER_BUFFER_MIN_MS);
      assert.equal(estimatedOneWayDelayMs({ rttMs: 10, jitterMs: 0, frameMs: 30 }), 5 + 30 + JITTER_BUFFER_MIN_MS);
    });

    it("a clean LAN call is excellent", () => {
      const q = estimateCallQuality({ lossFraction: 0, jitterMs: 1, rttMs: 1 });
      assert.ok(q.mos >= 4.3 && q.mos <= 4.41, JSON.stringify(q));
      assert.equal(q.lossPercent, 0);
    });

    it("loss, delay and jitter lower the estimate", () => {
      const base = estimateCallQuality({ lossFraction: 0, jitterMs: 0, rttMs: 20 });
      const lossy = estimateCallQuality({ lossFraction: 0.05, jitterMs: 0, rttMs: 20 });
      const slow = estimateCallQuality({ lossFraction: 0, jitterMs: 0, rttMs: 600 });
      const jittery = estimateCallQuality({ lossFraction: 0, jitterMs: 120, rttMs: 20 });
      assert.ok(lossy.mos < base.mos && slow.mos < base.mos && jittery.mos < base.mos);
      // 5 % random loss without concealment: R ~ 93 - 95*5/9.3 = 42, "nearly all users dissatisfied".
      assert.ok(lossy.mos < 2.5, JSON.stringify(lossy));
      // With PLC the same loss is far more tolerable.
      assert.ok(estimateCallQuality({ lossFraction: 0.05, jitterMs: 0, rttMs: 20, plc: true }).mos > 3.5);
    });

    it("never throws and stays in range on garbage", () => {
      for (const lossFraction of [NaN, -1, 0, 0.5, 1, 7, Infinity]) {
        for (const jitterMs of [NaN, -5, 0, 1e9, Infinity]) {
          for (const rttMs of [null, NaN, -1, 0, 1e9, Infinity]) {
            const q = estimateCallQuality({ lossFraction, jitterMs, rttMs });
            assert.ok(q.mos >= 1 && q.mos <= 4.5, JSON.stringify({ lossFraction, jitterMs, rttMs, q }));
            assert.ok(q.r >= 0 && q.r <= 100);
            assert.ok(Number.isFinite(q.oneWayDelayMs) || q.oneWayDelayMs === Infinity);
          }
        }
      }
    });
  });
});
