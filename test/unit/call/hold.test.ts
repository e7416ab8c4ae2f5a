// Call.setHold: the outcome of the hold/resume re-INVITE as sip.js reports it (requestDelegate),
// and the state left behind when the peer refuses it.
import assert from "assert";
import { EventEmitter } from "events";
import { SessionState } from "sip.js";
import { Call } from "../../../src/call/call";
import type { CallHold } from "../../../src/types";

const party = { uri: "sip:bob@127.0.0.1", number: "bob", name: "" };

interface InviteOptions {
  sessionDescriptionHandlerOptions?: { hold?: boolean };
  requestDelegate?: { onAccept?(r: unknown): void; onReject?(r: { message: { statusCode: number; reasonPhrase?: string } }): void };
}

/** A media handler with the hold state of RtpSessionDescriptionHandler (hold option, rollback). */
function fakeSdh() {
  const sdh = new EventEmitter() as EventEmitter & { onHold: boolean; negotiated: { hold: boolean } | null; setFrameSource(): void; close(): void };
  sdh.onHold = false;
  sdh.negotiated = { hold: false };
  sdh.setFrameSource = () => undefined;
  sdh.close = () => undefined;
  return sdh;
}

/** A sip.js session whose re-INVITE is answered by `answer` (accept, or a status code). */
function setup(answer: "accept" | number | "never") {
  const sdh = fakeSdh();
  const invites: InviteOptions[] = [];
  const session = {
    state: SessionState.Established,
    delegate: undefined as unknown,
    sessionDescriptionHandlerOptionsReInvite: {} as { hold?: boolean },
    stateChange: { addListener: () => undefined },
    invite(options: InviteOptions) {
      invites.push(options);
      this.sessionDescriptionHandlerOptionsReInvite = { ...options.sessionDescriptionHandlerOptions };
      const before = sdh.onHold;
      sdh.onHold = options.sessionDescriptionHandlerOptions?.hold ?? sdh.onHold; // getDescription(offer)
      setImmediate(() => {
        if (answer === "accept") {
          sdh.emit("negotiated", { codec: "PCMU", hold: false }); // setDescription(answer)
          options.requestDelegate?.onAccept?.({});
        } else if (typeof answer === "number") {
          sdh.onHold = before; // rollbackDescription
          options.requestDelegate?.onReject?.({
            message: { statusCode: answer, reasonPhrase: answer === 491 ? "Request Pending" : "Not Acceptable Here" },
          });
        }
      });
      return Promise.resolve({});
    },
  };
  const call = new Call(session as never, "outbound", party, party);
  call.attachMedia(sdh as never);
  call.setState("ANSWERED");
  const changes: CallHold[] = [];
  call.on("hold", (h) => changes.push(h));
  return { call, session, sdh, invites, changes };
}

describe("Call: hold and resume", () => {
  it("hold sends a re-INVITE with the hold option; accepted: hold local, one hold event; resume: false", async () => {
    const t = setup("accept");
    await t.call.setHold(true);
    assert.deepStrictEqual(t.invites[0].sessionDescriptionHandlerOptions, { hold: true });
    assert.strictEqual(t.call.snapshot().hold, "local");
    await t.call.setHold(false);
    assert.deepStrictEqual(t.invites[1].sessionDescriptionHandlerOptions, { hold: false });
    assert.strictEqual(t.call.snapshot().hold, false);
    assert.deepStrictEqual(t.changes, ["local", false]);
  });

  it("a refused hold (491 glare) rejects with the status, leaves the call unheld and the peer's next re-INVITE answered sendrecv", async () => {
    const t = setup(491);
    await assert.rejects(t.call.setHold(true), /^Error: hold: the peer refused \(491 Request Pending\)$/);
    assert.strictEqual(t.call.snapshot().hold, false);
    assert.strictEqual(t.call.state, "ANSWERED");
    assert.deepStrictEqual(t.changes, []);
    assert.deepStrictEqual(t.session.sessionDescriptionHandlerOptionsReInvite, { hold: false }, "sip.js's sticky option put back");
  });

  it("one hold/resume at a time; none before ANSWERED; none with no answer after the call ends", async () => {
    const t = setup("never");
    const pending = t.call.setHold(true);
    await assert.rejects(t.call.setHold(false), /in progress/);
    await t.call.endLocally("test");
    await assert.rejects(pending, /hold: the call ended/);
    const early = new Call({ state: SessionState.Initial, stateChange: { addListener: () => undefined } } as never, "inbound", party, party);
    await assert.rejects(early.setHold(true), /hold: the call is RINGING, not ANSWERED/);
  });
});
