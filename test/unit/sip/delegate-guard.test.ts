import assert from "assert";
import { guardDelegate } from "../../../src/sip/delegate-guard";

describe("sip.js delegate guard", () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  before(() => process.on("unhandledRejection", onUnhandled));
  after(() => process.off("unhandledRejection", onUnhandled));

  it("a throwing or rejecting delegate is reported, its request answered 500, nothing escapes", async () => {
    const logs: string[] = [];
    const rejected: Array<number | undefined> = [];
    const request = {
      reject: (o?: { statusCode?: number }) => {
        rejected.push(o?.statusCode);
        return Promise.reject(new Error("already final"));
      },
    };
    const d = guardDelegate(
      {
        onInvite: (_inv: unknown) => {
          throw new URIError("URI malformed");
        },
        onMessage: async (_m: unknown) => {
          throw new Error("async failure");
        },
        onOk: (x: number) => x * 2,
      },
      (t) => logs.push(t),
    )!;
    // sip.js calls onInvite inside a .then() without a catch: simulate exactly that.
    await Promise.resolve().then(() => d.onInvite(request));
    await Promise.resolve().then(() => d.onMessage(request));
    await new Promise((r) => setImmediate(r));
    assert.strictEqual(d.onOk(21), 42, "working delegates keep working");
    assert.deepStrictEqual(rejected, [500, 500]);
    assert.strictEqual(logs.length, 2);
    assert.match(logs[0], /onInvite.*URI malformed/);
    assert.deepStrictEqual(unhandled, []);
  });
});
