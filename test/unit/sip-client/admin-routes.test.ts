// The editor's admin endpoints with a fake RED.httpAdmin: the TTS preview needs the write
// permission, and its queue is bounded (429 beyond, with a clear text).
import assert from "assert";
import {
  PREVIEW_MAX_CONCURRENT,
  PREVIEW_MAX_QUEUE,
  PreviewLimiter,
  registerAdminRoutes,
  TEST_NUMBER_MAX,
} from "../../../nodes/sip-client/admin-routes";

type Handler = (req: any, res: any, next?: () => void) => unknown;

function fakeRed() {
  const routes = new Map<string, Handler[]>();
  const permissions: string[] = [];
  const RED = {
    httpAdmin: {
      get: (path: string, ...handlers: Handler[]) => {
        routes.set(path, handlers);
      },
    },
    auth: {
      needsPermission: (name: string) => {
        permissions.push(name);
        const h: Handler = (req, res, next) => {
          if (req.user?.permissions?.includes(name)) return next!();
          res.status(401).json({ error: "unauthorized" });
        };
        (h as any).permission = name;
        return h;
      },
    },
  };
  return { RED, routes, permissions };
}

function fakeRes() {
  const res: any = { statusCode: 200, headers: {} as Record<string, string>, body: undefined as unknown };
  res.done = new Promise<void>((resolve) => {
    res.finish = resolve;
  });
  res.status = (c: number) => {
    res.statusCode = c;
    return res;
  };
  res.json = (b: unknown) => {
    res.body = b;
    res.finish();
    return res;
  };
  res.send = (b: unknown) => {
    res.body = b;
    res.finish();
    return res;
  };
  res.set = (k: string, v: string) => {
    res.headers[k.toLowerCase()] = v;
    return res;
  };
  return res;
}

/** Runs the middleware chain like express does. */
async function call(handlers: Handler[], req: any): Promise<any> {
  const res = fakeRes();
  let i = 0;
  const next = () => {
    const h = handlers[i++];
    if (h) void h(req, res, next);
  };
  next();
  await res.done;
  return res;
}

describe("sip-client admin routes", () => {
  it("the TTS preview requires sip-client.write, the state endpoint only read", async () => {
    const { RED, routes } = fakeRed();
    registerAdminRoutes(RED, { getSpeech: () => ({ synthesize: async () => new Int16Array(80), languages: () => [] }), getState: () => null });
    const preview = routes.get("/sip-client/tts/preview")!;
    assert.strictEqual((preview[0] as any).permission, "sip-client.write");
    assert.strictEqual((routes.get("/sip-client/:id/state")![0] as any).permission, "sip-client.read");
    const q = { text: "hello", language: "en-US" };
    const reader = await call(preview, { query: q, user: { permissions: ["sip-client.read"] } });
    assert.strictEqual(reader.statusCode, 401, "a read-only user gets no preview");
    const writer = await call(preview, { query: q, user: { permissions: ["sip-client.write"] } });
    assert.strictEqual(writer.statusCode, 200);
    assert.strictEqual(writer.headers["content-type"], "audio/wav");
  });

  it("bounds concurrent and queued previews: 429 with a readable reason beyond", async () => {
    const { RED, routes } = fakeRed();
    const pending: Array<() => void> = [];
    let started = 0;
    const speech = {
      synthesize: () => {
        started++;
        return new Promise<Int16Array>((r) => pending.push(() => r(new Int16Array(80))));
      },
      languages: () => [],
    };
    registerAdminRoutes(RED, { getSpeech: () => speech, getState: () => null });
    const preview = routes.get("/sip-client/tts/preview")!;
    const req = { query: { text: "hello", language: "en-US" }, user: { permissions: ["sip-client.write"] } };
    const total = PREVIEW_MAX_CONCURRENT + PREVIEW_MAX_QUEUE;
    const accepted = Array.from({ length: total }, () => call(preview, req));
    const refused = await call(preview, req);
    assert.strictEqual(refused.statusCode, 429);
    assert.match(refused.body.message, /too many previews/);
    assert.ok(refused.headers["retry-after"]);
    assert.strictEqual(started, PREVIEW_MAX_CONCURRENT, "only the allowed number synthesizes at once");
    // Finishing the running jobs lets the queued ones run, one slot at a time.
    while (pending.length) {
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(accepted);
    assert.ok(results.every((r) => r.statusCode === 200));
    assert.strictEqual(started, total);
  });

  it("a failing job frees its slot", async () => {
    const lim = new PreviewLimiter(1, 0);
    await assert.rejects(
      lim.run(() => Promise.reject(new Error("engine broke")))!,
      /engine broke/,
    );
    assert.strictEqual(lim.active, 0);
    assert.strictEqual(await lim.run(async () => 7), 7);
  });

  it("a response that fails to send (editor gone) is no unhandled rejection (it would stop Node-RED)", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const { RED, routes } = fakeRed();
      registerAdminRoutes(RED, { getSpeech: () => ({ synthesize: async () => new Int16Array(80), languages: () => [] }), getState: () => null });
      const res = fakeRes();
      res.json = () => {
        throw new Error("socket closed");
      };
      const [check, handler] = routes.get("/sip-client/tts/languages")!;
      check({ user: { permissions: ["sip-client.read"] } }, res, () => handler({}, res));
      await new Promise((r) => setTimeout(r, 20));
      assert.deepStrictEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("Diagnose: ?testCall=1 asks for the test call, to ?number= when given (bounded), else to the account itself", async () => {
    const { RED } = fakeRed();
    const posts = new Map<string, Handler[]>();
    (RED.httpAdmin as any).post = (path: string, ...handlers: Handler[]) => posts.set(path, handlers);
    const asked: unknown[] = [];
    registerAdminRoutes(RED, {
      getSpeech: () => ({ synthesize: async () => new Int16Array(80), languages: () => [] }),
      getState: () => null,
      diagnose: (_id, _language, testCall) => {
        asked.push(testCall);
        return Promise.resolve({ level: "ok" });
      },
    });
    const route = posts.get("/sip-client/:id/diagnose")!;
    assert.strictEqual((route[0] as any).permission, "sip-client.write", "a test call places a call: write permission");
    const user = { permissions: ["sip-client.write"] };
    for (const query of [
      {},
      { testCall: "1" },
      { testCall: "1", number: " *43 " },
      { testCall: "0", number: "621" },
      { testCall: "1", number: "9".repeat(500) },
    ])
      await call(route, { params: { id: "acct" }, query, user });
    assert.deepStrictEqual(asked, [undefined, true, "*43", undefined, "9".repeat(TEST_NUMBER_MAX)]);
  });
});
