// Issue 8, the SIP receive path and the trust boundary, attacked on loopback:
// a real Kamailio on 127.0.0.1 is the registrar; "attackers" are raw UDP sockets on
// 127.0.0.2.. (Linux routes all of 127/8 to lo), so the phone can tell them apart.
import assert from "assert";
import crypto from "crypto";
import dgram from "dgram";
import fs from "fs";
import os from "os";
import path from "path";
import { startKamailio, Kamailio } from "../support/kamailio";
import { runSipp, startSipp } from "../support/sipp";
import { waitFor, sleep } from "../support/wait";
import { Softphone } from "../../src/softphone";
import { Phone } from "../../src/phone/phone";
import { SpeechService } from "../../src/speech";
import type { CallInfo, CallState } from "../../src/types";
import type { AccountOptions } from "../../src/phone/account";

interface Peer {
  readonly address: string;
  readonly port: number;
  readonly received: string[];
  send(raw: string, port: number, host?: string): Promise<void>;
  close(): Promise<void>;
}

async function udpPeer(address: string): Promise<Peer> {
  const sock = dgram.createSocket("udp4");
  const received: string[] = [];
  sock.on("message", (m) => received.push(m.toString()));
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, address, () => resolve());
  });
  return {
    address,
    port: sock.address().port,
    received,
    send: (raw, port, host = "127.0.0.1") => new Promise((r) => sock.send(raw, port, host, () => r())),
    close: () => new Promise((r) => sock.close(() => r())),
  };
}

const rand = () => crypto.randomBytes(6).toString("hex");
const responses = (p: Peer, callId: string) => p.received.filter((m) => m.startsWith("SIP/2.0") && m.includes(`Call-ID: ${callId}`));
const statusOf = (m: string) => Number(/^SIP\/2\.0 (\d{3})/.exec(m)?.[1]);
const header = (m: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(m)?.[1]?.trim();

interface Dialog {
  callId: string;
  fromTag: string;
  fromUser: string;
  peer: Peer;
}

function inviteText(d: Dialog, ruri: string, opts: { branch?: string; rtpPort?: number } = {}): string {
  const sdp = [
    "v=0",
    `o=- 1 1 IN IP4 ${d.peer.address}`,
    "s=-",
    `c=IN IP4 ${d.peer.address}`,
    "t=0 0",
    `m=audio ${opts.rtpPort ?? 40000} RTP/AVP 0 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=sendrecv",
    "",
  ].join("\r\n");
  return [
    `INVITE ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${d.peer.address}:${d.peer.port};branch=${opts.branch ?? "z9hG4bK" + rand()};rport`,
    "Max-Forwards: 70",
    `From: <sip:${d.fromUser}@${d.peer.address}>;tag=${d.fromTag}`,
    "To: <sip:alice@127.0.0.1>",
    `Call-ID: ${d.callId}`,
    "CSeq: 1 INVITE",
    `Contact: <sip:${d.fromUser}@${d.peer.address}:${d.peer.port}>`,
    "Content-Type: application/sdp",
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    "",
    sdp,
  ].join("\r\n");
}

function simpleRequest(method: string, d: Dialog, ruri: string, extra: string[] = [], cseq = 1): string {
  return [
    `${method} ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${d.peer.address}:${d.peer.port};branch=z9hG4bK${rand()};rport`,
    "Max-Forwards: 70",
    `From: <sip:${d.fromUser}@${d.peer.address}>;tag=${d.fromTag}`,
    "To: <sip:alice@127.0.0.1>",
    `Call-ID: ${d.callId}`,
    `CSeq: ${cseq} ${method}`,
    ...extra,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

describe("security: SIP receive path and trust boundary (issue 8)", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let phone: Softphone;
  let cacheDir: string;
  const events: Array<{ state: CallState; call: CallInfo }> = [];
  const peers: Peer[] = [];
  const phones: Phone[] = [];
  const uncaught: unknown[] = [];
  const onUnhandled = (err: unknown) => {
    uncaught.push(err);
  };

  const peer = async (address: string) => {
    const p = await udpPeer(address);
    peers.push(p);
    return p;
  };
  const myPort = () => phone.phone.transport.local!.port;
  const dialog = (p: Peer, fromUser = "mallory"): Dialog => ({ callId: `${rand()}@${p.address}`, fromTag: rand(), fromUser, peer: p });

  async function plainPhone(over: Partial<AccountOptions>): Promise<Phone> {
    const p = new Phone({ server: "127.0.0.1", port: kam.ports.udp, username: "carol", password: "pw-carol", ...over });
    phones.push(p);
    await p.start();
    if (over.register !== false) await waitFor(() => p.registrationState === "REGISTERED", 10_000, "carol REGISTERED");
    return p;
  }

  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob", carol: "pw-carol" } });
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "sip-sec-cache-"));
    speech = new SpeechService({ cacheDir });
    phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
      speech,
      media: { codecs: ["PCMU"] },
      maxCalls: 10,
    });
    phone.on("call", (state, call) => events.push({ state, call }));
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "alice REGISTERED");
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.close()));
    await Promise.all(phones.splice(0).map((p) => p.stop()));
  });
  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    await phone?.stop();
    await speech?.close();
    await kam?.stop();
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
    assert.deepStrictEqual(uncaught, [], "no unhandled promise rejection");
  });

  it("an INVITE whose From user is a bad percent-escape, sent through Kamailio, is answered and the phone keeps working", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: false, filterMode: "allow", filterList: ["nobody-matches-this"] });
    // "%C0%AF" / "%FF" on the wire: sip.js's parser rejects the From header (400 from us, not silence);
    // "%25C0%25AF" / "%25FF": sip.js decodes once to "%C0%AF" / "%FF", and the caller-number code decodes again.
    const expected: Record<string, number> = { "%C0%AF": 400, "%FF": 400, "%25C0%25AF": 603, "%25FF": 603 };
    for (const user of Object.keys(expected)) {
      const p = await peer("127.0.0.2");
      const d = dialog(p, user);
      await p.send(inviteText(d, `sip:alice@127.0.0.1:${kam.ports.udp}`), kam.ports.udp);
      await waitFor(() => responses(p, d.callId).some((m) => statusOf(m) >= 300), 10_000, `a final response for From user ${user}`);
      const final = responses(p, d.callId).find((m) => statusOf(m) >= 300)!;
      assert.strictEqual(statusOf(final), expected[user], `From user ${user}: ${final.split("\r\n")[0]}`);
      assert.strictEqual(phone.phone.registrationState, "REGISTERED");
    }
    // A normal call still works afterwards.
    phone.calls.setInboundPolicy({ autoAnswer: true });
    const r = await runSipp({ scenario: "uac-call", target: `127.0.0.1:${kam.ports.udp}`, service: "alice", holdMs: 500, timeoutMs: 20_000 });
    assert.strictEqual(r.successful, 1, r.errors || r.output);
  });

  it("a direct INVITE and OPTIONS from a non-registrar source get no answer at all; OPTIONS through the registrar gets 200", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true });
    const since = events.length;
    const p = await peer("127.0.0.2");
    const inv = dialog(p, "scanner");
    const opt = dialog(p, "scanner");
    const local = `sip:alice@127.0.0.1:${myPort()}`;
    await p.send(inviteText(inv, local), myPort());
    await p.send(simpleRequest("OPTIONS", opt, local), myPort());
    await p.send(simpleRequest("OPTIONS", dialog(p, "scanner"), `sip:127.0.0.1:${myPort()}`), myPort());
    await p.send(simpleRequest("INVITE", dialog(p, "scanner"), `sip:100@127.0.0.1:${myPort()}`), myPort());
    await sleep(2000);
    assert.deepStrictEqual(p.received, [], "no 100/180/200/404, nothing");
    assert.strictEqual(events.length, since, "no call event");
    assert.ok(phone.phone.transport.securityCounters.untrusted >= 4, JSON.stringify(phone.phone.transport.securityCounters));
    // Through Kamailio (the registrar): 200.
    const via = await runSipp({ scenario: "options", target: `127.0.0.1:${kam.ports.udp}`, service: "alice", timeoutMs: 10_000 });
    assert.strictEqual(via.successful, 1, via.errors || via.messages);
  });

  for (const mode of ["networks", "anyone"] as const) {
    it(`acceptFrom "${mode}" lets the direct INVITE and OPTIONS from 127.0.0.2 through`, async () => {
      const carol = await plainPhone({ acceptFrom: mode, trustedNetworks: mode === "networks" ? ["127.0.0.2/32"] : undefined });
      const p = await peer("127.0.0.2");
      const port = carol.transport.local!.port;
      const opt = dialog(p);
      await p.send(simpleRequest("OPTIONS", opt, `sip:127.0.0.1:${port}`), port);
      await waitFor(() => responses(p, opt.callId).length > 0, 5000, "an OPTIONS answer");
      assert.strictEqual(statusOf(responses(p, opt.callId)[0]), 200);
      const inv = dialog(p);
      await p.send(inviteText(inv, `sip:${carol.userAgent.contact.uri.user}@127.0.0.1:${port}`), port);
      await waitFor(() => responses(p, inv.callId).length > 0, 5000, "an INVITE answer");
    });
  }

  it('acceptFrom "networks" still drops a source outside the listed networks', async () => {
    const carol = await plainPhone({ acceptFrom: "networks", trustedNetworks: ["127.0.0.2/32"] });
    const p = await peer("127.0.0.3");
    const opt = dialog(p);
    await p.send(simpleRequest("OPTIONS", opt, `sip:127.0.0.1:${carol.transport.local!.port}`), carol.transport.local!.port);
    await sleep(1500);
    assert.deepStrictEqual(p.received, []);
  });

  it("never answers a foreign-realm challenge to our BYE (no Authorization leaves)", async () => {
    const uas = await startSipp({ scenario: "uas-bye-challenge", keys: { realm: "evil.example" }, timeoutMs: 30_000, name: "evil-uas" });
    try {
      await kam.addBinding("bob", `sip:bob@127.0.0.1:${uas.port}`);
      const call = phone.calls.dial("bob");
      await waitFor(() => call.state === "ANSWERED", 10_000, "the call to be answered");
      const byesBefore = kam.requests("BYE").length;
      await call.hangup();
      await waitFor(() => kam.requests("BYE").length > byesBefore, 5000, "our BYE through Kamailio");
      await sleep(3000); // sip.js would retry with credentials right after the 401
      const byes = kam.requests("BYE").slice(byesBefore);
      assert.ok(byes.length >= 1);
      assert.deepStrictEqual(
        byes.map((b) => b.authUser).filter((u) => u && u !== "<null>"),
        [],
        `a BYE carried credentials: ${JSON.stringify(byes)}`,
      );
      assert.ok(phone.phone.transport.securityCounters.refusedChallenges >= 1);
      assert.strictEqual(call.state, "ENDED", "the call ends locally anyway");
    } finally {
      await uas.stop();
      await kam.removeBindings("bob");
    }
  });

  it("an in-dialog BYE with the real Call-ID and tags from a third address is dropped; the caller's own BYE ends the call", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true });
    const caller = await peer("127.0.0.3");
    const attacker = await peer("127.0.0.2");
    const d = dialog(caller, "dave");
    const since = events.length;
    await caller.send(inviteText(d, `sip:alice@127.0.0.1:${kam.ports.udp}`), kam.ports.udp);
    await waitFor(() => responses(caller, d.callId).some((m) => statusOf(m) === 200), 10_000, "200 OK");
    const ok = responses(caller, d.callId).find((m) => statusOf(m) === 200)!;
    const toTag = /;tag=([^;\s>]+)/.exec(header(ok, "To") ?? "")![1];
    const contact = /<([^>]+)>/.exec(header(ok, "Contact") ?? "")![1];
    const rr = ok
      .split("\r\n")
      .filter((l) => /^Record-Route:/i.test(l))
      .map((l) => l.replace(/^Record-Route:/i, "Route:"));
    const inDialog = (method: string, from: Peer, cseq: number, viaKam: boolean) => {
      const dd = { ...d, peer: from };
      return simpleRequest(method, dd, contact, viaKam ? rr : [], cseq).replace(
        "To: <sip:alice@127.0.0.1>",
        `To: <sip:alice@127.0.0.1>;tag=${toTag}`,
      );
    };
    await caller.send(inDialog("ACK", caller, 1, true), kam.ports.udp);
    await waitFor(() => events.slice(since).some((e) => e.state === "ANSWERED"), 5000, "ANSWERED");
    // The attacker knows everything but is not on the dialog's route.
    const port = myPort();
    await attacker.send(inDialog("BYE", attacker, 2, false), port);
    await attacker.send(inDialog("INFO", attacker, 3, false), port);
    await sleep(2000);
    assert.deepStrictEqual(attacker.received, [], "no answer to the attacker");
    assert.ok(!events.slice(since).some((e) => e.state === "ENDED"), "the call is still up");
    // The caller's BYE through the record-routed path ends it (the request itself was well-formed).
    await caller.send(inDialog("BYE", caller, 4, true), kam.ports.udp);
    await waitFor(() => events.slice(since).some((e) => e.state === "ENDED"), 5000, "ENDED by the real caller");
  });

  it("an INVITE flood from one source is rate-limited and a legitimate call still gets through afterwards", async () => {
    const carol = await plainPhone({ acceptFrom: "networks", trustedNetworks: ["127.0.0.2/32"] });
    const p = await peer("127.0.0.2");
    const port = carol.transport.local!.port;
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const d = dialog(p);
      ids.push(d.callId);
      await p.send(inviteText(d, `sip:${carol.userAgent.contact.uri.user}@127.0.0.1:${port}`), port);
    }
    await sleep(1500);
    const handled = ids.filter((id) => responses(p, id).some((m) => statusOf(m) !== 503)).length;
    const refused = ids.filter((id) => responses(p, id).some((m) => statusOf(m) === 503)).length;
    assert.ok(handled >= 1 && handled <= 10, `INVITEs handled out of 60: ${handled}`);
    assert.ok(refused >= 50, `a listed network is told to back off (503): ${refused}`);
    const retry = ids.map((id) => responses(p, id).find((m) => statusOf(m) === 503)).find(Boolean)!;
    assert.match(retry, /\r\nRetry-After: \d+\r\n/);
    assert.ok(carol.transport.securityCounters.throttled >= 50, JSON.stringify(carol.transport.securityCounters));
    // The registrar's calls are not starved by the flood: a call through Kamailio is answered.
    const r = await runSipp({ scenario: "options", target: `127.0.0.1:${kam.ports.udp}`, service: "carol", timeoutMs: 10_000 });
    assert.strictEqual(r.successful, 1, r.errors || r.messages);
  });
});
