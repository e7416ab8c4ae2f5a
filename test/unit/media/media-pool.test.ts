// The media worker pool: the count from SIP_CLIENT_MEDIA_WORKERS, and each call's media in the least loaded worker.
import assert from "assert";
import { MediaPool, mediaWorkerCount, MEDIA_WORKERS_DEFAULT, MEDIA_WORKERS_MAX, MEDIA_WORKER_SPLIT_AT } from "../../../src/media/worker/media-pool";
import type { MediaHost } from "../../../src/media/worker/media-host";
import type { RtpMedia, RtpMediaOptions } from "../../../src/media/worker/media-stream";

/** A host that only counts what it was given. */
class FakeHost {
  load = 0;
  opened = 0;
  running = false;
  open(_o: RtpMediaOptions): Promise<RtpMedia> {
    this.load++;
    this.opened++;
    return Promise.resolve({} as RtpMedia);
  }
}

describe("media worker pool", () => {
  it("reads the worker count from the environment's text, within 1..MEDIA_WORKERS_MAX", () => {
    assert.strictEqual(mediaWorkerCount(undefined), MEDIA_WORKERS_DEFAULT);
    assert.strictEqual(mediaWorkerCount(""), MEDIA_WORKERS_DEFAULT);
    assert.strictEqual(mediaWorkerCount("2"), 2);
    assert.strictEqual(mediaWorkerCount(" 3 "), 3);
    for (const bad of ["0", "-1", "1.5", "many", String(MEDIA_WORKERS_MAX + 1)])
      assert.strictEqual(mediaWorkerCount(bad), MEDIA_WORKERS_DEFAULT, bad);
  });

  it("keeps calls in one worker up to MEDIA_WORKER_SPLIT_AT, then starts the next and balances", async () => {
    const hosts: FakeHost[] = [];
    const pool = new MediaPool(2, () => {
      const h = new FakeHost();
      hosts.push(h);
      return h as unknown as MediaHost;
    });
    assert.strictEqual(pool.workers, 2);
    const open = async (n: number) => {
      for (let i = 0; i < n; i++) await pool.open({} as RtpMediaOptions);
    };
    await open(MEDIA_WORKER_SPLIT_AT);
    assert.deepStrictEqual(
      hosts.map((h) => h.load),
      [MEDIA_WORKER_SPLIT_AT, 0],
      "a small installation uses one worker",
    );
    await open(1);
    assert.deepStrictEqual(
      hosts.map((h) => h.load),
      [MEDIA_WORKER_SPLIT_AT, 1],
    );
    await open(MEDIA_WORKER_SPLIT_AT + 1);
    assert.deepStrictEqual(
      hosts.map((h) => h.load),
      [MEDIA_WORKER_SPLIT_AT + 1, MEDIA_WORKER_SPLIT_AT + 1],
      "then the least loaded",
    );
    hosts[0].load = 0; // its calls ended: the other one carries on alone
    await open(2);
    assert.deepStrictEqual(
      hosts.map((h) => h.load),
      [2, MEDIA_WORKER_SPLIT_AT + 1],
    );
  });

  it("with the default count, a third and fourth worker start only past 2 and 3 times MEDIA_WORKER_SPLIT_AT calls", async () => {
    assert.strictEqual(MEDIA_WORKERS_DEFAULT, 4);
    const hosts: FakeHost[] = [];
    const pool = new MediaPool(MEDIA_WORKERS_DEFAULT, () => {
      const h = new FakeHost();
      hosts.push(h);
      return h as unknown as MediaHost;
    });
    const open = async (n: number) => {
      for (let i = 0; i < n; i++) await pool.open({} as RtpMediaOptions);
    };
    const busy = () => hosts.filter((h) => h.load > 0).length;
    await open(2 * MEDIA_WORKER_SPLIT_AT);
    assert.strictEqual(busy(), 2);
    await open(MEDIA_WORKER_SPLIT_AT);
    assert.strictEqual(busy(), 3);
    await open(1000 - 3 * MEDIA_WORKER_SPLIT_AT);
    assert.deepStrictEqual(
      hosts.map((h) => h.load),
      [250, 250, 250, 250],
      "1000 calls: four workers of 250",
    );
  });
});
