// In-band detector against ITU-T Q.24 style acceptance/rejection edges, over
// signals round-tripped through G.711 mu-law and A-law.
import assert from "node:assert/strict";
import { DTMF_DIGITS } from "../../../src/types.js";
import { InbandDtmfDetector } from "../../../src/dtmf/inband-detector.js";
import { dbm0ToPower } from "../../../src/dtmf/levels.js";
import { dtmfFrequencies, generateDtmfTone, generateDualTone } from "../../../src/dtmf/tone-generator.js";
import { LAWS, addNoise, concat, detect, digitsOf, g711, ms, rng, silence, type Law } from "./signals.js";

interface ToneCase {
  lowHz: number;
  highHz: number;
  lowDbm0?: number;
  highDbm0?: number;
  durationMs?: number;
  /** Silence before the tone, samples. */
  lead?: number;
  seed?: number;
}

/** One tone between silences, G.711 coded, with random start phases. */
function toneSignal(c: ToneCase, law: Law): Int16Array {
  const rand = rng(c.seed ?? 1);
  const tone = generateDualTone({
    lowHz: c.lowHz,
    highHz: c.highHz,
    samples: ms(c.durationMs ?? 60),
    lowDbm0: c.lowDbm0 ?? -10,
    highDbm0: c.highDbm0 ?? -10,
    lowPhase: 2 * Math.PI * rand(),
    highPhase: 2 * Math.PI * rand(),
  });
  return g711(concat(silence(c.lead ?? 237), tone, silence(ms(100))), law);
}

function detectTone(c: ToneCase, law: Law) {
  return detect(toneSignal(c, law));
}

describe("dtmf/inband-detector", () => {
  for (const law of LAWS) {
    describe(`over G.711 ${law}`, () => {
      it("detects all 16 digits once at nominal frequencies, with onset and measured values", () => {
        for (const digit of DTMF_DIGITS) {
          const { lowHz, highHz } = dtmfFrequencies(digit);
          const found = detectTone({ lowHz, highHz, lowDbm0: -10, highDbm0: -8, lead: 237 }, law);
          assert.equal(digitsOf(found), digit);
          const d = found[0];
          assert.ok(Math.abs(d.onsetSample - 237) <= 16, `${digit}: onset ${d.onsetSample}`);
          assert.ok(Math.abs(d.lowHz - lowHz) < 2, `${digit}: low ${d.lowHz}`);
          assert.ok(Math.abs(d.highHz - highHz) < 2, `${digit}: high ${d.highHz}`);
          assert.ok(Math.abs(d.lowDbm0 + 10) < 0.5, `${digit}: low level ${d.lowDbm0}`);
          assert.ok(Math.abs(d.twistDb - 2) < 0.5, `${digit}: twist ${d.twistDb}`);
          // Detected within ~40 ms of onset.
          assert.ok(d.detectedAtSample - d.onsetSample <= ms(45), `${digit}: latency`);
        }
      });

      it("accepts a frequency deviation of +-1.5 % on either or both tones", () => {
        for (const digit of DTMF_DIGITS) {
          const { lowHz, highHz } = dtmfFrequencies(digit);
          for (const [dl, dh] of [
            [0.015, 0.015],
            [-0.015, -0.015],
            [0.015, -0.015],
            [-0.015, 0.015],
          ]) {
            const found = detectTone({ lowHz: lowHz * (1 + dl), highHz: highHz * (1 + dh) }, law);
            assert.equal(digitsOf(found), digit, `${digit} at ${dl * 100} % / ${dh * 100} %`);
          }
        }
      });

      it("rejects a deviation of +-3.5 % on either tone", () => {
        for (const digit of DTMF_DIGITS) {
          const { lowHz, highHz } = dtmfFrequencies(digit);
          for (const dev of [0.035, -0.035]) {
            for (const [l, h] of [
              [lowHz * (1 + dev), highHz],
              [lowHz, highHz * (1 + dev)],
              [lowHz * (1 + dev), highHz * (1 + dev)],
            ]) {
              const found = detectTone({ lowHz: l, highHz: h }, law);
              assert.equal(digitsOf(found), "", `${digit} with ${l.toFixed(1)} + ${h.toFixed(1)} Hz`);
            }
          }
        }
      });

      it("accepts twist +4 dB (high stronger) and -8 dB (low stronger), rejects +6 and -10 dB", () => {
        for (const digit of DTMF_DIGITS) {
          const { lowHz, highHz } = dtmfFrequencies(digit);
          const at = (twist: number) => detectTone({ lowHz, highHz, lowDbm0: -12 - twist / 2, highDbm0: -12 + twist / 2 }, law);
          for (const ok of [4, -8]) {
            const found = at(ok);
            assert.equal(digitsOf(found), digit, `${digit} twist ${ok}`);
            assert.ok(Math.abs(found[0].twistDb - ok) < 0.5, `${digit} measured twist ${found[0].twistDb}`);
          }
          for (const bad of [6, -10]) assert.equal(digitsOf(at(bad)), "", `${digit} twist ${bad}`);
        }
      });

      it("detects -25 dBm0 per tone and ignores -35 dBm0", () => {
        for (const digit of DTMF_DIGITS) {
          const { lowHz, highHz } = dtmfFrequencies(digit);
          const found = detectTone({ lowHz, highHz, lowDbm0: -25, highDbm0: -25 }, law);
          assert.equal(digitsOf(found), digit);
          assert.ok(Math.abs(found[0].lowDbm0 + 25) < 1, `level ${found[0].lowDbm0}`);
          assert.equal(digitsOf(detectTone({ lowHz, highHz, lowDbm0: -35, highDbm0: -35 }, law)), "");
        }
      });

      it("detects 40 ms tones at every alignment and rejects 20 ms and shorter", () => {
        const digits = "159D";
        for (let lead = 200; lead < 240; lead++) {
          const digit = digits[lead % digits.length];
          const { lowHz, highHz } = dtmfFrequencies(digit);
          const c = { lowHz, highHz, lead, seed: lead };
          assert.equal(digitsOf(detectTone({ ...c, durationMs: 40 }, law)), digit, `40 ms at lead ${lead}`);
          for (const short of [20, 15, 10, 5]) {
            assert.equal(digitsOf(detectTone({ ...c, durationMs: short }, law)), "", `${short} ms at lead ${lead}`);
          }
        }
      });

      it("detects every digit in white noise at 15 dB SNR (per tone) without extra digits", () => {
        const keys = "123A456B789C*0#D";
        for (let seed = 1; seed <= 5; seed++) {
          const parts: Int16Array[] = [silence(ms(60))];
          for (const k of keys) parts.push(generateDtmfTone(k, 50, { levelDbm0: -20, twistDb: 0 }), silence(ms(50)));
          const noisy = addNoise(concat(...parts), dbm0ToPower(-20) / Math.pow(10, 15 / 10), seed);
          assert.equal(digitsOf(detect(g711(noisy, law))), keys, `seed ${seed}`);
        }
      });

      it("reports nothing for 10 s of white noise", () => {
        const noise = addNoise(silence(ms(10_000)), dbm0ToPower(-15), 99);
        assert.equal(digitsOf(detect(g711(noise, law))), "");
      });

      it("separates digits with 40 ms pauses, including repeated keys", () => {
        const keys = "1234567890*#ABCD55500#";
        for (const toneMs of [40, 50, 70]) {
          const parts: Int16Array[] = [silence(ms(33))];
          const onsets: number[] = [];
          let at = ms(33);
          for (const k of keys) {
            onsets.push(at);
            const tone = generateDtmfTone(k, toneMs, { levelDbm0: -12, twistDb: 1 });
            parts.push(tone, silence(ms(40)));
            at += tone.length + ms(40);
          }
          const found = detect(g711(concat(...parts), law));
          assert.equal(digitsOf(found), keys, `${toneMs} ms tones`);
          found.forEach((d, i) => assert.ok(Math.abs(d.onsetSample - onsets[i]) <= 24, `onset ${i}: ${d.onsetSample} vs ${onsets[i]}`));
        }
      });
    });
  }

  it("bridges a 10 ms interruption within one tone", () => {
    const a = generateDtmfTone("8", 80);
    const b = generateDtmfTone("8", 80);
    assert.equal(digitsOf(detect(g711(concat(silence(100), a, silence(ms(10)), b, silence(800)), "alaw"))), "8");
  });

  it("reports a key held for 3 s once", () => {
    assert.equal(digitsOf(detect(concat(generateDtmfTone("0", 3000), silence(800)))), "0");
  });

  it("gives identical results for any chunking", () => {
    const parts: Int16Array[] = [silence(17)];
    for (const k of "90#*7") parts.push(generateDtmfTone(k, 45), silence(ms(45)));
    const sig = g711(concat(...parts), "mulaw");
    const ref = detect(sig, 160);
    assert.equal(digitsOf(ref), "90#*7");
    for (const chunk of [1, 7, 40, 333, [160, 3, 80, 1, 401]]) {
      assert.deepEqual(detect(sig, chunk), ref, `chunk ${JSON.stringify(chunk)}`);
    }
  });

  it("reset() forgets a half-seen tone and restarts sample offsets", () => {
    const det = new InbandDtmfDetector();
    const tone = generateDtmfTone("3", 50);
    // 25 ms of tone, reset, then the other 25 ms: neither half is long enough alone.
    assert.deepEqual(det.process(concat(silence(500), tone.subarray(0, 200))), []);
    det.reset();
    assert.deepEqual(det.process(concat(tone.subarray(200), silence(400))), []);
    const found = det.process(concat(silence(100), tone, silence(400)));
    assert.equal(digitsOf(found), "3");
    assert.ok(Math.abs(found[0].onsetSample - (200 + 400 + 100)) <= 16, `onset ${found[0].onsetSample}`);
  });

  it("takes shortcuts without changing a verdict, even at the acceptance edges", () => {
    // The group gate's bound is tightest where three limits meet: the largest twist one way, the largest
    // frequency offset of that group's tone, and just enough noise to bring the tones' share of the
    // power to 0.85. Pairs there (and random ones) must give the same digits with shortcuts and without.
    const rand = rng(4242);
    const between = (a: number, b: number) => a + (b - a) * rand();
    const parts: Int16Array[] = [];
    for (let i = 0; i < 600; i++) {
      const { lowHz, highHz } = dtmfFrequencies(DTMF_DIGITS[i % 16]);
      const edge = i % 3; // 0: normal-twist edge (low group), 1: reverse-twist edge (high group), 2: anywhere
      const twist = edge === 0 ? between(4.3, 5.2) : edge === 1 ? between(-9.2, -8.3) : between(-10, 6);
      const offset = () => (rand() < 0.5 ? -1 : 1) * between(0.018, 0.026);
      const lowOffset = edge === 0 ? offset() : between(-0.03, 0.03);
      const highOffset = edge === 1 ? offset() : between(-0.03, 0.03);
      const lowDbm0 = edge === 1 ? between(-8, -4) : between(-14, -8);
      const tone = generateDualTone({
        lowHz: lowHz * (1 + lowOffset),
        highHz: highHz * (1 + highOffset),
        lowDbm0,
        highDbm0: lowDbm0 + twist,
        samples: ms(60),
      });
      const tones = dbm0ToPower(lowDbm0) + dbm0ToPower(lowDbm0 + twist);
      const share = edge === 2 ? between(0.7, 1) : between(0.84, 0.93);
      parts.push(addNoise(tone, tones * (1 / share - 1), i), silence(ms(60)));
    }
    const sig = concat(...parts);
    const gated = detect(sig, 160);
    const full = detect(sig, 160, { shortcuts: false });
    assert.deepEqual(gated, full);
    // Enough pairs on both sides of the limits that the comparison means something.
    assert.ok(full.length > 80 && full.length < 500, `${full.length} digits of 600 pairs`);
  });

  it("skips idle hops without losing a tone at the shortest durations and pauses", () => {
    // Tones of 36-46 ms (around Q.24's 40 ms must-detect) after pauses of 24-44 ms, at every offset
    // against the hop grid, so the first tone hop falls on analysed and skipped hops alike.
    const rand = rng(77);
    const parts: Int16Array[] = [silence(13)];
    for (let i = 0; i < 300; i++) {
      parts.push(generateDtmfTone(DTMF_DIGITS[(i * 7) % 16], 36 + 10 * rand(), { levelDbm0: -10 - 15 * rand() }));
      parts.push(silence(Math.round(ms(24 + 20 * rand())) + (i % 40)));
    }
    const sig = g711(concat(...parts), "alaw");
    for (const chunk of [160, 37]) {
      const fast = detect(sig, chunk);
      const full = detect(sig, chunk, { shortcuts: false });
      assert.deepEqual(fast, full, `chunk ${chunk}`);
      assert.ok(full.length > 150, `${full.length} digits of 300 tones`);
    }
    // A single positive hop is a digit with minOnHops 1: then no hop may be skipped.
    assert.deepEqual(detect(sig, 160, { minOnHops: 1 }), detect(sig, 160, { minOnHops: 1, shortcuts: false }));
  });
});
