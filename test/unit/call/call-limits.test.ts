// Several sip-call nodes on one account: each node's limits are its own. The node that claimed
// inbound handling sets the limits of incoming calls; a dial uses the dialing node's limits; the
// account's limits (options, configure()) apply only where no node gave one.
import assert from "assert";
import { CallManager } from "../../../src/call/call-manager";
import type { CallInfo, CallState } from "../../../src/types";
import { fakeInvitation } from "../../support/fake-invitation";

/** The parts of a sip.js Invitation that the call manager and Call use. */
function manager(limits: { maxCalls?: number; maxDurationSeconds?: number } = {}) {
  const cm = new CallManager({
    userAgent: { transport: undefined } as never,
    domain: "127.0.0.1",
    codecs: ["PCMA"],
    speech: { synthesize: () => Promise.reject(new Error("no speech here")), loadAudio: () => Promise.reject(new Error("no audio here")) },
    ...limits,
  });
  const events: Array<{ state: CallState; call: CallInfo }> = [];
  cm.on("call", (state, call) => events.push({ state, call }));
  return { cm, events };
}

const ring = (cm: CallManager, user: string) => {
  const inv = fakeInvitation(user);
  cm.onInvite(inv as never);
  return inv;
};

describe("CallManager: limits per flow node on one account", () => {
  let cm: CallManager;
  afterEach(async () => {
    await cm?.close();
  });

  it("incoming calls get the limits of the node that claimed them, not those of a later node", () => {
    const m = manager();
    cm = m.cm;
    assert.strictEqual(cm.claimInboundPolicy("A", { autoAnswer: false }, { maxCalls: 1 }), true);
    assert.strictEqual(cm.claimInboundPolicy("B", { autoAnswer: false }, { maxCalls: 3 }), false, "B does not get inbound handling");
    ring(cm, "first");
    const second = ring(cm, "second");
    assert.strictEqual(cm.list().length, 1, "A's maxCalls 1: the second call is refused");
    assert.strictEqual(second.rejected, 1);
    const refused = m.events.find((e) => e.call.from.number === "second");
    assert.strictEqual(refused?.call.statusCode, 486);
    assert.strictEqual(refused?.call.reason, "maximum number of calls reached");
  });

  it("the account's limits do not override the claiming node's", () => {
    const m = manager({ maxCalls: 10 });
    cm = m.cm;
    cm.claimInboundPolicy("A", { autoAnswer: false }, { maxCalls: 1 });
    cm.configure({ maxCalls: 20 });
    ring(cm, "first");
    ring(cm, "second");
    assert.strictEqual(cm.list().length, 1);
  });

  it("a dial uses the dialing node's limits, whatever the claiming node set", () => {
    const m = manager();
    cm = m.cm;
    cm.claimInboundPolicy("A", { autoAnswer: false }, { maxCalls: 4 });
    ring(cm, "first");
    assert.throws(() => cm.dial("bob", { limits: { maxCalls: 1 } }), /maximum number of calls reached/);
  });

  it("after the claiming node lets go, the account's limits apply again", () => {
    const m = manager({ maxCalls: 2 });
    cm = m.cm;
    cm.claimInboundPolicy("A", { autoAnswer: false }, { maxCalls: 1 });
    ring(cm, "first");
    cm.releaseInboundPolicy("B"); // not the owner: nothing changes
    ring(cm, "second");
    assert.strictEqual(cm.list().length, 1);
    cm.releaseInboundPolicy("A");
    ring(cm, "third");
    assert.strictEqual(cm.list().length, 2, "the account's maxCalls 2");
  });

  it("the time limit of an incoming call is the claiming node's", async () => {
    const m = manager({ maxDurationSeconds: 3600 });
    cm = m.cm;
    cm.claimInboundPolicy("A", { autoAnswer: false }, { maxDurationSeconds: 0.05 });
    cm.claimInboundPolicy("B", { autoAnswer: false }, { maxDurationSeconds: 3600 });
    ring(cm, "first");
    const call = cm.list()[0];
    call.setState("ANSWERED");
    await new Promise((r) => setTimeout(r, 300));
    const ended = m.events.find((e) => e.state === "ENDED");
    assert.ok(ended, "hung up by A's time limit");
    assert.strictEqual(ended.call.reason, "maximum call duration");
  });
});
