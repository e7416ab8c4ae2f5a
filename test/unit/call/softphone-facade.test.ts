// The Softphone is the door the nodes use: calls by id, snapshots out, playback handles that
// settle, per-call events by id. A Softphone that is never started opens no socket; the incoming
// call is a stand-in for sip.js's Invitation.
import assert from "assert";
import { Softphone } from "../../../src";
import type { CallInfo, CallState } from "../../../src";
import { fakeInvitation } from "../../support/fake-invitation";

describe("Softphone: calls by id", () => {
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

  it("claims inbound handling per node and answers with snapshots by id", () => {
    assert.strictEqual(phone.claimInbound("A", { autoAnswer: false }, { maxCalls: 2 }), true);
    assert.strictEqual(phone.claimInbound("B", { autoAnswer: true }), false);
    phone.calls.onInvite(fakeInvitation("bob") as never);
    const [info] = phone.activeCalls();
    assert.strictEqual(info.state, "RINGING");
    assert.strictEqual(info.from.number, "bob");
    assert.deepStrictEqual(phone.call(info.id), info);
    info.from.number = "changed";
    assert.strictEqual(phone.call(info.id)!.from.number, "bob", "a snapshot, not the live call");
    assert.strictEqual(phone.call("nope"), undefined);
  });

  it("says, stops and hangs up by id; handles settle, per-call events arrive by id", async () => {
    phone.claimInbound("A", { autoAnswer: false });
    phone.calls.onInvite(fakeInvitation("bob") as never);
    phone.calls.onInvite(fakeInvitation("carol") as never);
    const [bob, carol] = phone.activeCalls();
    const seen: Array<[CallState, string]> = [];
    const stop = phone.watchCall(bob.id, { state: (s: CallState, c: CallInfo) => seen.push([s, c.from.number]) });
    phone.calls.get(bob.id)!.setState("ANSWERED");
    phone.calls.get(carol.id)!.setState("ANSWERED");
    const first = await phone.say(bob.id, "one");
    const second = await phone.say(bob.id, "two");
    assert.strictEqual(first.label, "one");
    assert.strictEqual(phone.isPlaying(bob.id), true);
    assert.strictEqual(phone.isPlaying(carol.id), false);
    phone.stopPlayback(bob.id);
    assert.strictEqual(await first.finished, true, "stopped: interrupted");
    assert.strictEqual(await second.finished, true, "dropped: interrupted");
    assert.strictEqual(phone.isPlaying(bob.id), false);
    const third = await phone.say(bob.id, "three");
    await phone.hangup(bob.id, { reason: "done here" });
    assert.strictEqual(await third.finished, true, "the call ended: interrupted");
    stop();
    assert.deepStrictEqual(
      seen,
      [
        ["ANSWERED", "bob"],
        ["ENDED", "bob"],
      ],
      "only bob's events",
    );
    assert.strictEqual(phone.call(bob.id), undefined);
    assert.deepStrictEqual(
      phone.activeCalls().map((c) => c.id),
      [carol.id],
    );
    await assert.rejects(phone.say(bob.id, "late"), /no active call with id/);
    await assert.rejects(phone.answer("nope"), /no active call with id nope/);
    await assert.rejects(phone.sendDtmf("nope", "1"), /dtmf: unknown call/);
  });

  it("say and play of one call are queued in the order asked for, even when the earlier takes longer to prepare", async () => {
    const slow = new Softphone({
      account: { server: "127.0.0.1", username: "alice", password: "pw", register: false },
      speech: {
        synthesize: () => new Promise<Int16Array>((r) => setTimeout(() => r(new Int16Array(8000)), 50)),
        loadAudio: () => Promise.resolve(new Int16Array(8000)),
      },
    });
    try {
      slow.claimInbound("A", { autoAnswer: false });
      slow.calls.onInvite(fakeInvitation("bob") as never);
      const [bob] = slow.activeCalls();
      slow.calls.get(bob.id)!.setState("ANSWERED");
      const order: string[] = [];
      const said = slow.say(bob.id, "slow text").then((h) => order.push(h.label));
      const played = slow.play(bob.id, "/tmp/fast.wav").then((h) => order.push(h.label));
      await Promise.all([said, played]);
      assert.deepStrictEqual(order, ["slow text", "/tmp/fast.wav"]);
    } finally {
      await slow.stop();
    }
  });
});
