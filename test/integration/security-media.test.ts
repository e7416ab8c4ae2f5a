// Issue 8, RTP that cannot be stolen: real peers on loopback (Kamailio on 127.0.0.1, baresip),
// and raw UDP attackers on other loopback addresses (Linux routes all of 127/8 to lo).
//  - a sprayer on 127.0.0.2 floods the whole RTP port range with RFC 4733 "1" events and
//    audio, during ringing and after the answer: no forged key, the real peer keeps its audio
//    and its keys;
//  - an INVITE (through Kamailio) whose SDP names a third party on 127.0.0.3, never ACKed:
//    the third party receives no RTP;
//  - a caller floods keys: the per-call state stays bounded.
import assert from "assert";
import dgram from "dgram";
import fs from "fs";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { runSipp, scenarioPath } from "../support/sipp";
import { waitFor, sleep } from "../support/wait";
import { freePortRange, releasePort } from "../support/ports";
import { speechMatch } from "../support/audio-match";
import { Softphone } from "../../src/softphone";
import { SpeechService } from "../../src/speech";
import { serializeRtp } from "../../src/media/rtp-packet";
import { MAX_RFC4733_STREAMS } from "../../src/dtmf/rfc4733";
import { MAX_CODE_KEYS } from "../../src/dtmf/collector";
import type { CallInfo, CallState } from "../../src/types";
import type { Call } from "../../src/call/call";

const ALARM = "Attention please. The alarm in the living room went off two minutes ago.";
const RTP_PORTS = 20;

function bindUdp(address: string, port = 0): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(port, address, () => resolve(s));
  });
}

function eventPacket(ssrc: number, seq: number, timestamp: number, digit: number, end = false): Buffer {
  return serializeRtp({ marker: !end, payloadType: 101, sequenceNumber: seq, timestamp, ssrc }, Buffer.from([digit, (end ? 0x80 : 0) | 10, 0, 160]));
}

/** Sprays every port of [min, max] from `socket` every 10 ms: "1" events (PT 101) and PCMU noise. */
function spray(socket: dgram.Socket, min: number, max: number): { stop(): void; sent(): number } {
  let seq = 0;
  let sent = 0;
  const timer = setInterval(() => {
    seq++;
    for (let port = min; port <= max; port++) {
      const ev = eventPacket(0x5eed0000 + port, seq & 0xffff, (seq * 160) >>> 0, 1, seq % 2 === 0);
      const audio = serializeRtp(
        { payloadType: 0, sequenceNumber: seq & 0xffff, timestamp: (seq * 160) >>> 0, ssrc: 0xbad00000 + port },
        Buffer.alloc(160, 0x11),
      );
      socket.send(ev, port, "127.0.0.1");
      socket.send(audio, port, "127.0.0.1");
      sent += 2;
    }
  }, 10);
  return { stop: () => clearInterval(timer), sent: () => sent };
}

describe("security: RTP through Kamailio (issue 8)", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let phone: Softphone;
  let rtpMin = 0;
  const keys: { digit: string; call: CallInfo }[] = [];
  const states: { state: CallState; call: CallInfo }[] = [];
  const sockets: dgram.Socket[] = [];
  const played: string[] = [];
  const peers: Baresip[] = [];

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob", carol: "pw-carol", zed: "pw-zed" } });
    speech = new SpeechService({});
    rtpMin = await freePortRange(RTP_PORTS, "udp", 2);
    phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
      speech,
      media: { codecs: ["PCMU"], rtpPortMin: rtpMin, rtpPortMax: rtpMin + RTP_PORTS - 1 },
    });
    phone.on("dtmf", (digit, _m, call) => keys.push({ digit, call }));
    phone.on("call", (state, call) => states.push({ state, call }));
    phone.on("playback", (what, call) => {
      if (what === "finished") played.push(call.id);
    });
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "alice REGISTERED");
  });
  after(async () => {
    await phone?.stop();
    await speech?.close();
    for (const b of peers) await b.stop();
    for (const s of sockets) s.close();
    await kam?.stop();
    if (rtpMin) releasePort(...Array.from({ length: RTP_PORTS }, (_, i) => rtpMin + i));
  });

  async function udp(address: string, port = 0): Promise<dgram.Socket> {
    const s = await bindUdp(address, port);
    sockets.push(s);
    return s;
  }

  it("RTP spraying across the port range during ringing and after the answer: no forged key, audio and real keys intact", async () => {
    const attacker = await udp("127.0.0.2");
    const bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "manual", codecs: ["PCMU"] });
    peers.push(bob);
    await bob.waitRegistered();
    const sprayer = spray(attacker, rtpMin, rtpMin + RTP_PORTS - 1);
    try {
      const mark = bob.mark();
      const call = phone.calls.dial("bob", { message: ALARM, language: "en-US" });
      await bob.waitEvent("CALL_INCOMING", 10_000, { since: mark });
      await sleep(800); // ringing, under fire
      assert.deepStrictEqual(
        keys.filter((k) => k.call.id === call.id),
        [],
        "no key while ringing",
      );
      await bob.accept();
      await waitFor(() => call.state === "ANSWERED", 10_000, "ANSWERED");
      await sleep(1000); // answered, under fire
      await bob.sndcode("5");
      await waitFor(() => keys.some((k) => k.call.id === call.id), 5000, "baresip's key");
      await sleep(4000); // the message plays to the end, the spray goes on
      const rtp = call.sdh?.rtp;
      assert.ok(rtp, "the call has RTP");
      const stats = rtp.stats();
      assert.ok(stats.ignoredFromOtherSources > 100, `the spray reached our port and was dropped: ${JSON.stringify(stats)}`);
      assert.deepStrictEqual(rtp.latched?.address, "127.0.0.1", "latched on baresip, not on the sprayer");
      assert.deepStrictEqual(
        keys.filter((k) => k.call.id === call.id).map((k) => k.digit),
        ["5"],
        "only the real key",
      );
      await waitFor(() => played.includes(call.id), 20_000, "the message to be played");
      await call.hangup();
      await waitFor(() => !call.active, 5000, "ENDED");
    } finally {
      sprayer.stop();
    }
    await sleep(500);
    const rx = bob
      .recordings()
      .filter((r) => r.direction === "rx")
      .sort((a, c) => fs.statSync(a.path).mtimeMs - fs.statSync(c.path).mtimeMs);
    assert.ok(rx.length > 0, "baresip recorded the call");
    const heard = await speech.loadAudio(rx[rx.length - 1].path);
    const match = speechMatch(await speech.synthesize({ text: ALARM, language: "en-US" }), heard);
    assert.ok(match.score > 0.8, `baresip heard our message despite the spray: score ${match.score.toFixed(2)}`);
  });

  it("strict mode, incoming call: a sprayer from the call's start gets nothing through; the caller's audio and key do", async () => {
    const min = await freePortRange(RTP_PORTS, "udp", 2);
    const strict = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "zed", password: "pw-zed" },
      speech,
      media: { codecs: ["PCMU"], rtpPortMin: min, rtpPortMax: min + RTP_PORTS - 1, rtpSecurity: "strict" },
    });
    const heard: string[] = [];
    const done: string[] = [];
    strict.on("dtmf", (d) => heard.push(d));
    strict.on("playback", (what, call) => {
      if (what === "finished") done.push(call.id);
    });
    strict.calls.setInboundPolicy({ autoAnswer: true, answerDelaySeconds: 1, greetings: [{ number: "", message: ALARM, language: "en-US" }] });
    const attacker = await udp("127.0.0.2");
    const carol = await startBaresip({ user: "carol", password: "pw-carol", kamailio: kam, answerMode: "auto", codecs: ["PCMU"] });
    peers.push(carol);
    const sprayer = spray(attacker, min, min + RTP_PORTS - 1);
    try {
      await strict.start();
      await carol.waitRegistered();
      await waitFor(() => strict.phone.registrationState === "REGISTERED", 10_000, "zed REGISTERED");
      await carol.dial(kam.uri("zed"));
      await waitFor(() => strict.calls.list().some((c) => c.state === "ANSWERED"), 10_000, "answered");
      const call = strict.calls.list().find((c) => c.state === "ANSWERED")!;
      await carol.waitEvent("CALL_ESTABLISHED", 5000);
      await sleep(1000);
      await carol.sndcode("7");
      await waitFor(() => heard.length > 0, 5000, "carol's key");
      await waitFor(() => done.includes(call.id), 20_000, "the greeting to be played");
      const stats = call.sdh!.rtp!.stats();
      assert.ok(stats.ignoredFromOtherSources > 100, `the spray was dropped: ${JSON.stringify(stats)}`);
      assert.strictEqual(call.sdh!.rtp!.latched, null, "strict mode never latches");
      assert.deepStrictEqual(heard, ["7"]);
      await call.hangup();
      await waitFor(() => !call.active, 5000, "ENDED");
    } finally {
      sprayer.stop();
      await strict.stop();
      releasePort(...Array.from({ length: RTP_PORTS }, (_, i) => min + i));
    }
    await sleep(500);
    const rx = carol
      .recordings()
      .filter((r) => r.direction === "rx")
      .sort((a, c) => fs.statSync(a.path).mtimeMs - fs.statSync(c.path).mtimeMs);
    const match = speechMatch(await speech.synthesize({ text: ALARM, language: "en-US" }), await speech.loadAudio(rx[rx.length - 1].path));
    assert.ok(match.score > 0.8, `carol heard the greeting despite the spray: score ${match.score.toFixed(2)}`);
  });

  it("an INVITE whose SDP names a third party, never ACKed: the third party receives no RTP", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: ALARM, language: "en-US" }] });
    const victim = await udp("127.0.0.3");
    const victimPort = victim.address().port;
    let reflected = 0;
    victim.on("message", () => reflected++);
    const attacker = await udp("127.0.0.4");
    const responses: string[] = [];
    attacker.on("message", (m) => responses.push(m.toString("latin1")));
    const aPort = attacker.address().port;
    const sdp = [
      "v=0",
      "o=- 1 1 IN IP4 127.0.0.3",
      "s=-",
      "c=IN IP4 127.0.0.3",
      "t=0 0",
      `m=audio ${victimPort} RTP/AVP 0 101`,
      "a=rtpmap:0 PCMU/8000",
      "a=rtpmap:101 telephone-event/8000",
      "a=sendrecv",
      "",
    ].join("\r\n");
    const callId = `reflect-${Date.now()}@127.0.0.4`;
    const invite = [
      `INVITE sip:alice@127.0.0.1:${kam.ports.udp} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.4:${aPort};branch=z9hG4bK-reflect-${Date.now()};rport`,
      `From: <sip:mallory@127.0.0.4>;tag=m1`,
      `To: <sip:alice@127.0.0.1>`,
      `Call-ID: ${callId}`,
      "CSeq: 1 INVITE",
      `Contact: <sip:mallory@127.0.0.4:${aPort}>`,
      "Max-Forwards: 70",
      "Content-Type: application/sdp",
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      "",
      sdp,
    ].join("\r\n");
    const since = states.length;
    attacker.send(invite, kam.ports.udp, "127.0.0.1");
    await waitFor(() => responses.some((r) => /^SIP\/2\.0 200/.test(r)), 10_000, "the 200 OK (never ACKed)");
    const call = states.slice(since).find((s) => s.call.from.number === "mallory")?.call;
    assert.ok(call, "the call reached the phone");
    await sleep(3000); // the greeting would be playing by now
    assert.strictEqual(reflected, 0, "no RTP towards the address named in the SDP");
    const live = phone.calls.get(call.id);
    assert.ok(live?.sdh?.rtp, "RTP was opened for the call");
    assert.strictEqual(live.sdh.rtp.stats().packetsSent, 0);
    // Clean up: hang up (sip.js holds the BYE until the ACK), then ACK at last so it goes out.
    void live.hangup();
    const ok = responses.find((r) => /^SIP\/2\.0 200/.test(r))!;
    const lines = ok.split("\r\n");
    const header = (name: string) =>
      lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(l.indexOf(":") + 1).trim());
    const contact = /<([^>]+)>/.exec(header("Contact")[0])![1];
    const routes = header("Record-Route")
      .flatMap((v) => v.split(/,(?=\s*<)/))
      .map((r) => r.trim())
      .reverse();
    const ack = [
      `ACK ${contact} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.4:${aPort};branch=z9hG4bK-reflect-ack-${Date.now()};rport`,
      ...routes.map((r) => `Route: ${r}`),
      `From: <sip:mallory@127.0.0.4>;tag=m1`,
      `To: ${header("To")[0]}`,
      `Call-ID: ${callId}`,
      "CSeq: 1 ACK",
      "Max-Forwards: 70",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    attacker.send(ack, kam.ports.udp, "127.0.0.1");
    await waitFor(() => !live.active, 40_000, "ENDED");
  });

  it("a caller's key flood keeps the per-call DTMF state bounded", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true });
    const flooder = await udp("127.0.0.1");
    const fPort = flooder.address().port;
    // SIPp's usual call, with our raw socket as its media address: it ACKs, holds, then hangs up.
    const xml = fs
      .readFileSync(scenarioPath("uac-call"), "utf8")
      .replace(/\[media_ip\]/g, "127.0.0.1")
      .replace(/\[media_port\]/g, String(fPort));
    const since = states.length;
    const done = runSipp({ scenario: { xml }, target: `127.0.0.1:${kam.ports.udp}`, service: "alice", holdMs: 6000, timeoutMs: 30_000 });
    await waitFor(() => states.slice(since).some((s) => s.state === "ANSWERED"), 10_000, "ANSWERED");
    const info = states.slice(since).find((s) => s.state === "ANSWERED")!.call;
    const call = phone.calls.get(info.id) as Call;
    await waitFor(() => !!call.sdh?.rtp, 5000, "RTP open");
    const port = call.sdh!.rtp!.localPort;
    await sleep(300); // the ACK is in
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      // Every packet a new key (new timestamp); in the second half the SSRC changes too, to try the SSRC map.
      const ssrc = i < N / 2 ? 0x1000 : 0x1000 + i;
      flooder.send(eventPacket(ssrc, i & 0xffff, (i * 800) >>> 0, i % 10), port, "127.0.0.1");
      if (i % 500 === 499) await sleep(5);
    }
    await sleep(500);
    const dtmf = (
      phone as unknown as { dtmfByCall: WeakMap<Call, { receivers: Map<string, { streamCount: number }>; collector: { pending: string } }> }
    ).dtmfByCall.get(call)!;
    const rfc4733 = dtmf.receivers.get("rfc4733")!;
    const got = keys.filter((k) => k.call.id === info.id).length;
    assert.ok(got > 0, "keys from the caller arrive");
    assert.ok(rfc4733.streamCount <= MAX_RFC4733_STREAMS, `SSRC state bounded: ${rfc4733.streamCount}`);
    assert.ok(dtmf.collector.pending.length < MAX_CODE_KEYS, `key buffer bounded: ${dtmf.collector.pending.length}`);
    const r = await done;
    assert.strictEqual(r.successful, 1, r.errors);
  });
});
