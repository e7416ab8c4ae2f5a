// Issue 8, slice "calls": attacks on calls and registration, against real peers on 127.0.0.1
// (Kamailio as registrar/proxy, SIPp as the hostile caller or registrar, the lossy relay).
import assert from "assert";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startSipp, runSipp, describeSipp } from "../support/sipp";
import { createLossyRelay } from "../support/lossy-relay";
import { waitFor, sleep } from "../support/wait";
import { Softphone } from "../../src/softphone";
import { Phone } from "../../src/phone/phone";
import { SpeechService } from "../../src/speech";
import { MAX_RETRY_AFTER_SECONDS } from "../../src/phone/backoff";
import type { AccountOptions } from "../../src/phone/account";
import type { CallInfo, CallState, RegistrationState } from "../../src/types";

interface Seen {
  state: CallState;
  call: CallInfo;
}

describe("security: calls and registration (issue 8)", function () {
  this.timeout(120_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let phone: Softphone;
  const events: Seen[] = [];
  const logs: string[] = [];
  const ofCall = (id: string) => events.filter((e) => e.call.id === id);

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", carol: "pw-carol", mallory: "pw-mallory" } });
    speech = new SpeechService({});
    phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
      speech,
      media: { codecs: ["PCMU", "PCMA"] },
      maxCalls: 1,
    });
    phone.on("call", (state, call) => events.push({ state, call }));
    phone.on("log", (level: string, text: string) => logs.push(`${level}: ${text}`));
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "alice REGISTERED");
    phone.calls.setInboundPolicy({ autoAnswer: true });
  });
  after(async () => {
    await phone?.stop();
    await speech?.close();
    await kam?.stop();
  });

  it("a caller's in-dialog REFER gets 603 and no INVITE to the Refer-To target leaves", async () => {
    const since = events.length;
    const invitesBefore = kam.requests("INVITE").length;
    const r = await runSipp({
      scenario: "uac-refer",
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "alice",
      keys: { refer_target: "carol" },
      timeoutMs: 20_000,
    });
    assert.ok(r.ok, `SIPp got 603 to its REFER and hung up: ${describeSipp(r)}`);
    assert.match(r.messages, /SIP\/2\.0 603/);
    await sleep(1500); // sip.js would follow the REFER at once: give it the time to try
    const invites = kam.requests("INVITE").slice(invitesBefore);
    assert.deepStrictEqual(
      invites.filter((i) => i.toUser === "carol" || /carol/.test(i.ruri)).map((i) => i.ruri),
      [],
      "no INVITE to the REFER target",
    );
    assert.ok(
      invites.every((i) => i.fromUser !== "alice"),
      "the phone placed no call at all",
    );
    await waitFor(() => events.slice(since).some((e) => e.state === "ENDED"), 10_000, "the call ended");
    assert.ok(
      logs.some((l) => /warn: refused a call transfer \(REFER to "<?sip:carol@/.test(l)),
      `a warning was logged: ${logs.join(" | ")}`,
    );
  });

  it("a 200 that is never ACKed: ENDED 'no ACK' at 64·T1 and the slot (maxCalls 1) is free again", async function () {
    this.timeout(90_000);
    const since = events.length;
    const uac = await startSipp({ scenario: "uac-no-ack", target: `127.0.0.1:${kam.ports.udp}`, service: "alice", timeoutMs: 70_000 });
    await waitFor(() => events.slice(since).some((e) => e.state === "ANSWERED"), 10_000, "ANSWERED");
    const call = events.slice(since).find((e) => e.state === "ANSWERED")!.call;
    const answeredAt = Date.now();
    await waitFor(() => ofCall(call.id).some((e) => e.state === "ENDED"), 45_000, "ENDED without ACK");
    const elapsed = Date.now() - answeredAt;
    const ended = ofCall(call.id).find((e) => e.state === "ENDED")!.call;
    assert.match(ended.reason ?? "", /^no ACK/, `reason: ${ended.reason}`);
    assert.strictEqual(ended.hungUpBy, "local");
    assert.ok(elapsed > 25_000, `not before 64·T1 (${elapsed} ms)`);
    const res = await uac.done;
    assert.ok(res.ok, `SIPp got our BYE: ${describeSipp(res)}`);
    assert.strictEqual(phone.calls.list().length, 0, "the slot is free");
    // With maxCalls 1 a new caller is answered, not told 486.
    const next = await runSipp({ scenario: "uac-call", target: `127.0.0.1:${kam.ports.udp}`, service: "alice", holdMs: 500, timeoutMs: 20_000 });
    assert.ok(next.ok, `the next call is answered: ${describeSipp(next)}`);
  });

  it("a call whose CANCEL is never answered (the peer vanished) is ended locally within 64·T1; its slot is freed", async function () {
    this.timeout(90_000);
    // SIPp is this account's server: it rings, takes our CANCEL and never answers again.
    const uas = await startSipp({ scenario: "uas-ring-vanish", timeoutMs: 60_000 });
    const lone = new Softphone({
      account: { server: "127.0.0.1", port: uas.port, username: "alice", register: false },
      speech,
      media: { codecs: ["PCMU"] },
      maxCalls: 1,
    });
    const seen: Seen[] = [];
    lone.on("call", (state, call) => seen.push({ state, call }));
    try {
      await lone.start();
      const call = lone.calls.dial("victor", { ringTimeoutSeconds: 1 });
      await waitFor(() => seen.some((e) => e.state === "RINGING"), 10_000, "RINGING");
      const cancelledAt = Date.now() + 1000;
      await waitFor(() => seen.some((e) => e.state === "ENDED"), 45_000, "ENDED although the peer never answered the CANCEL");
      const ended = seen.find((e) => e.state === "ENDED")!.call;
      assert.strictEqual(ended.id, call.id);
      assert.strictEqual(ended.outcome, "no-answer");
      assert.strictEqual(ended.reason, "ring timeout");
      assert.ok(Date.now() - cancelledAt > 25_000, "sip.js got the full 64·T1 first");
      assert.strictEqual(lone.calls.list().length, 0, "the slot is free");
      assert.ok(call.sdh === undefined || call.sdh.isClosed, "media closed");
    } finally {
      await lone.stop();
      await uas.stop();
    }
  });

  it("a huge Retry-After (3,000,000 s) is clamped: no REGISTER storm, FAILED with retryInMs = 1 h", async () => {
    const registrar = await startSipp({ scenario: "uas-register-503", keys: { retry_after: "3000000" }, timeoutMs: 20_000 });
    const states: Array<{ state: RegistrationState; retryInMs?: number }> = [];
    const p = new Phone({ server: "127.0.0.1", port: registrar.port, username: "dave", password: "x", expires: 60 });
    p.on("registration", (state, d) => states.push({ state, retryInMs: d.retryInMs }));
    try {
      await p.start();
      await waitFor(() => states.some((s) => s.state === "FAILED"), 10_000, "FAILED after the 503");
      await sleep(3000);
    } finally {
      await p.stop(200);
    }
    const res = await registrar.stop();
    const registers = (res.messages.match(/^REGISTER sip:/gm) ?? []).length;
    assert.ok(registers >= 1 && registers <= 2, `REGISTERs sent in ~3 s after the 503: ${registers}`);
    const failed = states.find((s) => s.state === "FAILED")!;
    assert.strictEqual(failed.retryInMs, MAX_RETRY_AFTER_SECONDS * 1000);
  });

  it("a registrar that answers 423 for ever (Min-Expires 3,000,000): no tight loop, a sane lifetime, FAILED 423", async () => {
    const registrar = await startSipp({ scenario: "uas-register-423", keys: { min_expires: "3000000" }, timeoutMs: 20_000 });
    const states: Array<{ state: RegistrationState; statusCode?: number }> = [];
    const p = new Phone({ server: "127.0.0.1", port: registrar.port, username: "dave", password: "x", expires: 60 });
    p.on("registration", (state, d) => states.push({ state, statusCode: d.statusCode }));
    try {
      await p.start();
      await sleep(3000);
    } finally {
      await p.stop(200);
    }
    const res = await registrar.stop();
    const registers = res.messages.split(/^REGISTER sip:/m).slice(1);
    if (process.env.SHOW_SIPP) console.log(res.messages);
    assert.ok(registers.length >= 2 && registers.length <= 8, `REGISTERs in 3 s: ${registers.length}`);
    assert.ok(
      registers.every((r) => !/expires[:=] *3000000/i.test(r.split(/\r?\n\r?\n/)[0])),
      "the lifetime we ask for is clamped",
    );
    assert.ok(
      states.some((s) => s.state === "FAILED" && s.statusCode === 423),
      `FAILED 423: ${JSON.stringify(states)}`,
    );
  });

  it("30 redeploys through a link with 25 % loss (and lost un-REGISTERs) leave exactly one binding", async function () {
    this.timeout(400_000);
    const relay = await createLossyRelay({ targetPort: kam.ports.udp });
    // A seeded generator: the same packets are lost on every run.
    let seed = 8;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const loss = relay.drop({ direction: "both", count: Infinity, match: () => rnd() < 0.25 });
    const account = { server: "127.0.0.1", port: relay.port, username: "mallory", password: "pw-mallory", expires: 600, contactUser: "nr-redeploy" };
    const isUnregister = (msg: Buffer) =>
      /^REGISTER /.test(msg.toString("latin1", 0, 9)) && /^(Expires: *0|Contact:.*;expires=0)\r?$/im.test(msg.toString("latin1"));
    let lostUnregisters = 0;
    let last: Phone | undefined;
    try {
      for (let i = 0; i < 30; i++) {
        const p = new Phone(account);
        last = p;
        await p.start();
        await waitFor(() => p.registrationState === "REGISTERED", 60_000, `redeploy ${i + 1} REGISTERED`);
        if (i === 29) break;
        // One redeploy in four loses its un-REGISTER for good (request and retransmissions).
        const unregister = i % 4 === 1 ? relay.drop({ direction: "toServer", count: Infinity, match: isUnregister }) : undefined;
        await p.stop();
        unregister?.cancel();
        if (unregister) lostUnregisters++;
      }
      assert.ok(loss.dropped > 0 && lostUnregisters >= 7, "the relay dropped packets and whole un-REGISTERs");
      const mine = async () => (await kam.ulDump()).filter((b) => b.aor === "mallory");
      await waitFor(async () => (await mine()).length === 1, 30_000, "one binding").catch(async (e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify((await mine()).map((b) => b.contact))}`);
      });
      const [b] = await mine();
      const local = last!.transport.local!;
      assert.ok(b.contact.includes(`:${local.port}`), `the binding left is the live one: ${b.contact} vs port ${local.port}`);
    } finally {
      loss.cancel();
      await last?.stop();
      await relay.close();
    }
  });

  it("a registrar that rewrites the Contact: our own live binding is never removed", async function () {
    this.timeout(120_000);
    const nat = await startKamailio({ users: { mallory: "pw-mallory" }, rewriteContact: true });
    // Every client gets its own source port on the relay: the registrar sees a NAT and rewrites
    // every Contact we send (a removal too) to that source, so removing is not possible there.
    const relay = await createLossyRelay({ targetPort: nat.ports.udp });
    const isUnregister = (msg: Buffer) =>
      /^REGISTER /.test(msg.toString("latin1", 0, 9)) && /^(Expires: *0|Contact:.*;expires=0)\r?$/im.test(msg.toString("latin1"));
    const account: AccountOptions = {
      server: "127.0.0.1",
      port: relay.port,
      username: "mallory",
      password: "pw-mallory",
      expires: 600,
      contactUser: "nr-nat",
    };
    let last: Phone | undefined;
    try {
      for (let i = 0; i < 3; i++) {
        const p = new Phone(account);
        last = p;
        await p.start();
        await waitFor(() => p.registrationState === "REGISTERED", 20_000, `redeploy ${i + 1} REGISTERED`);
        if (i === 2) break;
        const unregister = relay.drop({ direction: "toServer", count: Infinity, match: isUnregister });
        await p.stop();
        unregister.cancel();
      }
      await sleep(1000);
      const bindings = (await nat.ulDump()).filter((b) => b.aor === "mallory").map((b) => b.contact);
      assert.strictEqual(bindings.length, 3, `two stale bindings (lost un-REGISTERs) and ours: ${JSON.stringify(bindings)}`);
      assert.strictEqual(last!.registrationState, "REGISTERED");
    } finally {
      await last?.stop();
      await relay.close();
      await nat.stop();
    }
  });
});
