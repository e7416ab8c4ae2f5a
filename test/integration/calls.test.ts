// Calls that speak, against real peers: Kamailio (registrar/proxy), baresip (a phone)
// and SIPp, all on 127.0.0.1. Audio is checked in baresip's own recordings against
// the node's synthesis of the same text.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { runSipp } from "../support/sipp";
import { waitFor, sleep } from "../support/wait";
import { speechMatch } from "../support/audio-match";
import { mulaw } from "alawmulaw";
import { Softphone } from "../../src/softphone";
import { SpeechService, encodeWav } from "../../src/speech";
import type { CallInfo, CallState } from "../../src/types";

const GREETING = "Hello, you have reached the house. Nobody can take your call right now.";
const SPECIAL = "Bonjour Bob, the garage door is open.";
const ALARM = "Attention please. The alarm in the living room went off two minutes ago.";

interface Seen {
  state: CallState;
  call: CallInfo;
}

describe("calls through Kamailio", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let phone: Softphone;
  let bob: Baresip;
  let cacheDir: string;
  const events: Seen[] = [];
  const peers: Baresip[] = [];
  const ofCall = (id: string) => events.filter((e) => e.call.id === id);

  async function baresip(user: string, opts: Partial<Parameters<typeof startBaresip>[0]> = {}): Promise<Baresip> {
    const b = await startBaresip({ user, password: "pw-" + user, kamailio: kam, answerMode: "auto", ...opts });
    peers.push(b);
    if (opts.regint !== 0) await b.waitRegistered();
    return b;
  }

  /** The newest "received" recording of a peer, once its call ended (sndfile finalises the header then). */
  async function received(b: Baresip): Promise<Int16Array> {
    const rx = b
      .recordings()
      .filter((r) => r.direction === "rx")
      .sort((a, c) => fs.statSync(a.path).mtimeMs - fs.statSync(c.path).mtimeMs);
    assert.ok(rx.length > 0, "baresip recorded the call");
    return speech.loadAudio(rx[rx.length - 1].path);
  }

  before(async () => {
    kam = await startKamailio({
      users: {
        alice: "secret",
        "pw-bob": "x",
        bob: "pw-bob",
        carol: "pw-carol",
        dave: "pw-dave",
        erin: "pw-erin",
        frank: "pw-frank",
        gina: "pw-gina",
        henry: "pw-henry",
      },
    });
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "sip-tts-cache-"));
    speech = new SpeechService({ cacheDir });
    phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
      speech,
      media: { codecs: ["PCMA", "PCMU"] },
      maxCalls: 30,
    });
    phone.on("call", (state, call) => events.push({ state, call }));
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "alice REGISTERED");
    bob = await baresip("bob");
  });
  after(async () => {
    await phone?.stop();
    await speech?.close();
    for (const b of peers) await b.stop();
    await kam?.stop();
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it("answers an incoming call and baresip hears the greeting (checked against our synthesis)", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: GREETING, language: "en-US" }], afterGreeting: "hangup" });
    const since = events.length;
    await bob.dial(kam.uri("alice"));
    await waitFor(() => events.slice(since).some((e) => e.state === "ENDED"), 30_000, "the call to end after the greeting");
    const call = events.slice(since)[0].call;
    assert.deepStrictEqual(
      ofCall(call.id).map((e) => e.state),
      ["RINGING", "ANSWERED", "ENDED"],
    );
    const ended = ofCall(call.id)[2].call;
    assert.strictEqual(ended.direction, "inbound");
    assert.strictEqual(ended.from.number, "bob");
    assert.strictEqual(ended.outcome, "completed");
    assert.strictEqual(ended.hungUpBy, "local");
    assert.ok(ended.codec === "PCMA" || ended.codec === "PCMU");
    await sleep(500);
    const heard = await received(bob);
    if (process.env.KEEP_AUDIO) fs.writeFileSync("/tmp/heard.raw", Buffer.from(heard.buffer));
    const same = speechMatch(await speech.synthesize({ text: GREETING, language: "en-US" }), heard);
    const other = speechMatch(await speech.synthesize({ text: ALARM, language: "en-US" }), heard);
    if (process.env.SHOW_SCORES) console.log("scores", same, other);
    assert.ok(same.score > 0.9, `greeting found in the recording: score ${same.score.toFixed(2)}`);
    assert.ok(other.score < same.score - 0.2, `a different sentence scores lower: ${other.score.toFixed(2)} vs ${same.score.toFixed(2)}`);
  });

  it("a caller's own greeting wins over the generic one", async () => {
    phone.calls.setInboundPolicy({
      autoAnswer: true,
      afterGreeting: "hangup",
      greetings: [
        { number: "", message: GREETING },
        { number: "bo?", message: "wildcard" },
        { number: "bob", message: SPECIAL, language: "fr-FR" },
      ],
    });
    await sleep(1100); // baresip names recordings by the second
    const since = events.length;
    await bob.dial(kam.uri("alice"));
    await waitFor(() => events.slice(since).some((e) => e.state === "ENDED"), 30_000, "ENDED");
    await sleep(500);
    const heard = await received(bob);
    const special = speechMatch(await speech.synthesize({ text: SPECIAL, language: "fr-FR" }), heard);
    const generic = speechMatch(await speech.synthesize({ text: GREETING, language: "en-US" }), heard);
    assert.ok(special.score > 0.8 && special.score > generic.score, `specific ${special.score.toFixed(2)} vs generic ${generic.score.toFixed(2)}`);
  });

  it("dials baresip: DIALING, RINGING, ANSWERED, baresip hears the message; remote hang-up ends it", async () => {
    // A callee that rings first and is answered by hand, so RINGING is certain.
    const gina = await baresip("gina", { answerMode: "manual" });
    try {
      await sleep(1100);
      const mark = gina.mark();
      const call = phone.calls.dial("gina", { message: ALARM, language: "en-US" });
      await waitFor(() => ofCall(call.id).some((e) => e.state === "RINGING"), 10_000, "RINGING");
      await gina.waitEvent("CALL_INCOMING", 5000, { since: mark });
      await sleep(300);
      await gina.accept();
      await waitFor(() => ofCall(call.id).some((e) => e.state === "ANSWERED"), 10_000, "ANSWERED");
      await waitFor(
        () => !call.playback.playing && call.info.answeredAt && Date.now() - Date.parse(call.info.answeredAt) > 1000,
        20_000,
        "the message to be played",
      );
      await gina.hangup();
      await waitFor(() => ofCall(call.id).some((e) => e.state === "ENDED"), 10_000, "ENDED");
      assert.deepStrictEqual(
        ofCall(call.id).map((e) => e.state),
        ["DIALING", "RINGING", "ANSWERED", "ENDED"],
      );
      const ended = ofCall(call.id).at(-1)!.call;
      assert.strictEqual(ended.outcome, "completed");
      assert.strictEqual(ended.hungUpBy, "remote");
      assert.strictEqual(ended.to.number, "gina");
      assert.ok(ended.ringingAt && ended.answeredAt && ended.endedAt && ended.durationSeconds! > 0);
      await sleep(500);
      const m = speechMatch(await speech.synthesize({ text: ALARM, language: "en-US" }), await received(gina));
      assert.ok(m.score > 0.9, `message found in baresip's recording: ${m.score.toFixed(2)}`);
    } finally {
      await gina.stop();
      peers.splice(peers.indexOf(gina), 1);
    }
  });

  it("busy: the callee rejects → ENDED busy (486)", async () => {
    const carol = await baresip("carol", { answerMode: "manual" });
    const call = phone.calls.dial("carol");
    await waitFor(() => ofCall(call.id).some((e) => e.state === "RINGING"), 10_000, "RINGING");
    await carol.busy();
    await waitFor(() => ofCall(call.id).some((e) => e.state === "ENDED"), 10_000, "ENDED");
    const ended = ofCall(call.id).at(-1)!.call;
    assert.strictEqual(ended.outcome, "busy");
    assert.strictEqual(ended.statusCode, 486);
  });

  it("no answer: the ring timeout cancels → ENDED no-answer", async () => {
    const dave = await baresip("dave", { answerMode: "manual" });
    const call = phone.calls.dial("dave", { ringTimeoutSeconds: 2 });
    await waitFor(() => ofCall(call.id).some((e) => e.state === "ENDED"), 15_000, "ENDED");
    const ended = ofCall(call.id).at(-1)!.call;
    assert.strictEqual(ended.outcome, "no-answer");
    assert.strictEqual(ended.reason, "ring timeout");
    await dave.waitEvent("CALL_CLOSED", 5000);
  });

  for (const [codec, user] of [
    ["PCMA", "erin"],
    ["PCMU", "frank"],
  ] as const) {
    it(`serves a ${codec}-only peer, which hears the message`, async () => {
      const erin = await baresip(user, { codecs: [codec] });
      await sleep(1100);
      const call = phone.calls.dial(user, { message: GREETING });
      await waitFor(() => ofCall(call.id).some((e) => e.state === "ANSWERED"), 10_000, "ANSWERED");
      assert.strictEqual(call.info.codec, codec);
      await waitFor(
        () => !!call.info.answeredAt && Date.now() - Date.parse(call.info.answeredAt) > 1500 && !call.playback.playing,
        20_000,
        "message played",
      );
      await call.hangup();
      await waitFor(() => !call.active, 5000, "ENDED");
      await sleep(500);
      const m = speechMatch(await speech.synthesize({ text: GREETING }), await received(erin));
      assert.ok(m.score > 0.8, `${codec}: ${m.score.toFixed(2)}`);
      await erin.stop();
      peers.splice(peers.indexOf(erin), 1);
    });
  }

  it("a G.729-only offer gets 488 and an ENDED codec-mismatch message", async () => {
    const since = events.length;
    const r = await runSipp({ scenario: "uac-g729-only", target: `127.0.0.1:${kam.ports.udp}`, service: "alice", timeoutMs: 15_000 });
    assert.match(r.messages, /SIP\/2\.0 488/, "SIPp received 488");
    const e = events.slice(since).find((x) => x.state === "ENDED");
    assert.ok(e, "an ENDED event was emitted");
    assert.strictEqual(e.call.outcome, "codec-mismatch");
    assert.strictEqual(e.call.statusCode, 488);
  });

  it("SIPp places 20 concurrent calls: all answered, all hear audio", async function () {
    this.timeout(90_000);
    phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: GREETING }], afterGreeting: "repeat" });
    const heard = new Map<string, number>();
    const onCreated = (c: import("../../src/call/call").Call) => {
      c.on("media", (sdh) =>
        sdh.on("rtp", (rtp) =>
          rtp.on("audio", (pcm) => {
            // SIPp echoes our RTP back (-rtp_echo): loud frames prove the peer received our speech.
            let peak = 0;
            for (const s of pcm) peak = Math.max(peak, Math.abs(s));
            if (peak > 2000) heard.set(c.id, (heard.get(c.id) ?? 0) + 1);
          }),
        ),
      );
    };
    phone.on("created", onCreated);
    const since = events.length;
    const r = await runSipp({
      scenario: "uac-call",
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "alice",
      calls: 20,
      rate: 20,
      holdMs: 8000,
      args: ["-l", "20", "-rtp_echo"],
      timeoutMs: 60_000,
    });
    phone.off("created", onCreated);
    const answered = new Set(
      events
        .slice(since)
        .filter((e) => e.state === "ANSWERED")
        .map((e) => e.call.id),
    );
    assert.strictEqual(r.successful, 20, `SIPp: ${r.successful} ok, ${r.failed} failed\n${r.errors.slice(0, 2000)}`);
    assert.strictEqual(answered.size, 20);
    const withAudio = [...answered].filter((id) => (heard.get(id) ?? 0) > 50);
    assert.strictEqual(withAudio.length, 20, `calls whose audio came back: ${withAudio.length}`);
  });

  it("late offer (INVITE without SDP): we offer in the 200 OK and take the answer from the ACK", async () => {
    phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: GREETING }] });
    const since = events.length;
    const r = await runSipp({ scenario: "uac-late-offer", target: `127.0.0.1:${kam.ports.udp}`, service: "alice", holdMs: 1500, timeoutMs: 20_000 });
    assert.strictEqual(r.successful, 1, r.errors);
    const mine = events.slice(since);
    assert.deepStrictEqual(
      mine.map((e) => e.state),
      ["RINGING", "ANSWERED", "ENDED"],
    );
    assert.strictEqual(mine[2].call.codec, "PCMU", "the codec from the answer in the ACK");
    assert.strictEqual(mine[2].call.hungUpBy, "remote");
  });

  it("beyond the maximum number of calls: 486 and an ENDED rejected message", async () => {
    phone.calls.configure({ maxCalls: 1 });
    try {
      phone.calls.setInboundPolicy({ autoAnswer: true, greetings: [{ number: "", message: GREETING }], afterGreeting: "repeat" });
      const first = phone.calls.dial("bob");
      await waitFor(() => first.state === "ANSWERED", 10_000, "first call answered");
      const since = events.length;
      const r = await runSipp({ scenario: "uac-call", target: `127.0.0.1:${kam.ports.udp}`, service: "alice", timeoutMs: 15_000 });
      assert.match(r.messages, /SIP\/2\.0 486/);
      const e = events.slice(since).find((x) => x.state === "ENDED" && x.call.direction === "inbound");
      assert.strictEqual(e?.call.outcome, "rejected");
      assert.strictEqual(e?.call.statusCode, 486);
      await first.hangup();
      await waitFor(() => !first.active, 5000, "ENDED");
    } finally {
      phone.calls.configure({ maxCalls: 30 });
    }
  });

  it("the peer puts us on hold (re-INVITE sendonly): we stop sending audio, and resume after", async () => {
    const call = phone.calls.dial("bob", { message: GREETING });
    await waitFor(() => call.state === "ANSWERED" && !!call.sdh?.rtp, 10_000, "ANSWERED");
    await sleep(500);
    await bob.command("hold");
    await waitFor(() => call.sdh!.onHold || call.sdh!.negotiated?.direction === "recvonly", 5000, "hold seen");
    await sleep(200);
    const sentOnHold = call.sdh!.rtp!.stats().packetsSent;
    await sleep(1000);
    assert.ok(call.sdh!.rtp!.stats().packetsSent - sentOnHold <= 2, "no audio sent while held");
    await bob.command("resume");
    await waitFor(() => call.sdh!.negotiated?.direction === "sendrecv", 5000, "resumed");
    const resumed = call.sdh!.rtp!.stats().packetsSent;
    await sleep(1000);
    assert.ok(call.sdh!.rtp!.stats().packetsSent - resumed >= 40, "sending again");
    await call.hangup();
    await waitFor(() => !call.active, 5000, "ENDED");
  });

  it("maximum call duration: the node hangs up", async () => {
    phone.calls.configure({ maxDurationSeconds: 2 });
    try {
      const call = phone.calls.dial("bob");
      await waitFor(() => call.state === "ANSWERED", 10_000, "ANSWERED");
      const t0 = Date.now();
      await waitFor(() => !call.active, 8000, "hung up by the limit");
      const ended = ofCall(call.id).at(-1)!.call;
      assert.strictEqual(ended.hungUpBy, "local");
      assert.strictEqual(ended.reason, "maximum call duration");
      assert.ok(Date.now() - t0 >= 1500);
    } finally {
      phone.calls.configure({ maxDurationSeconds: 3600 });
    }
  });

  it("dials through a proxy that challenges the INVITE (407)", async () => {
    const kam2 = await startKamailio({ users: { alice: "secret", bob: "pw-bob" }, authInvite: true });
    const speech2 = new SpeechService({});
    const p2 = new Softphone({ account: { server: "127.0.0.1", port: kam2.ports.udp, username: "alice", password: "secret" }, speech: speech2 });
    const b2 = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam2, answerMode: "auto" });
    try {
      await p2.start();
      await b2.waitRegistered();
      await waitFor(() => p2.phone.registrationState === "REGISTERED", 10_000, "REGISTERED");
      const call = p2.calls.dial("bob");
      await waitFor(() => call.state === "ANSWERED", 10_000, "ANSWERED after the 407 challenge");
      // Kamailio's log lines arrive on its stderr a little after the call is up.
      await waitFor(
        () => kam2.requests("INVITE").filter((r) => r.fromUser === "alice").length >= 2,
        5000,
        "INVITE challenged, then sent with credentials",
      );
      await call.hangup();
    } finally {
      await p2.stop();
      await speech2.close();
      await b2.stop();
      await kam2.stop();
    }
  });

  it("plays raw G.711 (msg.format pcmu) and a WAV Buffer into a call; baresip hears both", async () => {
    await sleep(1100);
    const call = phone.calls.dial("bob");
    await waitFor(() => call.state === "ANSWERED", 10_000, "ANSWERED");
    const speechPcm = await speech.synthesize({ text: SPECIAL, language: "fr-FR" });
    const wavPcm = await speech.synthesize({ text: ALARM, language: "en-US" });
    await phone.calls.play(call, Buffer.from(mulaw.encode(speechPcm)), { format: "pcmu" });
    await phone.calls.play(call, encodeWav(wavPcm, 8000));
    await assert.rejects(phone.calls.play(call, "/no/such/file.wav"), /no such file|ENOENT/i);
    await waitFor(() => !call.playback.playing, 20_000, "both played");
    await call.hangup();
    await waitFor(() => !call.active, 5000, "ENDED");
    await sleep(500);
    const heard = await received(bob);
    assert.ok(speechMatch(speechPcm, heard).score > 0.9, "raw PCMU clip heard");
    assert.ok(speechMatch(wavPcm, heard).score > 0.9, "WAV clip heard");
  });

  it("no free RTP port: the call is refused and ENDED says why; the account keeps working", async () => {
    const blocker = (await import("dgram")).createSocket("udp4");
    await new Promise<void>((r) => blocker.bind(0, "0.0.0.0", () => r()));
    const busyPort = blocker.address().port;
    const port = busyPort % 2 === 0 ? busyPort : busyPort - 1; // the range holds only this (even) port, taken
    const blocker2 = (await import("dgram")).createSocket("udp4");
    if (port !== busyPort)
      await new Promise<void>((r, j) => {
        blocker2.once("error", j);
        blocker2.bind(port, "0.0.0.0", () => r());
      }).catch(() => undefined);
    const seen: Array<{ state: CallState; call: CallInfo }> = [];
    const tiny = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "henry", password: "pw-henry" },
      speech,
      media: { rtpPortMin: port, rtpPortMax: port + 1 },
    });
    tiny.on("call", (state, call) => seen.push({ state, call }));
    try {
      await tiny.start();
      await waitFor(() => tiny.phone.registrationState === "REGISTERED", 10_000, "henry REGISTERED");
      const r = await runSipp({ scenario: "uac-call", target: `127.0.0.1:${kam.ports.udp}`, service: "henry", timeoutMs: 15_000 });
      assert.strictEqual(r.successful, 0, "the call was not set up");
      await waitFor(() => seen.some((e) => e.state === "ENDED"), 5000, "ENDED");
      const ended = seen.find((e) => e.state === "ENDED")!.call;
      assert.strictEqual(ended.outcome, "failed");
      assert.match(ended.reason ?? "", /could not answer: .*(port|EADDRINUSE)/i);
      assert.strictEqual(tiny.phone.registrationState, "REGISTERED");
    } finally {
      await tiny.stop();
      blocker.close();
      try {
        blocker2.close();
      } catch {
        /* not bound */
      }
    }
  });
});
