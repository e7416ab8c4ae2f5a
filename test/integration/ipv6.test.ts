// IPv6 end to end (issue 10 item 3), against real peers on ::1: Kamailio listening on [::1]
// as well as 127.0.0.1, baresip on ::1. SIP over UDP/TCP/TLS/WS to "[::1]", Via/Contact with
// bracketed addresses, SDP "c=IN IP6 ::1" with an IPv6 RTP socket, audio and RFC 4733 both
// ways, and the dual-stack case (the node on IPv4, the phone on IPv6).
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { waitFor, sleep } from "../support/wait";
import { speechMatch } from "../support/audio-match";
import { Softphone } from "../../src/softphone";
import type { AccountOptions } from "../../src/phone/account";
import { startDnsmasq } from "../support/dnsmasq";
import { Phone } from "../../src/phone/phone";
import { SpeechService } from "../../src/speech";
import type { Call } from "../../src/call/call";
import type { CallInfo, CallState, DtmfDigit, TransportKind } from "../../src/types";

const GREETING = "Hello, you have reached the house over IPv6. Nobody can take your call right now.";
const ALARM = "Attention please. The alarm in the living room went off two minutes ago.";

interface Seen {
  state: CallState;
  call: CallInfo;
}

describe("IPv6 end to end (Kamailio and baresip on ::1)", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let cacheDir: string;
  const peers: Baresip[] = [];
  const phones: Softphone[] = [];

  async function baresip(user: string, opts: Partial<Parameters<typeof startBaresip>[0]> = {}): Promise<Baresip> {
    const b = await startBaresip({ user, password: "pw-" + user, kamailio: kam, answerMode: "auto", ipv6: true, ...opts });
    peers.push(b);
    await b.waitRegistered();
    return b;
  }

  /** Ids of calls whose message (greeting or dial message) played to its end. */
  const played = new Set<string>();
  const whenPlayed = (c: Call) =>
    c.on("playback", (what, _item, info, interrupted) => {
      if (what === "finished" && !interrupted) played.add(info.id);
    });

  /** A Softphone registered at Kamailio; its calls' SDP answers and offers recorded. */
  async function softphone(
    user: string,
    server: string,
    extra: Partial<AccountOptions> = {},
  ): Promise<{ phone: Softphone; events: Seen[]; keys: DtmfDigit[]; sdp: string[] }> {
    const phone = new Softphone({
      account: { server, port: kam.ports.udp, username: user, password: "pw-" + user, ...extra },
      speech,
      media: { codecs: ["PCMA", "PCMU"] },
      logSip: true,
      dtmf: { receive: ["rfc4733"] },
    });
    phones.push(phone);
    const events: Seen[] = [];
    const keys: DtmfDigit[] = [];
    const sdp: string[] = [];
    phone.on("call", (state, call) => events.push({ state, call }));
    phone.on("dtmf", (digit) => keys.push(digit));
    phone.on("created", whenPlayed);
    phone.on("sip", (dir, text) => {
      if (dir === "out" && /\r\n\r\nv=0/.test(text)) sdp.push(text.slice(text.indexOf("\r\n\r\n") + 4));
    });
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, `${user} REGISTERED`);
    return { phone, events, keys, sdp };
  }

  /** The newest "received" recording of a peer, once its call ended. */
  async function received(b: Baresip): Promise<Int16Array> {
    const rx = b
      .recordings()
      .filter((r) => r.direction === "rx")
      .sort((a, c) => fs.statSync(a.path).mtimeMs - fs.statSync(c.path).mtimeMs);
    assert.ok(rx.length > 0, "baresip recorded the call");
    return speech.loadAudio(rx[rx.length - 1].path);
  }

  /** RTP of a call: socket family, packets both ways, and no send failure (the 13-of-13 bug). */
  function assertRtp(call: Call, family: "udp4" | "udp6"): void {
    const rtp = call.sdh?.rtp;
    assert.ok(rtp, "the call has an RTP session");
    assert.strictEqual(rtp.socketType, family, `RTP socket ${rtp.socketType} on ${rtp.localAddress}`);
    const st = rtp.stats();
    assert.strictEqual(st.sendErrors, 0, `RTP packets that could not be sent: ${st.sendErrors} of ${st.packetsSent}`);
    assert.ok(st.packetsSent > 50, `RTP sent: ${st.packetsSent}`);
    assert.ok(st.packetsReceived > 20, `RTP received from the peer: ${st.packetsReceived}`);
  }

  before(async () => {
    kam = await startKamailio({
      users: { alice: "pw-alice", bob: "pw-bob", carol: "pw-carol", dave: "pw-dave", erin: "pw-erin", frank: "pw-frank", gina: "pw-gina" },
      ipv6: true,
    });
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "sip-tts-cache-"));
    speech = new SpeechService({ cacheDir });
  });
  after(async () => {
    for (const p of phones) await p.stop();
    await speech?.close();
    for (const b of peers) await b.stop();
    await kam?.stop();
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  for (const [transport, server] of [
    ["udp", "::1"],
    ["tcp", "[::1]"],
    ["tls", "::1"],
    ["ws", "::1"],
  ] as Array<[TransportKind, string]>) {
    it(`registers at ${server} over ${transport.toUpperCase()}: Via and Contact carry [::1]:port`, async () => {
      const port = transport === "udp" || transport === "tcp" ? kam.ports.udp : kam.ports[transport as "tls" | "ws"];
      const phone = new Phone(
        {
          server,
          port,
          transport,
          username: "carol",
          password: "pw-carol",
          expires: 60,
          tlsCa: transport === "tls" ? fs.readFileSync(kam.certPath) : undefined,
        },
        { logSip: true },
      );
      const out: string[] = [];
      phone.on("sip", (dir, text) => {
        if (dir === "out") out.push(text);
      });
      const before = kam.requests("REGISTER").length;
      try {
        await phone.start();
        await waitFor(() => phone.registrationState === "REGISTERED", 10_000, "REGISTERED");
        const seen = kam.requests("REGISTER").slice(before);
        assert.ok(seen.length >= 2 && seen.every((r) => r.srcIp === "::1"), `REGISTERs from ::1: ${JSON.stringify(seen.map((r) => r.srcIp))}`);
        const register = out.find((m) => m.startsWith("REGISTER "))!;
        assert.match(register, /^REGISTER sip:\[::1\](:\d+)?(;\S*)? SIP\/2\.0\r\n/, "the Request-URI brackets the address");
        assert.match(
          register,
          new RegExp(`\\r\\nVia: SIP/2\\.0/${transport === "ws" ? "WS" : transport.toUpperCase()} \\[::1\\]:\\d+;branch=[^;\\r]+;rport`, "i"),
        );
        assert.match(register, /\r\nContact: <sip:[^@>]+@\[::1\]:\d+/);
        const bindings = (await kam.ulDump()).filter((b) => b.aor === "carol");
        assert.strictEqual(bindings.length, 1, JSON.stringify(bindings));
        assert.match(bindings[0].contact, new RegExp(`@\\[::1\\]:\\d+;transport=${transport}`), bindings[0].contact);
      } finally {
        await phone.stop();
      }
      assert.strictEqual((await kam.ulDump()).filter((b) => b.aor === "carol").length, 0, "un-REGISTER removed the binding");
    });
  }

  it("answers a call from baresip on ::1: c=IN IP6, an IPv6 RTP socket, baresip hears the greeting, a key arrives by RFC 4733", async () => {
    const a = await softphone("alice", "::1");
    const bob = await baresip("bob");
    a.phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: GREETING, language: "en-US" }], afterGreeting: "stay" });
    let call: Call | undefined;
    a.phone.once("created", (c: Call) => {
      call = c;
    });
    await bob.dial(kam.uri6("alice"));
    await waitFor(() => a.events.some((e) => e.state === "ANSWERED"), 15_000, "ANSWERED");
    await waitFor(() => !!call && played.has(call.id), 30_000, "the greeting played");
    await bob.sndcode("5");
    await waitFor(() => a.keys.includes("5"), 5000, "the key 5 by RFC 4733");
    assertRtp(call!, "udp6");
    assert.match(a.sdp[0], /\r\nc=IN IP6 ::1\r\n/, a.sdp[0]);
    assert.match(a.sdp[0], /^o=\S+ \d+ \d+ IN IP6 ::1\r\n/m);
    await call!.hangup();
    await waitFor(() => a.events.some((e) => e.state === "ENDED"), 5000, "ENDED");
    await sleep(500);
    const m = speechMatch(await speech.synthesize({ text: GREETING, language: "en-US" }), await received(bob));
    assert.ok(m.score > 0.9, `greeting found in baresip's recording: ${m.score.toFixed(2)}`);
  });

  it("calls baresip on ::1: answered, baresip hears the message, RTP both ways on IPv6", async () => {
    const a = phones[0] ? { phone: phones[0] } : await softphone("alice", "::1");
    const dave = await baresip("dave");
    await sleep(1100); // baresip names recordings by the second
    const call = a.phone.calls.dial("dave", { message: ALARM, language: "en-US" });
    await waitFor(() => call.state === "ANSWERED", 10_000, "ANSWERED");
    await waitFor(() => played.has(call.id), 30_000, "the message played");
    assertRtp(call, "udp6");
    await call.hangup();
    await waitFor(() => !call.active, 5000, "ENDED");
    await sleep(500);
    const m = speechMatch(await speech.synthesize({ text: ALARM, language: "en-US" }), await received(dave));
    assert.ok(m.score > 0.9, `message found in baresip's recording: ${m.score.toFixed(2)}`);
  });

  it("dual-stack: the node registered on 127.0.0.1 answers a phone on ::1 with c=IN IP6: audio both ways", async () => {
    const e = await softphone("erin", "127.0.0.1");
    const bob = peers[0] ?? (await baresip("bob"));
    await sleep(1100);
    e.phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: GREETING, language: "en-US" }], afterGreeting: "stay" });
    let call: Call | undefined;
    e.phone.once("created", (c: Call) => {
      call = c;
    });
    await bob.dial(kam.uri6("erin"));
    await waitFor(() => e.events.some((x) => x.state === "ANSWERED"), 15_000, "ANSWERED");
    await waitFor(() => !!call && played.has(call.id), 30_000, "the greeting played");
    assertRtp(call!, "udp6");
    assert.match(e.sdp[0], /\r\nc=IN IP6 ::1\r\n/, `the answer offers our IPv6 address to the IPv6 phone: ${e.sdp[0]}`);
    await call!.hangup();
    await waitFor(() => e.events.some((x) => x.state === "ENDED"), 5000, "ENDED");
    await sleep(500);
    const m = speechMatch(await speech.synthesize({ text: GREETING, language: "en-US" }), await received(bob));
    assert.ok(m.score > 0.9, `greeting found in baresip's recording: ${m.score.toFixed(2)}`);
  });

  it("dual-stack, the reverse: the node registered on ::1 answers a phone on 127.0.0.1 with c=IN IP4: audio both ways", async () => {
    const f = await softphone("frank", "::1");
    const gina = await baresip("gina", { ipv6: false });
    await sleep(1100);
    f.phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: ALARM, language: "en-US" }], afterGreeting: "stay" });
    let call: Call | undefined;
    f.phone.once("created", (c: Call) => {
      call = c;
    });
    await gina.dial(kam.uri("frank"));
    await waitFor(() => f.events.some((x) => x.state === "ANSWERED"), 15_000, "ANSWERED");
    await waitFor(() => !!call && played.has(call.id), 30_000, "the message played");
    assertRtp(call!, "udp6");
    assert.match(f.sdp[0], /\r\nc=IN IP4 127\.0\.0\.1\r\n/, `the answer offers our IPv4 address to the IPv4 phone: ${f.sdp[0]}`);
    await call!.hangup();
    await waitFor(() => f.events.some((x) => x.state === "ENDED"), 5000, "ENDED");
    await sleep(500);
    const m = speechMatch(await speech.synthesize({ text: ALARM, language: "en-US" }), await received(gina));
    assert.ok(m.score > 0.9, `message found in baresip's recording: ${m.score.toFixed(2)}`);
  });

  it("an IPv6-only LAN: the server by a name with only an AAAA record (dnsmasq) → registered over [::1], a call answered with c=IN IP6", async () => {
    const dns = await startDnsmasq({ hosts: [{ name: "pbx6.test", address: "::1" }] });
    try {
      const a = await softphone("carol", "pbx6.test", { dnsServers: [dns.server] });
      assert.deepStrictEqual(a.phone.phone.transport.nextHop, { address: "::1", port: kam.ports.udp });
      assert.ok(dns.queries().includes("AAAA pbx6.test"), dns.queries().join(", "));
      const dave = peers.find((p) => p.user === "dave") ?? (await baresip("dave"));
      a.phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: GREETING, language: "en-US" }], afterGreeting: "stay" });
      let call: Call | undefined;
      a.phone.once("created", (c: Call) => {
        call = c;
      });
      await dave.dial(kam.uri6("carol"));
      await waitFor(() => a.events.some((e) => e.state === "ANSWERED"), 15_000, "ANSWERED");
      await waitFor(() => !!call && played.has(call.id), 30_000, "the greeting played");
      assertRtp(call!, "udp6");
      assert.match(a.sdp[0], /\r\nc=IN IP6 ::1\r\n/, a.sdp[0]);
      await call!.hangup();
      await waitFor(() => a.events.some((e) => e.state === "ENDED"), 5000, "ENDED");
    } finally {
      await dns.stop();
    }
  });
});
