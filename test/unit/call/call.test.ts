// A call must end (media closed, ENDED with a reason, slot freed) whatever sip.js does
// when we hang up: throw, never answer, fail to dispose. And a REFER is refused with 603.
import assert from "assert";
import { EventEmitter } from "events";
import { Invitation, SessionState } from "sip.js";
import { Call } from "../../../src/call/call";
import type { CallInfo, CallState } from "../../../src/types";

const party = { uri: "sip:bob@127.0.0.1", number: "bob", name: "" };

/** The parts of a sip.js Session that Call uses. */
function fakeSession(overrides: Record<string, unknown> = {}) {
  const listeners: Array<(s: SessionState) => void> = [];
  return {
    state: SessionState.Established,
    delegate: undefined as any,
    stateChange: { addListener: (fn: (s: SessionState) => void) => listeners.push(fn) },
    bye: () => {
      throw new Error("BYE exploded");
    },
    dispose: () => Promise.reject(new Error("dispose failed too")),
    fire: (s: SessionState) => listeners.forEach((fn) => fn(s)),
    ...overrides,
  };
}

function fakeSdh() {
  const sdh = new EventEmitter() as EventEmitter & { closed: number; close(): void; setFrameSource(): void };
  sdh.closed = 0;
  sdh.close = () => {
    sdh.closed++;
  };
  sdh.setFrameSource = () => undefined;
  return sdh;
}

function record(call: Call): Array<{ state: CallState; info: CallInfo }> {
  const seen: Array<{ state: CallState; info: CallInfo }> = [];
  call.on("state", (state, info) => seen.push({ state, info }));
  return seen;
}

describe("Call: ending when sip.js cannot", () => {
  it("a BYE that throws still ends the call: media closed, ENDED with the reason", async () => {
    const s = fakeSession();
    const call = new Call(s as any, "inbound", party, party);
    const sdh = fakeSdh();
    call.attachMedia(sdh as any);
    call.setState("ANSWERED");
    const seen = record(call);
    await call.hangup({ reason: "maximum call duration" });
    assert.strictEqual(call.active, false);
    const ended = seen.find((e) => e.state === "ENDED");
    assert.ok(ended, "ENDED was emitted");
    assert.strictEqual(ended.info.hungUpBy, "local");
    assert.strictEqual(ended.info.reason, "maximum call duration", "the first reason is kept");
    assert.strictEqual(sdh.closed, 1, "media closed");
  });

  it("a hang-up that never completes is ended locally after the bound", async () => {
    const s = fakeSession({ bye: () => new Promise(() => undefined), dispose: () => new Promise(() => undefined) });
    const call = new Call(s as any, "inbound", party, party, { endTimeoutMs: 50 });
    call.setState("ANSWERED");
    const seen = record(call);
    void call.hangup();
    await new Promise((r) => setTimeout(r, 20));
    assert.strictEqual(call.active, true, "still waiting for sip.js inside the bound");
    await new Promise((r) => setTimeout(r, 200));
    assert.strictEqual(call.active, false);
    assert.match(seen.find((e) => e.state === "ENDED")!.info.reason ?? "", /not ended within/);
  });

  it("no ACK for our 200: ENDED with reason 'no ACK' even when sip.js's BYE throws", () => {
    const inv = Object.create(Invitation.prototype);
    const s = fakeSession();
    for (const [k, v] of Object.entries({ stateChange: s.stateChange, state: SessionState.Established, dispose: () => Promise.resolve() })) {
      Object.defineProperty(inv, k, { value: v, writable: true });
    }
    inv.delegate = undefined;
    const call = new Call(inv as Invitation, "inbound", party, party);
    call.setState("ANSWERED");
    const seen = record(call);
    // sip.js's own onAckTimeout throws here (a bare session: no logger, no dialog).
    inv.onAckTimeout();
    const ended = seen.find((e) => e.state === "ENDED");
    assert.ok(ended, "ENDED was emitted");
    assert.match(ended.info.reason ?? "", /^no ACK/);
  });

  it("refuses a REFER with 603 and reports it (Refer-To sanitised and shortened)", () => {
    const s = fakeSession();
    const call = new Call(s as any, "inbound", party, party);
    const answers: unknown[] = [];
    const refused: Array<{ referTo: string; statusCode: number }> = [];
    call.on("refer", (r) => refused.push(r));
    const target = "sip:0900123456@evil.example\r\nX: " + "y".repeat(500);
    s.delegate.onRefer({
      request: { getHeader: () => target },
      accept: () => {
        answers.push("accept");
      },
      reject: (o: unknown) => {
        answers.push(o);
      },
    });
    assert.deepStrictEqual(answers, [{ statusCode: 603 }]);
    assert.strictEqual(refused.length, 1);
    assert.ok(refused[0].referTo.length <= 80);
    assert.ok(!/[\r\n]/.test(refused[0].referTo));
  });

  it("a 603 to a REFER that fails to send is no unhandled rejection (it would stop Node-RED)", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const s = fakeSession();
      const call = new Call(s as any, "inbound", party, party);
      const refused: unknown[] = [];
      call.on("refer", (r) => refused.push(r));
      s.delegate.onRefer({
        request: { getHeader: () => "<sip:carol@127.0.0.1>" },
        accept: () => Promise.resolve(),
        reject: () => Promise.reject(new Error("transport gone")),
      });
      await new Promise((r) => setTimeout(r, 20));
      assert.strictEqual(refused.length, 1, "still reported");
      assert.deepStrictEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
