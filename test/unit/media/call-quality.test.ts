import assert from "node:assert/strict";
import {
  absoluteDelayImpairment,
  basicSignalToNoiseRatio,
  delayImpairment,
  effectiveEquipmentImpairment,
  estimateCallQuality,
  estimatedOneWayDelayMs,
  G711_BPL_WITH_PLC,
  G711_BPL_WITHOUT_PLC,
  JITTER_BUFFER_MIN_MS,
  listenerEchoImpairment,
  mosFromR,
  rFactor,
  simultaneousImpairment,
  talkerEchoImpairment,
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

    it("the default terms: Ro = 94.77, Is = 1.41, Idle(0) = 0.15, Idte(0) = 0 (G.107 reference values)", () => {
      close(basicSignalToNoiseRatio(), 94.77, 0.005, "Ro");
      close(simultaneousImpairment(0), 1.41, 0.005, "Is");
      close(listenerEchoImpairment(0), 0.15, 0.005, "Idle");
      close(talkerEchoImpairment(0), 0, 1e-12, "Idte");
    });

    it("Idd: none up to 100 ms, then 25 {(1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6) + 2}, X = log2(Ta/100)", () => {
      assert.equal(absoluteDelayImpairment(0), 0);
      assert.equal(absoluteDelayImpairment(100), 0);
      // X = log2(1.2) = 0.263: 25 ((1 + 0.263^6)^(1/6) - 3 + 2) = 0.0014 (tiny but present).
      close(absoluteDelayImpairment(120), 0.0014, 0.0002, "120 ms");
      close(absoluteDelayImpairment(200), 3.044, 0.001, "200 ms (X = 1)");
      close(absoluteDelayImpairment(400), 24.07, 0.001, "400 ms (X = 2)");
    });

    it("Id is the sum of its terms with T = Ta and Tr = 2 T", () => {
      for (const d of [0, 50, 150, 300]) {
        close(delayImpairment(d), talkerEchoImpairment(d) + listenerEchoImpairment(2 * d) + absoluteDelayImpairment(d), 1e-12, `${d} ms`);
      }
      // Talker echo with TELR 65 dB at 150 ms: TERV = 65 - 40 log10(16/2) = 28.88, Re = 117.2, Idte = 2.81.
      close(talkerEchoImpairment(150), 2.81, 0.01, "Idte(150)");
      // Listener echo at Tr = 300 ms: Rle = 10.5 * 117 * 301^-0.25 = 294.9, Idle = 0.84.
      close(listenerEchoImpairment(300), 0.84, 0.01, "Idle(300)");
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
