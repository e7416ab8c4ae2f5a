// The simulator's admin endpoints with a fake RED: write permission on each, 404 when the account is
// not deployed, 409 when it is not started, 400 with the core's error text on bad input; the editor
// gets the call's states, keys and audio (base64 PCM) on the account's comms topic.
import assert from "assert";
import { EventEmitter } from "events";
import { registerSimulatorRoutes, SIMULATOR_TOPIC_PREFIX } from "../../../nodes/sip-client/simulator-routes";

type Handler = (req: any, res: any, next?: () => void) => unknown;

function fakeRed() {
  const routes = new Map<string, Handler[]>();
  const published: Array<{ topic: string; data: any }> = [];
  const RED = {
    httpAdmin: {
      post: (path: string, ...handlers: Handler[]) => {
        routes.set(path, handlers);
      },
    },
    auth: {
      needsPermission: (name: string) => {
        const h: Handler = (req, res, next) => {
          if (req.user?.permissions?.includes(name)) return next!();
          res.status(401).json({ error: "unauthorized" });
        };
        return h;
      },
    },
    comms: { publish: (topic: string, data: unknown) => published.push({ topic, data }) },
  };
  return { RED, routes, published };
}

async function call(handlers: Handler[], req: any): Promise<any> {
  const res: any = { statusCode: 200 };
  const done = new Promise<void>((resolve) => {
    res.status = (c: number) => {
      res.statusCode = c;
      return res;
    };
    res.json = (b: unknown) => {
      res.body = b;
      resolve();
      return res;
    };
  });
  let i = 0;
  const next = () => {
    const h = handlers[i++];
    if (h) void h(req, res, next);
  };
  next();
  await done;
  return res;
}

const writer = { permissions: ["sip-client.write"] };

/** A Softphone as far as the routes use it. */
class FakePhone extends EventEmitter {
  keys: string[] = [];
  simulateCall(c: { from: string }) {
    if (!/^\d+$/.test(c.from)) throw new Error("simulate: the caller's number must be digits");
    return { id: "c1", state: "RINGING", simulated: true };
  }
  simulateDigit(id: string, key: string) {
    if (id !== "c1") throw new Error("no active simulated call with id " + id);
    this.keys.push(key);
  }
  simulateHangup() {
    return Promise.resolve();
  }
}

describe("simulator admin routes", () => {
  it("need the write permission; 404 not deployed, 409 not started, 400 bad input", async () => {
    const { RED, routes } = fakeRed();
    const phone = new FakePhone();
    registerSimulatorRoutes(RED, { phone: (id) => (id === "acct" ? (phone as never) : id === "idle" ? undefined : null) });
    const start = routes.get("/sip-client/:id/simulate")!;
    assert.strictEqual((await call(start, { params: { id: "acct" }, query: { from: "1" } })).statusCode, 401);
    assert.strictEqual((await call(start, { user: writer, params: { id: "nope" }, query: { from: "1" } })).statusCode, 404);
    assert.strictEqual((await call(start, { user: writer, params: { id: "idle" }, query: { from: "1" } })).statusCode, 409);
    const bad = await call(start, { user: writer, params: { id: "acct" }, query: { from: "x" } });
    assert.strictEqual(bad.statusCode, 400);
    assert.match(bad.body.message, /digits/);
    const ok = await call(start, { user: writer, params: { id: "acct" }, query: { from: "5551234" } });
    assert.strictEqual(ok.statusCode, 200);
    assert.strictEqual(ok.body.call.simulated, true);
    assert.strictEqual(ok.body.topic, SIMULATOR_TOPIC_PREFIX + "acct");
    const key = routes.get("/sip-client/:id/simulate/:call/key")!;
    assert.strictEqual((await call(key, { params: { id: "acct", call: "c1" }, query: { key: "5" } })).statusCode, 401);
    assert.strictEqual((await call(key, { user: writer, params: { id: "acct", call: "c1" }, query: { key: "5" } })).statusCode, 200);
    assert.strictEqual((await call(key, { user: writer, params: { id: "acct", call: "zz" }, query: { key: "5" } })).statusCode, 400);
    assert.deepStrictEqual(phone.keys, ["5"]);
    const hang = routes.get("/sip-client/:id/simulate/:call/hangup")!;
    assert.strictEqual((await call(hang, { user: writer, params: { id: "acct", call: "c1" } })).statusCode, 200);
  });

  it("publishes only simulated calls' states, keys and audio, once per account", async () => {
    const { RED, routes, published } = fakeRed();
    const phone = new FakePhone();
    registerSimulatorRoutes(RED, { phone: () => phone as never });
    const start = routes.get("/sip-client/:id/simulate")!;
    await call(start, { user: writer, params: { id: "acct" }, query: { from: "1" } });
    await call(start, { user: writer, params: { id: "acct" }, query: { from: "2" } });
    phone.emit("call", "RINGING", { id: "real", state: "RINGING" });
    phone.emit("call", "RINGING", { id: "c1", state: "RINGING", simulated: true });
    phone.emit("dtmf", "7", "simulated", { id: "c1", simulated: true });
    phone.emit("simulatedAudio", Int16Array.from([1, -1]), { id: "c1", simulated: true });
    assert.deepStrictEqual(
      published.map((p) => p.data.kind),
      ["state", "key", "audio"],
    );
    assert.ok(published.every((p) => p.topic === SIMULATOR_TOPIC_PREFIX + "acct"));
    assert.strictEqual(published[2].data.pcm, Buffer.from([1, 0, 0xff, 0xff]).toString("base64"));
  });
});
