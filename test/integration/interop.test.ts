// Issue 9 item 10: interop faults seen with the phones people own (Linphone, PJSIP), reproduced
// with real peers on 127.0.0.1: Kamailio as registrar/proxy, SIPp as the other phone.
import assert from "assert";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startSipp, runSipp, describeSipp } from "../support/sipp";
import { waitFor } from "../support/wait";
import { Softphone } from "../../src/softphone";
import { SpeechService } from "../../src/speech";
import type { CallInfo, CallState } from "../../src/types";

interface Seen {
  state: CallState;
  call: CallInfo;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Status lines of one kind SIPp received (its message trace logs each message once). */
function received(messages: string, code: number): number {
  return (messages.match(new RegExp(`^SIP/2\\.0 ${code} `, "gm")) ?? []).length;
}

describe("interop (issue 9 item 10)", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let phone: Softphone;
  const events: Seen[] = [];
  const ofCall = (id: string) => events.filter((e) => e.call.id === id);
  const target = () => `127.0.0.1:${kam.ports.udp}`;

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret" } });
    speech = new SpeechService({});
    phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
      speech,
      media: { codecs: ["PCMU", "PCMA"] },
      maxCalls: 1,
    });
    phone.on("call", (state, call) => events.push({ state, call }));
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "alice REGISTERED");
  });
  afterEach(() => phone.calls.setInboundPolicy({ autoAnswer: true }));
  after(async () => {
    await phone?.stop();
    await speech?.close();
    await kam?.stop();
  });

  it("rings an incoming call with exactly one 180 Ringing, then answers", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true, answerDelaySeconds: 0.5 });
    const since = events.length;
    const r = await runSipp({ scenario: "uac-ring-once", target: target(), service: "alice", holdMs: 300, timeoutMs: 15_000 });
    assert.strictEqual(received(r.messages, 180), 1, `one 180 Ringing: ${describeSipp(r)}`);
    assert.ok(r.ok, `SIPp saw one 180 and a 200: ${describeSipp(r)}`);
    await waitFor(() => events.slice(since).some((e) => e.state === "ENDED"), 10_000, "ENDED");
    assert.deepStrictEqual(
      events.slice(since).map((e) => e.state),
      ["RINGING", "ANSWERED", "ENDED"],
    );
  });

  it("a caller refused by the caller filter gets 100 then 603, no 180; the ENDED message has our UUID id", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true, filterMode: "block", filterList: ["sipp"] });
    const since = events.length;
    const repliesBefore = kam.replies().length;
    const r = await runSipp({ scenario: "uac-refused-no-ring", target: target(), service: "alice", timeoutMs: 15_000 });
    assert.ok(r.ok, `SIPp got 603 with no 180 before it: ${describeSipp(r)}`);
    assert.strictEqual(received(r.messages, 603), 1);
    assert.strictEqual(received(r.messages, 180), 0);
    assert.deepStrictEqual(
      kam
        .replies()
        .slice(repliesBefore)
        .filter((x) => x.method === "INVITE" && x.status > 100 && x.status < 200),
      [],
      "Kamailio relayed no 18x",
    );
    const mine = events.slice(since);
    assert.deepStrictEqual(
      mine.map((e) => e.state),
      ["ENDED"],
    );
    assert.strictEqual(mine[0].call.statusCode, 603);
    assert.match(mine[0].call.id, UUID, "a refused call carries our id format");
  });

  it("call limit reached: 486 with no 180 before it; answered and refused calls share the id format", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true });
    const since = events.length;
    // The one call allowed (maxCalls 1), held open while a second caller tries.
    const first = await startSipp({ scenario: "uac-call", target: target(), service: "alice", holdMs: 4000, timeoutMs: 20_000 });
    try {
      await waitFor(() => events.slice(since).some((e) => e.state === "ANSWERED"), 10_000, "the first call ANSWERED");
      const r = await runSipp({ scenario: "uac-refused-no-ring", target: target(), service: "alice", timeoutMs: 15_000 });
      assert.ok(r.ok, `SIPp got 486 with no 180 before it: ${describeSipp(r)}`);
      assert.strictEqual(received(r.messages, 486), 1);
      assert.strictEqual(received(r.messages, 180), 0);
    } finally {
      const done = await first.done;
      assert.ok(done.ok, `the first call went through: ${describeSipp(done)}`);
    }
    await waitFor(() => events.slice(since).filter((e) => e.state === "ENDED").length === 2, 10_000, "both calls ENDED");
    const ended = events
      .slice(since)
      .filter((e) => e.state === "ENDED")
      .map((e) => e.call);
    const refused = ended.find((c) => c.statusCode === 486)!;
    const answered = ended.find((c) => c !== refused)!;
    assert.ok(refused && answered, "one answered and one refused call");
    assert.strictEqual(refused.outcome, "rejected");
    for (const c of [answered, refused]) assert.match(c.id, UUID, `${c.outcome}: ${c.id}`);
    assert.deepStrictEqual(
      ofCall(answered.id).map((e) => e.state),
      ["RINGING", "ANSWERED", "ENDED"],
    );
  });

  it("two DTMF SIP INFOs out of order (CSeq 6 then 5): both get 200 and both keys arrive", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true });
    const keys: string[] = [];
    const onKey = (digit: string, method: string) => keys.push(`${digit}/${method}`);
    phone.on("dtmf", onKey);
    try {
      const r = await runSipp({ scenario: "uac-info-out-of-order", target: target(), service: "alice", holdMs: 500, timeoutMs: 15_000 });
      assert.ok(r.ok, `SIPp got 200 to both INFOs: ${describeSipp(r)}`);
      assert.strictEqual(received(r.messages, 500), 0, "no 500 to the late INFO");
      await waitFor(() => keys.length >= 2, 3000, "two keys");
      assert.deepStrictEqual(keys, ["2/info", "1/info"], "both keys, in the order they arrived");
    } finally {
      phone.off("dtmf", onKey);
    }
  });

  it("dialing a phone whose 180 has no Contact (Linphone): DIALING, RINGING, ANSWERED", async () => {
    // SIPp is this account's server: 100, 180 without Contact, 200 with Contact; it then waits for our BYE.
    const uas = await startSipp({ scenario: "uas-ring-no-contact", timeoutMs: 20_000 });
    const lone = new Softphone({
      account: { server: "127.0.0.1", port: uas.port, username: "alice", register: false },
      speech,
      media: { codecs: ["PCMU"] },
    });
    const seen: Seen[] = [];
    lone.on("call", (state, call) => seen.push({ state, call }));
    try {
      await lone.start();
      const call = lone.calls.dial("linphone");
      await waitFor(() => seen.some((e) => e.state === "ANSWERED"), 10_000, "ANSWERED");
      await call.hangup();
      await waitFor(() => seen.some((e) => e.state === "ENDED"), 10_000, "ENDED");
      assert.deepStrictEqual(
        seen.map((e) => e.state),
        ["DIALING", "RINGING", "ANSWERED", "ENDED"],
      );
      assert.ok(seen.every((e) => e.call.id === call.id));
      const res = await uas.done;
      assert.ok(res.ok, `SIPp got its ACK and our BYE: ${describeSipp(res)}`);
    } finally {
      await lone.stop();
      await uas.stop();
    }
  });
});
