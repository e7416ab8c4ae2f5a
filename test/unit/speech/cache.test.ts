import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { decodeCacheFile, encodeCacheFile, SpeechCache, speechCacheKey } from "../../../src/speech/cache";
import { makeTmpDir } from "./helpers";

const pcm = (n: number, seed = 1): Int16Array => Int16Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 104729) % 65536) - 32768);

describe("speech/cache", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTmpDir("tts-cache-test-");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("derives a sha256 key that ignores property order and sees every part", () => {
    const a = speechCacheKey({ engine: "pico", language: "en-US", text: "hi", opts: { x: 1, y: 2 } });
    const b = speechCacheKey({ opts: { y: 2, x: 1 }, text: "hi", language: "en-US", engine: "pico" });
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.strictEqual(a, b);
    for (const changed of [{ text: "Hi" }, { language: "en-GB" }, { engine: "command" }, { opts: { x: 1, y: 3 } }]) {
      assert.notStrictEqual(speechCacheKey({ engine: "pico", language: "en-US", text: "hi", opts: { x: 1, y: 2 }, ...changed }), a);
    }
  });

  it("hits in memory and hands out copies", async () => {
    const cache = new SpeechCache();
    const key = speechCacheKey({ t: 1 });
    assert.strictEqual(await cache.get(key), undefined);
    const data = pcm(100);
    await cache.set(key, data);
    data[0] = 42; // the caller's array is not the cached one
    const got = await cache.get(key);
    assert.deepStrictEqual(got, pcm(100));
    got[1] = 42;
    assert.deepStrictEqual(await cache.get(key), pcm(100));
  });

  it("evicts least recently used entries to stay within its byte budget", async () => {
    const cache = new SpeechCache({ maxMemoryBytes: 3000 });
    const [k1, k2, k3] = [1, 2, 3].map((i) => speechCacheKey({ i }));
    await cache.set(k1, pcm(500)); // 1000 bytes each
    await cache.set(k2, pcm(500));
    await cache.get(k1); // k2 is now the oldest
    await cache.set(k3, pcm(600)); // 1200 bytes: k2 must go
    assert.ok(cache.memoryBytes <= 3000);
    assert.ok(await cache.get(k1));
    assert.strictEqual(await cache.get(k2), undefined);
    assert.ok(await cache.get(k3));
    await cache.set(speechCacheKey({ big: true }), pcm(2000)); // larger than the budget: not kept in memory
    assert.ok(cache.memoryBytes <= 3000);
  });

  it("hits on disk from a new instance, written atomically", async () => {
    const key = speechCacheKey({ text: "persist me" });
    const sub = path.join(dir, "nested", "tts");
    assert.strictEqual(await new SpeechCache({ dir: sub }).set(key, pcm(1234, 5)), undefined);
    assert.deepStrictEqual(fs.readdirSync(sub), [`${key}.pcm`], "no temp files left");
    const fresh = new SpeechCache({ dir: sub });
    assert.deepStrictEqual(await fresh.get(key), pcm(1234, 5));
    assert.strictEqual(fresh.memoryEntries, 1, "disk hit is kept in memory");
  });

  it("ignores corrupt files and overwrites them", async () => {
    const key = speechCacheKey({ text: "corrupt" });
    const file = path.join(dir, `${key}.pcm`);
    const good = encodeCacheFile(pcm(300));
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] ^= 1;
    const corruptions = [Buffer.alloc(0), Buffer.from("garbage"), good.subarray(0, good.length - 2), flipped, Buffer.concat([good, Buffer.alloc(2)])];
    for (const bad of corruptions) {
      assert.strictEqual(decodeCacheFile(bad), undefined);
      fs.writeFileSync(file, bad);
      assert.strictEqual(await new SpeechCache({ dir }).get(key), undefined);
    }
    await new SpeechCache({ dir }).set(key, pcm(300));
    assert.deepStrictEqual(await new SpeechCache({ dir }).get(key), pcm(300));
  });

  it("reports, but does not throw, when the directory cannot be written", async () => {
    const blocker = path.join(dir, "file");
    fs.writeFileSync(blocker, "x");
    const cache = new SpeechCache({ dir: path.join(blocker, "sub") });
    const key = speechCacheKey({ t: 2 });
    const err = await cache.set(key, pcm(10));
    assert.ok(err instanceof Error);
    assert.deepStrictEqual(await cache.get(key), pcm(10), "still cached in memory");
  });

  it("refuses keys that are not hashes (no path tricks)", async () => {
    await assert.rejects(new SpeechCache({ dir }).get("../../etc/passwd"), /Invalid speech cache key/);
  });
});
