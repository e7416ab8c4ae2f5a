// The sip.js internals we still use are checked at start-up: they hold on the pinned sip.js, and a
// sip.js without one of them fails loudly, naming its version and the missing piece.
import assert from "assert";
import * as sipjs from "sip.js";
import {
  assertSipJsInternals,
  dialogInternals,
  failClientTransaction,
  interceptAckTimeout,
  SipJsInternalsError,
  sipJsVersion,
} from "../../../src/sip/sipjs-internals";
import { addSessionDelegate } from "../../../src/sip/session-delegates";

type Lib = Parameters<typeof assertSipJsInternals>[0];

/** The pinned sip.js with one prototype member taken away (a stand-in for a sip.js that moved). */
function without(path: "InviteClientTransaction" | "NonInviteClientTransaction" | "Dialog" | "Invitation", member: string): Lib {
  const strip = (cls: { prototype: object }) => {
    const proto = Object.create(cls.prototype) as Record<string, unknown>;
    Object.defineProperty(proto, member, { value: undefined });
    return { prototype: proto };
  };
  const core = { ...sipjs.Core } as Record<string, unknown>;
  if (path === "Invitation") return { Core: sipjs.Core, Invitation: strip(sipjs.Invitation) as never };
  core[path] = strip(sipjs.Core[path]);
  return { Core: core as never, Invitation: sipjs.Invitation };
}

describe("sip.js internals", () => {
  it("hold on the pinned sip.js (the version is read from its package.json)", () => {
    assert.strictEqual(sipJsVersion(), "0.21.2");
    assert.doesNotThrow(() => assertSipJsInternals());
  });

  for (const [path, member, piece] of [
    ["Invitation", "onAckTimeout", "Invitation.onAckTimeout"],
    ["NonInviteClientTransaction", "onTransportError", "NonInviteClientTransaction.onTransportError"],
    ["InviteClientTransaction", "onTransportError", "InviteClientTransaction.onTransportError"],
    ["Dialog", "receiveRequest", "Dialog.receiveRequest"],
  ] as const) {
    it(`a sip.js without ${piece} fails loudly, naming the version and the piece`, () => {
      assert.throws(
        () => assertSipJsInternals(without(path, member)),
        (err: unknown) => {
          assert.ok(err instanceof SipJsInternalsError);
          assert.match(err.message, /^sip\.js 0\.21\.2: /);
          assert.ok(err.message.includes(piece), err.message);
          return true;
        },
      );
    });
  }

  it("a sip.js whose dialog keeps its CSeq elsewhere fails loudly", () => {
    const lib = without("Dialog", "remoteSequenceNumber");
    assert.throws(() => assertSipJsInternals(lib), /sip\.js 0\.21\.2: Dialog\.dialogState\.remoteSequenceNumber/);
  });

  it("the accessors change nothing on objects that are not as expected", () => {
    assert.strictEqual(failClientTransaction({ state: "Trying" }, new Error("x")), false);
    assert.strictEqual(failClientTransaction(undefined, new Error("x")), false);
    assert.strictEqual(
      interceptAckTimeout(
        {} as never,
        () => undefined,
        () => undefined,
      ),
      false,
    );
    assert.strictEqual(
      dialogInternals({
        receiveRequest() {
          /* no state */
        },
      }),
      undefined,
    );
    let told: Error | undefined;
    const tx = {
      onTransportError(e: Error) {
        told = e;
      },
    };
    assert.strictEqual(failClientTransaction(tx, new Error("gone")), true);
    assert.strictEqual(told?.message, "gone");
  });
});

describe("session delegates", () => {
  const ack = {} as never;

  it("hooks registered in any order all reach sip.js; a hook nobody registered stays absent", () => {
    for (const order of [
      ["onAck", "onBye", "onInfo"],
      ["onInfo", "onAck", "onBye"],
      ["onBye", "onInfo", "onAck"],
    ] as const) {
      const session: { delegate?: sipjs.SessionDelegate } = {};
      const calls: string[] = [];
      for (const hook of order)
        addSessionDelegate(session, hook, () => {
          calls.push(hook);
        });
      session.delegate!.onAck!(ack);
      session.delegate!.onBye!(ack);
      session.delegate!.onInfo!(ack);
      assert.deepStrictEqual(calls, ["onAck", "onBye", "onInfo"], order.join());
      // sip.js follows a REFER itself when there is no onRefer: absent must mean absent.
      assert.strictEqual("onRefer" in session.delegate!, false);
    }
  });

  it("a request hook has one owner; notifications have any number, all run even if one throws", () => {
    const session: { delegate?: sipjs.SessionDelegate } = {};
    addSessionDelegate(session, "onRefer", () => undefined);
    assert.throws(() => addSessionDelegate(session, "onRefer", () => undefined), /onRefer is already taken/);
    const seen: number[] = [];
    addSessionDelegate(session, "onAck", () => {
      seen.push(1);
      throw new Error("first");
    });
    addSessionDelegate(session, "onAck", () => {
      seen.push(2);
    });
    assert.throws(() => session.delegate!.onAck!(ack), /first/);
    assert.deepStrictEqual(seen, [1, 2]);
  });

  it("a delegate set by someone else is kept, and runs first", () => {
    const seen: string[] = [];
    const session: { delegate?: sipjs.SessionDelegate } = {
      delegate: {
        onAck: () => {
          seen.push("earlier");
        },
      },
    };
    addSessionDelegate(session, "onAck", () => {
      seen.push("ours");
    });
    session.delegate!.onAck!(ack);
    assert.deepStrictEqual(seen, ["earlier", "ours"]);
  });
});
