// Call transfer from a flow (issue 9 item 3): a real Node-RED, Kamailio and baresip peers on 127.0.0.1.
// We transfer baresip "bob" to baresip "carol" (blind REFER, NOTIFY sipfrag); bob transfers us (REFER to us).
import assert from "assert";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { loadCallFlow } from "../support/call-flow";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { waitFor, sleep } from "../support/wait";
import { runSipp, describeSipp } from "../support/sipp";
import type { CallInfo } from "../../src/types";
import type { TransferEvent } from "../../src/call/transfer";

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  call?: CallInfo;
  transfer?: TransferEvent;
}

describe("call transfer from a flow", function () {
  this.timeout(90_000);
  let kam: Kamailio;
  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob", carol: "pw-carol", dave: "pw-dave" } });
  });
  after(async () => {
    await kam?.stop();
  });
  beforeEach(startRed);
  afterEach(stopRed);

  /** A flow of alice's account, a sip-call node (extra config) and a helper on its output; resolves once REGISTERED. */
  async function flow(callConfig: Record<string, unknown> = {}) {
    const { out, errors } = await loadCallFlow<Msg>(kam, { client: { ttsLanguage: "en-US" }, call: callConfig });
    const node = helper.getNode("call");
    const calls = () => out.filter((m) => m.topic === "call");
    const transfers = () => out.filter((m) => m.topic === "transfer").map((m) => m.transfer!);
    const ended = (id: string) => calls().find((m) => m.payload === "ENDED" && m.call?.id === id)?.call;
    return { node, out, errors, calls, transfers, ended };
  }

  async function peer(user: string, password: string): Promise<Baresip> {
    const b = await startBaresip({ user, password, kamailio: kam, answerMode: "auto" });
    await b.waitRegistered();
    return b;
  }

  it("we transfer bob to carol: carol answers bob, we get succeeded and our call ends", async () => {
    const bob = await peer("bob", "pw-bob");
    const carol = await peer("carol", "pw-carol");
    try {
      const f = await flow();
      f.node.receive({ topic: "dial", payload: "bob" });
      await waitFor(() => f.calls().some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
      const id = f.calls().find((m) => m.payload === "ANSWERED")!.call!.id;
      const carolMark = carol.mark();
      f.node.receive({ topic: "transfer", to: "carol", call: { id } });
      await waitFor(() => f.transfers().some((t) => t.state === "succeeded" || t.state === "failed"), 30_000, "the transfer's outcome");
      const states = f.transfers().map((t) => t.state);
      assert.deepStrictEqual(f.transfers().at(-1)!.state, "succeeded", `states: ${states.join(", ")}`);
      assert.strictEqual(states[0], "requested");
      assert.ok(states.includes("accepted"), `202 reported: ${states.join(", ")}`);
      const last = f.transfers().at(-1)!;
      assert.strictEqual(last.direction, "outbound");
      assert.strictEqual(last.status, 200);
      assert.match(last.target, /^sip:carol@127\.0\.0\.1/);
      // carol got the call from bob (not from us).
      const incoming = await carol.waitEvent("CALL_ESTABLISHED", 10_000, { since: carolMark });
      assert.match(String(incoming.peeruri), /bob/, `carol talks to bob: ${incoming.peeruri}`);
      await waitFor(() => !!f.ended(id), 10_000, "our call ENDED");
      const ended = f.ended(id)!;
      assert.strictEqual(ended.reason, "transferred");
      assert.strictEqual(ended.hungUpBy, "local");
      assert.deepStrictEqual(f.errors, []);
    } finally {
      await bob.stop();
      await carol.stop();
    }
  });
  it("a transfer to a target that fails (unknown user): failed with its status, our call stays up", async () => {
    const bob = await peer("bob", "pw-bob");
    try {
      const f = await flow();
      f.node.receive({ topic: "dial", payload: "bob" });
      await waitFor(() => f.calls().some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
      const id = f.calls().find((m) => m.payload === "ANSWERED")!.call!.id;
      f.node.receive({ topic: "transfer", payload: "nobody", call: { id } });
      await waitFor(() => f.transfers().some((t) => t.state === "succeeded" || t.state === "failed"), 30_000, "the transfer's outcome");
      const last = f.transfers().at(-1)!;
      assert.strictEqual(last.state, "failed", JSON.stringify(f.transfers()));
      assert.ok(last.status && last.status >= 400, `the target's failure status is reported: ${JSON.stringify(last)}`);
      await waitFor(() => f.errors.length > 0, 5000, "the transfer command fails (done(err))");
      assert.match(f.errors[0], /^transfer to sip:nobody@127\.0\.0\.1:\d+ failed: \d{3}/);
      await sleep(1000);
      assert.ok(!f.ended(id), "our call is still up");
      const bobCalls = await bob.command("listcalls");
      assert.match(bobCalls.data, /alice/, `bob still has the call with us: ${bobCalls.data}`);
      f.node.receive({ topic: "hangup", call: { id } });
      await waitFor(() => !!f.ended(id), 5000, "ENDED");
      assert.strictEqual(f.ended(id)!.hungUpBy, "local");
    } finally {
      await bob.stop();
    }
  });

  /** bob calls us, we answer, then bob asks us (REFER) to call carol. */
  async function bobTransfersUs(callConfig: Record<string, unknown>) {
    const bob = await peer("bob", "pw-bob");
    const carol = await peer("carol", "pw-carol");
    const f = await flow({ autoAnswer: true, ...callConfig });
    await bob.dial(kam.uri("alice"));
    await waitFor(() => f.calls().some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
    const id = f.calls().find((m) => m.payload === "ANSWERED")!.call!.id;
    await bob.waitEvent("CALL_ESTABLISHED", 10_000);
    const invitesBefore = kam.requests("INVITE").length;
    const carolUri = kam.uri("carol");
    await bob.command("transfer", carolUri);
    const invitesToCarol = () =>
      kam
        .requests("INVITE")
        .slice(invitesBefore)
        .filter((r) => r.toUser === "carol" || /carol/.test(r.ruri));
    return { bob, carol, f, id, invitesToCarol };
  }

  it("bob's REFER is refused (603) by default: reported, no INVITE to the target, we do not end the call", async () => {
    const t = await bobTransfersUs({});
    try {
      await waitFor(() => t.f.transfers().length > 0, 10_000, "a transfer message");
      const e = t.f.transfers()[0];
      assert.deepStrictEqual([e.direction, e.state, e.status], ["inbound", "refused", 603]);
      assert.match(e.target, /sip:carol@127\.0\.0\.1/);
      await sleep(1500);
      assert.deepStrictEqual(t.invitesToCarol(), [], "no INVITE to carol");
      // baresip 1.0.0 hangs up by itself once its transfer failed (TRANSFER_FAILED): we did not end the call.
      await t.bob.waitEvent((ev) => ev.type === "TRANSFER_FAILED", 5000);
      assert.notStrictEqual(t.f.ended(t.id)?.hungUpBy, "local", "we did not end the call");
    } finally {
      await t.bob.stop();
      await t.carol.stop();
    }
  });

  it("allowed and on the allow-list: 202, we call carol (greeted), NOTIFY 200, bob's call ends", async () => {
    const t = await bobTransfersUs({
      allowTransfer: true,
      transferAllowList: "dave, car?l",
      greetings: [{ number: "carol", message: "You were transferred to Node-RED." }],
    });
    try {
      await waitFor(() => t.f.transfers().some((e) => e.state === "succeeded" || e.state === "failed"), 20_000, "the outcome");
      const steps = t.f.transfers();
      assert.deepStrictEqual(
        steps.map((e) => e.state).filter((s) => s !== "ringing"),
        ["accepted", "trying", "succeeded"],
        JSON.stringify(steps),
      );
      assert.ok(steps.every((e) => e.direction === "inbound" && e.target.startsWith("sip:carol@127.0.0.1:")));
      const newCall = steps.at(-1)!.newCall!;
      assert.ok(newCall, "the new call's id is reported");
      const placed = t.f.calls().find((m) => m.call?.id === newCall && m.payload === "ANSWERED")!.call!;
      assert.strictEqual(placed.direction, "outbound");
      assert.strictEqual(placed.to.number, "carol");
      // Kamailio's request log is read from its output: give the line time to arrive.
      await waitFor(() => t.invitesToCarol().length > 0, 5000, "Kamailio's log of the INVITE to carol").catch(() => undefined);
      assert.strictEqual(t.invitesToCarol().length, 1, "one INVITE to carol");
      await t.carol.waitEvent("CALL_ESTABLISHED", 10_000);
      // The new call is a normal call: its greeting plays.
      await waitFor(
        () => t.f.out.some((m) => m.topic === "playback" && m.payload === "started" && m.call?.id === newCall),
        15_000,
        "the greeting plays into the new call",
      );
      // bob gets our final NOTIFY (200) and the transferred call ends.
      await waitFor(() => !!t.f.ended(t.id), 10_000, "the call with bob ENDED");
      assert.strictEqual(t.f.ended(t.id)!.reason, "transferred");
      assert.ok(!t.f.ended(newCall), "the call with carol is still up");
      assert.deepStrictEqual(t.f.errors, []);
    } finally {
      await t.bob.stop();
      await t.carol.stop();
    }
  });

  it("allowed but the target is not on the allow-list: refused (403), no INVITE to the target", async () => {
    const t = await bobTransfersUs({ allowTransfer: true, transferAllowList: "dave\n2??" });
    try {
      await waitFor(() => t.f.transfers().length > 0, 10_000, "a transfer message");
      const e = t.f.transfers()[0];
      assert.deepStrictEqual([e.direction, e.state, e.status, e.reason], ["inbound", "refused", 403, "transfer target not allowed"]);
      await sleep(1500);
      assert.deepStrictEqual(t.invitesToCarol(), [], "no INVITE to carol");
      // baresip 1.0.0 hangs up by itself once its transfer failed (TRANSFER_FAILED): we did not end the call.
      await t.bob.waitEvent((ev) => ev.type === "TRANSFER_FAILED", 5000);
      assert.notStrictEqual(t.f.ended(t.id)?.hungUpBy, "local", "we did not end the call");
    } finally {
      await t.bob.stop();
      await t.carol.stop();
    }
  });

  it("a REFER with an embedded header (?Replaces=, from SIPp) is refused 403 even with a catch-all list", async () => {
    const f = await flow({ autoAnswer: true, allowTransfer: true, transferAllowList: "*, *@*" });
    const invitesBefore = kam.requests("INVITE").length;
    const r = await runSipp({
      scenario: "uac-refer-replaces",
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "alice",
      keys: { refer_target: "carol" },
      timeoutMs: 20_000,
    });
    assert.ok(r.ok, `SIPp got 403 to its REFER: ${describeSipp(r)}`);
    await waitFor(() => f.transfers().length > 0, 5000, "a transfer message");
    const e = f.transfers()[0];
    assert.deepStrictEqual([e.direction, e.state, e.status, e.reason], ["inbound", "refused", 403, "Refer-To with embedded headers not allowed"]);
    await sleep(1000);
    const invites = kam.requests("INVITE").slice(invitesBefore);
    assert.deepStrictEqual(
      invites.filter((i) => i.toUser === "carol" || /carol/.test(i.ruri)),
      [],
      "no INVITE to the REFER target",
    );
  });

  it("a REFER outside a call is refused (405) even with transfers allowed: no INVITE to the target", async () => {
    const f = await flow({ allowTransfer: true, transferAllowList: "*, *@*" });
    const invitesBefore = kam.requests("INVITE").length;
    const r = await runSipp({
      scenario: "uac-refer-out-of-dialog",
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "alice",
      keys: { refer_target: "carol" },
      timeoutMs: 20_000,
    });
    assert.ok(r.ok, `SIPp got 405 to its REFER: ${describeSipp(r)}`);
    await sleep(1000);
    assert.deepStrictEqual(kam.requests("INVITE").slice(invitesBefore), [], "no INVITE at all");
    assert.deepStrictEqual(f.calls(), [], "no call");
  });
});
