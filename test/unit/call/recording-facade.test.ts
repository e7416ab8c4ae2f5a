// Softphone.record / stopRecording: by call id, one recording at a time per call, keys from the
// call's DTMF, "hangup" when the call ends. The incoming call is a stand-in for sip.js's Invitation.
import assert from "assert";
import { EventEmitter } from "events";
import { Softphone } from "../../../src";
import type { RtpSessionDescriptionHandler } from "../../../src/media/session-description-handler";
import { fakeInvitation } from "../../support/fake-invitation";

describe("Softphone: record by call id", () => {
  let phone: Softphone;
  beforeEach(() => {
    phone = new Softphone({
      account: { server: "127.0.0.1", username: "alice", password: "pw", register: false },
      speech: { synthesize: () => Promise.resolve(new Int16Array(8000)), loadAudio: () => Promise.resolve(new Int16Array(8000)) },
    });
  });
  afterEach(async () => {
    await phone.stop();
  });

  it("refuses unknown, unanswered and already recorded calls; records audio; stop, then hangup", async () => {
    phone.claimInbound("A", { autoAnswer: false });
    phone.calls.onInvite(fakeInvitation("bob") as never);
    const [bob] = phone.activeCalls();
    assert.throws(() => phone.record("nope"), /record: no active call with id nope/);
    assert.throws(() => phone.record(bob.id), /record: the call is RINGING, not ANSWERED/);
    const call = phone.calls.get(bob.id)!;
    const rtp = Object.assign(new EventEmitter(), { isClosed: false, callStats: () => undefined });
    call.sdh = Object.assign(new EventEmitter(), { rtp, close: () => undefined }) as unknown as RtpSessionDescriptionHandler;
    call.setState("ANSWERED");
    assert.strictEqual(phone.stopRecording(bob.id), false);
    const first = phone.record(bob.id, { stopKeys: "#" });
    assert.throws(() => phone.record(bob.id), /already being recorded/);
    assert.strictEqual(phone.isRecording(bob.id), true);
    rtp.emit("audio", new Int16Array(160).fill(1000), { ssrc: 1, seq: 1, timestamp: 0, marker: false });
    assert.strictEqual(phone.stopRecording(bob.id), true);
    const r1 = await first.finished;
    assert.strictEqual(r1.reason, "stop");
    assert.strictEqual(r1.durationMs, 20);
    assert.strictEqual(r1.bytes, 44 + 320);
    assert.ok(r1.startedAt instanceof Date);
    // One after the other is fine; this one ends with the call.
    const second = phone.record(bob.id);
    await phone.hangup(bob.id);
    const r2 = await second.finished;
    assert.strictEqual(r2.reason, "hangup");
    assert.strictEqual(r2.durationMs, 0);
    assert.strictEqual(rtp.listenerCount("audio"), 0);
    assert.strictEqual(phone.isRecording(bob.id), false);
  });
});
