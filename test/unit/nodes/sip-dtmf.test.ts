// The sip-dtmf node as an adapter: the keypad menu reaches calls only through the Softphone's
// methods (by id), its events leave as the typed messages of nodes/shared/messages.ts, in order
// and with their exact shapes, and its input is parsed there. A fake Node-RED and a fake
// Softphone (the real menu, code guard and message builders) keep this fast and deterministic.
import assert from "assert";
import { EventEmitter } from "events";
import type { CallInfo, PlaybackHandle, SayOptions } from "../../../src";
import sipDtmf from "../../../nodes/sip-dtmf/sip-dtmf";

/** A Softphone as the node uses it: calls by id, playback handles settled by the test. */
class FakePhone extends EventEmitter {
  readonly calls = new Map<string, { info: CallInfo; playing: boolean }>();
  readonly said: Array<{ id: string; text: string; options: SayOptions; finish: () => void }> = [];
  readonly hungUp: Array<{ id: string; reason?: string }> = [];
  stops = 0;
  private seq = 0;

  call(id: string): CallInfo | undefined {
    const c = this.calls.get(id);
    return c && c.info.state !== "ENDED" ? { ...c.info } : undefined;
  }
  isPlaying(id: string): boolean {
    return !!this.calls.get(id)?.playing;
  }
  stopPlayback(id: string): void {
    this.stops += 1;
    const c = this.calls.get(id);
    if (c) c.playing = false;
  }
  say(id: string, text: string, options: SayOptions = {}): Promise<PlaybackHandle> {
    const c = this.calls.get(id);
    if (!c || c.info.state === "ENDED") return Promise.reject(new Error(`no active call with id ${id}`));
    c.playing = true;
    let settle!: (interrupted: boolean) => void;
    const finished = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    this.said.push({
      id,
      text,
      options,
      finish: () => {
        c.playing = false;
        settle(false);
      },
    });
    return Promise.resolve({ id: ++this.seq, label: text, finished });
  }
  hangup(id: string, end: { reason?: string } = {}): Promise<void> {
    this.hungUp.push({ id, reason: end.reason });
    return Promise.resolve();
  }

  /** An inbound call from `number`, answered. */
  answer(id: string, number: string): CallInfo {
    const info: CallInfo = {
      id,
      direction: "inbound",
      state: "ANSWERED",
      startedAt: "2026-01-01T00:00:00.000Z",
      from: { number, name: "", uri: `sip:${number}@127.0.0.1` },
      to: { number: "620", name: "", uri: "sip:620@127.0.0.1" },
    };
    this.calls.set(id, { info, playing: false });
    this.emit("call", "ANSWERED", { ...info });
    return info;
  }
  keys(info: CallInfo, keys: string): void {
    for (const k of keys) this.emit("dtmf", k, "rfc4733", { ...info });
  }
  end(info: CallInfo): void {
    const c = this.calls.get(info.id);
    if (c) c.info.state = "ENDED";
    this.emit("call", "ENDED", { ...info, state: "ENDED" });
  }
}

type Sent = Array<Record<string, unknown> | null>;
type TestNode = EventEmitter & { id: string; sent: Sent[]; statuses: Array<{ text?: string }>; warnings: string[] };

/** A sip-dtmf node in a fake Node-RED whose account is online with `phone`. */
function makeNode(phone: FakePhone, config: Record<string, unknown>): TestNode {
  let ctor: ((this: TestNode, config: Record<string, unknown>) => void) | undefined;
  const client = {
    register(user: { onPhone?(p: unknown): void }) {
      user.onPhone?.(phone);
    },
    deregister() {
      /* nothing held */
    },
  };
  const RED = {
    settings: {},
    nodes: {
      createNode(node: TestNode, cfg: { id: string }) {
        node.id = cfg.id;
        node.sent = [];
        node.statuses = [];
        node.warnings = [];
        Object.assign(node, {
          send: (msgs: Sent) => node.sent.push(msgs),
          status: (s: { text?: string }) => node.statuses.push(s),
          warn: (w: string) => node.warnings.push(w),
        });
      },
      getNode: () => client,
      registerType: (_name: string, c: typeof ctor) => {
        ctor = c;
      },
    },
  };
  (sipDtmf as unknown as (red: unknown) => void)(RED);
  const node = new EventEmitter() as TestNode;
  ctor!.call(node, { id: "dtmf.1", client: "client.1", interDigitTimeout: 0, ...config });
  return node;
}

/** The node's input: resolves with the error given to done(), or undefined. */
function input(node: TestNode, msg: Record<string, unknown>): Promise<Error | undefined> {
  return new Promise((resolve) =>
    node.emit(
      "input",
      msg,
      () => undefined,
      (e?: Error) => resolve(e),
    ),
  );
}

function close(node: TestNode): Promise<void> {
  return new Promise((resolve) => node.emit("close", resolve));
}

/** Lets the promise chains of say() and PlaybackHandle.finished run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What was sent, as [output, JSON] pairs: JSON keeps the key order. */
function sends(node: TestNode): Array<[number, string]> {
  return node.sent.map((arr) => {
    const i = arr.findIndex((m) => m !== null);
    assert.strictEqual(arr.filter((m) => m !== null).length, 1, "one message per send");
    return [i, JSON.stringify(arr[i])];
  });
}

describe("sip-dtmf node (adapter over KeypadMenu and the Softphone facade)", () => {
  it("keys, codes and actions leave as the typed messages, in order, on their outputs", async () => {
    const phone = new FakePhone();
    const node = makeNode(phone, { actions: [{ code: "12#", message: "Opening.", topic: "gate" }, { code: "9" }] });
    const call = phone.answer("c1", "0711");
    phone.keys(call, "12#9");
    await settle();
    const c = JSON.stringify(call);
    assert.deepStrictEqual(sends(node), [
      [0, `{"topic":"dtmf","payload":"1","method":"rfc4733","call":${c}}`],
      [0, `{"topic":"dtmf","payload":"2","method":"rfc4733","call":${c}}`],
      [0, `{"topic":"dtmf","payload":"#","method":"rfc4733","call":${c}}`],
      [0, `{"topic":"dtmf-code","payload":"12","terminatedBy":"terminator","call":${c}}`],
      [1, `{"topic":"gate","payload":"12","action":{"index":1,"code":"12#"},"call":${c}}`],
      [0, `{"topic":"dtmf","payload":"9","method":"rfc4733","call":${c}}`],
      [0, `{"topic":"dtmf-code","payload":"9","terminatedBy":"match","call":${c}}`],
      [2, `{"topic":"action","payload":"9","action":{"index":2,"code":"9"},"call":${c}}`],
    ]);
    assert.deepStrictEqual(
      phone.said.map((s) => [s.id, s.text, s.options]),
      [["c1", "Opening.", { language: undefined, interrupt: true }]],
    );
    // Barge-in: the "9" stopped the message through the facade.
    assert.strictEqual(phone.stops, 1);
    assert.ok(
      node.statuses.every((s) => !/[0-9]/.test(String(s.text).replace(/\(rfc4733\)/, ""))),
      "no key in the status",
    );
    await close(node);
  });

  it("hidden codes: masked keys, codes and actions without their code", async () => {
    const phone = new FakePhone();
    const node = makeNode(phone, { hideCodes: true, actions: [{ code: "42#" }] });
    const call = phone.answer("c1", "0711");
    phone.keys(call, "42#");
    const c = JSON.stringify(call);
    assert.deepStrictEqual(sends(node), [
      [0, `{"topic":"dtmf","payload":"•","method":"rfc4733","masked":true,"call":${c}}`],
      [0, `{"topic":"dtmf","payload":"•","method":"rfc4733","masked":true,"call":${c}}`],
      [0, `{"topic":"dtmf","payload":"•","method":"rfc4733","masked":true,"call":${c}}`],
      [0, `{"topic":"dtmf-code","payload":"••","terminatedBy":"terminator","call":${c},"masked":true}`],
      [1, `{"topic":"action","payload":"••","action":{"index":1},"call":${c},"masked":true}`],
    ]);
    await close(node);
  });

  it("wrong codes: the reply holds keys until it has played, the goodbye ends the call, the caller is locked out", async () => {
    const phone = new FakePhone();
    const node = makeNode(phone, { maxAttempts: 2, invalidMessage: "Wrong.", actions: [{ code: "1234#" }] });
    const call = phone.answer("c1", "0711");
    phone.keys(call, "5#");
    await settle();
    assert.deepStrictEqual(
      phone.said.map((s) => s.text),
      ["Wrong."],
    );
    phone.keys(call, "6#"); // dropped: the reply is still playing
    assert.strictEqual(node.sent.length, 3);
    phone.said[0].finish();
    await settle();
    phone.keys(call, "7#");
    await settle();
    const out = sends(node).map(([, m]) => JSON.parse(m) as Record<string, unknown>);
    assert.deepStrictEqual(
      out.map((m) => m.topic),
      ["dtmf", "dtmf", "dtmf-code", "dtmf", "dtmf", "dtmf-code", "dtmf-too-many"],
    );
    assert.deepStrictEqual(Object.keys(out[6]), ["topic", "payload", "limit", "call", "lockedUntil"]);
    assert.strictEqual(out[6].payload, 2);
    assert.strictEqual(out[6].limit, 2);
    assert.ok(!Number.isNaN(Date.parse(String(out[6].lockedUntil))));
    assert.deepStrictEqual(out[5].invalid, true);
    // The goodbye is spoken; the call is hung up once it has played, not before.
    assert.strictEqual(phone.said[1].text, "Too many wrong codes. Goodbye.");
    assert.deepStrictEqual(phone.hungUp, []);
    phone.said[1].finish();
    await settle();
    assert.deepStrictEqual(phone.hungUp, [{ id: "c1", reason: "too many wrong codes" }]);
    phone.end(call);

    // The same number calls again: locked out.
    const again = phone.answer("c2", "0711");
    await settle();
    const locked = JSON.parse(sends(node)[7][1]) as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(locked), ["topic", "payload", "lockedUntil", "call"]);
    assert.strictEqual(locked.topic, "dtmf-locked");
    assert.strictEqual(locked.payload, locked.lockedUntil);
    phone.said[2].finish();
    await settle();
    assert.deepStrictEqual(phone.hungUp[1], { id: "c2", reason: "caller locked out" });
    phone.end(again);
    await close(node);
  });

  it("input: one-time codes, unlock by number or all, and errors that say what is wrong", async () => {
    const phone = new FakePhone();
    const node = makeNode(phone, { maxAttempts: 1, tooManyMessage: "", lockedMessage: "", actions: [{ code: "1234#", topic: "door" }] });
    const lockOut = async (id: string, number: string) => {
      const call = phone.answer(id, number);
      phone.keys(call, "9#");
      await settle();
      phone.end(call);
    };
    const isLocked = async (id: string, number: string) => {
      const before = node.sent.length;
      const call = phone.answer(id, number);
      await settle();
      const locked = node.sent.slice(before).some((arr) => arr[0]?.topic === "dtmf-locked");
      phone.end(call);
      return locked;
    };
    await lockOut("a1", "0711");
    await lockOut("a2", "+49 89 1");
    assert.strictEqual(await isLocked("b1", "0711"), true);

    assert.strictEqual(await input(node, { topic: "unlock", payload: "07-11" }), undefined); // normalised like caller numbers
    assert.strictEqual(await isLocked("b2", "0711"), false);
    assert.strictEqual(await isLocked("b3", "+49 89 1"), true);
    // " *" is a number (normalised "*"), not "every number".
    assert.strictEqual(await input(node, { topic: "unlock", payload: " *" }), undefined);
    assert.strictEqual(await isLocked("b4", "+49 89 1"), true);
    assert.strictEqual(await input(node, { topic: "UNLOCK", payload: "*" }), undefined);
    assert.strictEqual(await isLocked("b5", "+49 89 1"), false);

    assert.strictEqual(await input(node, { topic: "code", payload: 4711, action: "door", validFor: 60 }), undefined);
    const call = phone.answer("c1", "0800");
    const before = node.sent.length;
    phone.keys(call, "4711#");
    await settle();
    const action = node.sent.slice(before).find((arr) => arr[1] !== null)?.[1];
    assert.deepStrictEqual(action, { topic: "door", payload: "4711", action: { index: 1, code: "1234#", oneTime: true }, call: phone.call("c1") });
    phone.end(call);

    assert.strictEqual(
      (await input(node, { topic: "code", payload: "1", validFor: "soon" }))?.message,
      "code: msg.validFor must be a number of seconds",
    );
    assert.strictEqual(
      (await input(node, { topic: "code", payload: "1", action: 5 }))?.message,
      "code: msg.action must be 1 to 1 or an action's topic",
    );
    assert.strictEqual((await input(node, { topic: "Bogus" }))?.message, 'unknown topic "bogus": use code, clear-codes or unlock');
    assert.strictEqual(await input(node, { topic: "clear-codes" }), undefined);
    await close(node);
  });
});
