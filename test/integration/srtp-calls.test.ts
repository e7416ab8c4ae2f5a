// SRTP calls on the wire (issue 10 item 1): baresip with its srtp module, over TLS through Kamailio,
// both directions, from a Node-RED flow and from the core. Audio heard both ways (baresip's
// recording, what we decrypt), the RTP on the wire captured with tshark is not plain G.711, keys
// never in the SIP trace; a=crypto over UDP refused by default; mandatory against a plain peer: 488.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip, BaresipOptions } from "../support/baresip";
import { speechMatch } from "../support/audio-match";
import { captureOnLo, g711Payloads } from "../support/tshark";
import { waitFor, sleep } from "../support/wait";
import { Softphone } from "../../src/softphone";
import { SpeechService } from "../../src/speech";
import type { AccountOptions } from "../../src/phone/account";
import type { CallInfo, CallState } from "../../src/types";
import type { RtpStream } from "../../src/media/worker/media-stream";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
/* eslint-enable @typescript-eslint/no-require-imports */
helper.init(require.resolve("node-red"));

const GREETING = "Hello, this call is encrypted. Nobody on the network can listen to it.";
const MESSAGE = "Attention please. The alarm in the living room went off two minutes ago.";
const BARESIP_TONE_HZ = 440;

/** What is sent to baresip's RTP ports, captured with tshark on lo, decoded as if it were plain PCMU. */
async function captureAsPlain(ports: [number, number]): Promise<{ stop(): Promise<{ packets: number; pcm: Int16Array }> }> {
  const range = `${ports[0]}-${ports[1]}`;
  const cap = await captureOnLo(`udp dst portrange ${range} and dst host 127.0.0.1`);
  // The payload as a plain decoder sees it (SRTP's tag included: it is part of the packet).
  return { stop: async () => g711Payloads(await cap.stop({ decodeAs: [`udp.port==${range},rtp`], fields: ["rtp.p_type", "rtp.payload"] }), ["0"]) };
}

/** Energy at `hz` against total energy (1 = a pure tone). */
function toneRatio(samples: Int16Array, hz: number): number {
  const w = (2 * Math.PI * hz) / 8000;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let total = 0;
  for (const x of samples) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    total += x * x;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return total > 0 ? (2 * power) / (samples.length * total) : 0;
}

describe("SRTP calls over TLS through Kamailio (baresip's srtp module)", function () {
  this.timeout(90_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let cacheDir: string;
  let caPem: string;
  const peers: Baresip[] = [];
  const phones: Softphone[] = [];

  before(async () => {
    kam = await startKamailio({
      users: { alice: "secret", amy: "pw-amy", uma: "pw-uma", bob: "pw-bob", carol: "pw-carol", dave: "pw-dave", erin: "pw-erin" },
    });
    caPem = fs.readFileSync(kam.certPath, "utf8");
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "srtp-tts-"));
    speech = new SpeechService({ cacheDir });
  });
  after(async () => {
    await speech?.close();
    await kam?.stop();
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const p of phones.splice(0)) await p.stop();
    for (const b of peers.splice(0)) await b.stop();
  });

  /** baresip over TLS (Kamailio's certificate as its CA) or UDP, with the srtp module and `mediaenc`. */
  async function baresip(user: string, transport: "tls" | "udp", mediaenc: string | null, opts: Partial<BaresipOptions> = {}): Promise<Baresip> {
    const b = await startBaresip({
      user,
      password: `pw-${user}`,
      kamailio: kam,
      transport,
      codecs: ["PCMU"],
      toneHz: BARESIP_TONE_HZ,
      accountParams: mediaenc ? `;mediaenc=${mediaenc}` : "",
      extraConfig: ["module\t\t\tsrtp.so", `sip_cafile\t\t${kam.certPath}`].join("\n"),
      ...opts,
    });
    peers.push(b);
    await b.waitRegistered();
    return b;
  }

  /** A core Softphone (our side), registered. */
  async function softphone(
    user: string,
    account: Partial<AccountOptions>,
  ): Promise<{ phone: Softphone; events: Array<{ state: CallState; call: CallInfo }>; trace: string[] }> {
    const tls = account.transport === "tls";
    const phone = new Softphone({
      account: {
        server: "127.0.0.1",
        port: tls ? kam.ports.tls : kam.ports.udp,
        username: user,
        password: `pw-${user}`,
        tlsCa: tls ? caPem : undefined,
        ...account,
      },
      speech,
      media: { codecs: ["PCMU"] },
      logSip: true,
    });
    phones.push(phone);
    const events: Array<{ state: CallState; call: CallInfo }> = [];
    const trace: string[] = [];
    phone.on("call", (state, call) => events.push({ state, call }));
    phone.on("sip", (_dir, text) => trace.push(text));
    await phone.start();
    await waitFor(() => phone.registrationState === "REGISTERED", 15_000, `${user} REGISTERED`);
    return { phone, events, trace };
  }

  async function received(b: Baresip): Promise<Int16Array> {
    await waitFor(() => b.recordings().some((r) => r.direction === "rx"), 10_000, "baresip's recording");
    await sleep(500); // the WAV header is finalised when the call ends
    const rx = b.recordings().filter((r) => r.direction === "rx");
    return speech.loadAudio(rx[rx.length - 1].path);
  }

  it("from a flow: baresip calls us with SRTP over TLS (mandatory); msg.call.srtp, baresip hears the greeting, the wire is not plain G.711", async () => {
    await startRed();
    try {
      await helper.load(
        [sipClient, sipCall],
        [
          {
            id: "acct",
            type: "sip-client",
            server: "127.0.0.1",
            port: String(kam.ports.tls),
            transport: "tls",
            tlsRejectUnauthorized: true,
            tlsCa: caPem,
            username: "alice",
            expires: "60",
            codecs: "PCMU",
            srtp: "mandatory",
          },
          { id: "call", type: "sip-call", client: "acct", greetings: [{ number: "", message: GREETING }], afterGreeting: "hangup", wires: [["out"]] },
          { id: "out", type: "helper" },
        ],
        { acct: { password: "secret" } },
      );
      const msgs: Array<{ topic?: string; payload?: unknown; call?: CallInfo }> = [];
      helper.getNode("out").on("input", (m: (typeof msgs)[number]) => msgs.push(m));
      await waitFor(() => msgs.some((m) => m.topic === "registration" && m.payload === "REGISTERED"), 15_000, "REGISTERED over TLS");

      const bob = await baresip("bob", "tls", "srtp-mand");
      const capture = await captureAsPlain(bob.rtpPorts);
      await bob.dial(kam.uri("alice", "tls"));
      await waitFor(() => msgs.some((m) => m.topic === "call" && m.payload === "ENDED"), 45_000, "the call to end after the greeting").catch((e) => {
        if (process.env.SRTP_DEBUG) console.log(JSON.stringify(msgs, null, 1), bob.log());
        throw e;
      });
      const wire = await capture.stop();
      const answered = msgs.find((m) => m.topic === "call" && m.payload === "ANSWERED")!;
      const ended = msgs.find((m) => m.topic === "call" && m.payload === "ENDED")!;
      assert.ok(answered, "ANSWERED");
      assert.strictEqual(answered.call!.srtp, true, "msg.call.srtp at ANSWERED");
      assert.strictEqual(ended.call!.srtp, true);
      assert.strictEqual(ended.call!.outcome, "completed");
      const stats = ended.call!.stats!;
      assert.ok(stats.packetsReceived > 50, `SRTP from baresip decrypted and accepted: ${JSON.stringify(stats)}`);
      assert.strictEqual(stats.srtpFailed, 0, "no packet of baresip's failed authentication");
      assert.deepStrictEqual(
        bob
          .log()
          .split(/[\r\n]+/)
          .filter((l) => /failed to decrypt|srtp.*(error|fail)/i.test(l)),
        [],
        "baresip decrypted every packet of ours",
      );

      const greeting = await speech.synthesize({ text: GREETING, language: "en-US" });
      const heard = speechMatch(greeting, await received(bob));
      assert.ok(heard.score > 0.9, `baresip heard the greeting: score ${heard.score.toFixed(2)}`);
      assert.ok(wire.packets > 50, `RTP to baresip captured on the wire: ${wire.packets} packets`);
      const plain = speechMatch(greeting, wire.pcm);
      assert.ok(plain.score < 0.5, `the captured payload decoded as plain PCMU is not the greeting: score ${plain.score.toFixed(2)}`);
    } finally {
      await stopRed();
    }
  });

  it("we call baresip (optional over TLS, baresip best-effort srtp): both ways decrypted, SIP trace without keys", async () => {
    const { phone, events, trace } = await softphone("amy", { transport: "tls", srtp: "optional" });
    const carol = await baresip("carol", "tls", "srtp", { answerMode: "auto" });
    const capture = await captureAsPlain(carol.rtpPorts);
    const info = phone.dial("carol", { message: MESSAGE, language: "en-US" });
    const call = phone.calls.get(info.id)!;
    const heardHere: Int16Array[] = [];
    // The media handler exists once the INVITE is built; its RTP session opens with the offer.
    const sdh = call.sdh!;
    const listen = (rtp: RtpStream) => rtp.on("audio", (pcm) => heardHere.push(pcm));
    if (sdh.rtp) listen(sdh.rtp);
    else sdh.once("rtp", listen);
    await waitFor(() => events.some((e) => e.call.id === info.id && e.state === "ANSWERED"), 20_000, "ANSWERED");
    let played = false;
    phone.on("playback", (what, c) => {
      if (what === "finished" && c.id === info.id) played = true;
    });
    await waitFor(() => played, 30_000, "the message played");
    await sleep(500);
    await phone.hangup(info.id);
    await waitFor(() => events.some((e) => e.call.id === info.id && e.state === "ENDED"), 10_000, "ENDED");
    const wire = await capture.stop();
    const ended = events.find((e) => e.call.id === info.id && e.state === "ENDED")!.call;
    assert.strictEqual(ended.srtp, true, "SRTP negotiated with a best-effort peer");
    assert.strictEqual(ended.stats?.srtpFailed, 0);

    // baresip → us: its tone, decrypted here.
    const here = new Int16Array(heardHere.reduce((n, f) => n + f.length, 0));
    heardHere.reduce((at, f) => (here.set(f, at), at + f.length), 0);
    assert.ok(here.length > 8000, `audio from baresip decrypted: ${here.length} samples`);
    assert.ok(toneRatio(here, BARESIP_TONE_HZ) > 0.5, `baresip's ${BARESIP_TONE_HZ} Hz tone heard: ${toneRatio(here, BARESIP_TONE_HZ).toFixed(2)}`);
    // us → baresip: the message, in its recording; not on the wire in the clear.
    const message = await speech.synthesize({ text: MESSAGE, language: "en-US" });
    const carolHeard = await received(carol);
    const heard = speechMatch(message, carolHeard);
    assert.ok(heard.score > 0.9, `baresip heard our message: ${heard.score.toFixed(2)}`);
    assert.ok(wire.packets > 50);
    assert.ok(speechMatch(message, wire.pcm).score < 0.5, "the wire's payload is not plain G.711");

    // Keys went both ways (our offer, baresip's answer) and none reached the trace.
    const sdp = trace.filter((t) => /a=crypto:/.test(t));
    assert.ok(sdp.length >= 2, "offer and answer with a=crypto in the trace");
    for (const t of trace) assert.doesNotMatch(t, /inline:(?!\[redacted\])/, "an SDES key in the SIP trace");
    assert.ok(sdp.every((t) => /inline:\[redacted\]/.test(t)));
  });

  it("a=crypto over UDP is refused by default: baresip's SRTP offer gets 488 with srtp optional (off refuses it as before)", async () => {
    const { events } = await softphone("uma", { transport: "udp", srtp: "optional" });
    const dave = await baresip("dave", "udp", "srtp-mand");
    await dave.dial(kam.uri("uma"));
    const closed = await dave.waitEvent("CALL_CLOSED", 15_000);
    assert.match(String(closed.param ?? ""), /488/, `baresip was answered 488: ${JSON.stringify(closed)}`);
    await waitFor(() => events.some((e) => e.state === "ENDED"), 5000, "ENDED");
    const ended = events.find((e) => e.state === "ENDED")!.call;
    assert.strictEqual(ended.outcome, "codec-mismatch");
    assert.match(ended.reason ?? "", /srtp refused: RTP\/SAVP offered, but SRTP keys .* only exchanged over TLS/);
  });

  it("mandatory against a plain baresip: its plain offer gets 488, and our SRTP-only call to it does not go through", async () => {
    const { phone, events } = await softphone("amy", { transport: "tls", srtp: "mandatory" });
    const erin = await baresip("erin", "tls", null, { answerMode: "auto" });
    await erin.dial(kam.uri("amy", "tls"));
    const closed = await erin.waitEvent("CALL_CLOSED", 15_000);
    assert.match(String(closed.param ?? ""), /488/, `baresip was answered 488: ${JSON.stringify(closed)}`);
    await waitFor(() => events.some((e) => e.state === "ENDED"), 5000, "ENDED (inbound)");
    const inbound = events.find((e) => e.state === "ENDED")!.call;
    assert.strictEqual(inbound.outcome, "codec-mismatch");
    assert.match(inbound.reason ?? "", /srtp required: plain RTP offered/);

    const out = phone.dial("erin");
    await waitFor(() => events.some((e) => e.call.id === out.id && e.state === "ENDED"), 20_000, "ENDED (outbound)");
    const ended = events.find((e) => e.call.id === out.id && e.state === "ENDED")!.call;
    assert.notStrictEqual(ended.answeredAt !== undefined && ended.srtp === false, true, "never a plain answered call");
    assert.strictEqual(ended.outcome, "codec-mismatch", `ended: ${JSON.stringify(ended)}`);
  });
});
