// Early media from a flow (issue 9 item 6): a real Node-RED with two sip-client accounts on a real
// Kamailio, and baresip (bob) as the other phone, with its SIP trace on so the test sees every
// response to its INVITE.
//   alice: sip-call without automatic answering; the flow sends "progress" (183 + SDP), says a
//          sentence, then rejects or answers.
//   carol: sip-call that answers after 4 s with the European ringback tone meanwhile.
// baresip records what it receives (sndfile), including early media.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import helper from "node-red-node-test-helper";
import { startRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { waitFor, sleep } from "../support/wait";
import { speechMatch } from "../support/audio-match";
import { startSipp, describeSipp } from "../support/sipp";
import { SpeechService } from "../../src/speech";
import { encodeFrame } from "../../src/media/g711";
import type { CallInfo } from "../../src/types";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
const sipDtmf = require("../../nodes/sip-dtmf/sip-dtmf.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  label?: string;
  call?: CallInfo;
}

const EARLY_TEXT = "The office is closed today. Please call again tomorrow morning.";
const LATER_TEXT = "Thank you for waiting. You are now connected to the answering machine.";
const OTHER_TEXT = "Bonjour, ceci est une phrase tout à fait différente.";
const ANSWER_DELAY_S = 4;

/** Responses to INVITE that reached baresip, from its SIP trace: status and SDP body. */
function inviteResponses(bob: Baresip, since = 0): Array<{ status: number; body: string }> {
  const out: Array<{ status: number; body: string }> = [];
  // The trace: "#\n<proto> <src> -> <dst>\n<message>\x1b[;m" per message, both directions.
  for (const block of bob.log().split("#\n").slice(since)) {
    // eslint-disable-next-line no-control-regex -- the trace ends each message with an ANSI reset
    const m = /^\S+ \S+ -> \S+:(\d+)\n(SIP\/2\.0 (\d{3})[^\r\n]*\r\n[\s\S]*?)\r\n\r\n([\s\S]*?)\x1b\[;m/.exec(block);
    if (!m || Number(m[1]) !== bob.sipPort || !/^CSeq:\s*\d+\s+INVITE\s*$/im.test(m[2])) continue;
    out.push({ status: Number(m[3]), body: m[4] });
  }
  return out;
}
const traceMark = (bob: Baresip) => bob.log().split("#\n").length - 1;

/** Amplitude of one frequency in a block (plain DFT bin). */
function amplitudeAt(pcm: Int16Array, hz: number): number {
  let re = 0;
  let im = 0;
  for (let n = 0; n < pcm.length; n++) {
    re += pcm[n] * Math.cos((2 * Math.PI * hz * n) / 8000);
    im += pcm[n] * Math.sin((2 * Math.PI * hz * n) / 8000);
  }
  return (2 * Math.hypot(re, im)) / pcm.length;
}

describe("early media from a flow (Kamailio + baresip)", function () {
  this.timeout(90_000);
  let kam: Kamailio;
  let bob: Baresip;
  let speech: SpeechService;
  let tmp: string;
  const out: Msg[] = [];
  const errors: string[] = [];

  before(async function () {
    this.timeout(60_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sip-early-"));
    kam = await startKamailio({ users: { alice: "secret", carol: "pw-carol", bob: "pw-bob" } });
    speech = new SpeechService({});
    await startRed();
    const account = (id: string, username: string) => ({
      id,
      type: "sip-client",
      server: "127.0.0.1",
      port: String(kam.ports.udp),
      transport: "udp",
      username,
      ttsLanguage: "en-US",
    });
    await helper.load(
      [sipClient, sipCall, sipDtmf],
      [
        account("acct", "alice"),
        account("acct2", "carol"),
        { id: "call", type: "sip-call", client: "acct", autoAnswer: false, wires: [["out"]] },
        { id: "call2", type: "sip-call", client: "acct2", autoAnswer: true, answerDelay: ANSWER_DELAY_S, ringback: "eu", wires: [["out"]] },
        { id: "keys", type: "sip-dtmf", client: "acct", wires: [["out"]] },
        { id: "out", type: "helper" },
      ],
      { acct: { password: "secret" }, acct2: { password: "pw-carol" } },
    );
    helper.getNode("out").on("input", (m: Msg) => out.push(m));
    for (const id of ["call", "call2"]) {
      const node = helper.getNode(id);
      const origError = node.error.bind(node);
      node.error = (e: unknown, msg?: unknown) => {
        errors.push(String((e as Error)?.message ?? e));
        return origError(e, msg);
      };
    }
    await waitFor(() => out.filter((m) => m.topic === "registration" && m.payload === "REGISTERED").length === 2, 10_000, "both REGISTERED");
    bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "manual", sipTrace: true });
    await bob.waitRegistered();
  });

  after(async () => {
    await helper.unload().catch(() => undefined);
    await new Promise<void>((r) => helper.stopServer(() => r()));
    await bob?.stop();
    await kam?.stop();
    await speech?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const c of activeCalls()) helper.getNode(c.to.number === "carol" ? "call2" : "call").receive({ topic: "hangup", call: { id: c.id } });
    await waitFor(() => activeCalls().length === 0, 10_000, "no call left").catch(() => undefined);
    await bob.hangup().catch(() => undefined);
    await bob.setAnswerMode("manual").catch(() => undefined);
    assert.deepStrictEqual(errors.splice(0), [], "no command failed");
  });

  const inject = (msg: Record<string, unknown>) => helper.getNode("call").receive(msg);

  function activeCalls(): CallInfo[] {
    const last = new Map<string, Msg>();
    for (const m of out) if (m.topic === "call" && m.call) last.set(m.call.id, m);
    return [...last.values()].filter((m) => m.payload !== "ENDED").map((m) => m.call!);
  }
  const callMsgs = (id: string) => out.filter((m) => m.topic === "call" && m.call?.id === id);
  const statesOf = (id: string) => callMsgs(id).map((m) => m.payload);
  const waitCall = (state: string, o: { id?: string; since?: number; early?: boolean }, ms = 10_000) =>
    waitFor(
      () =>
        out
          .slice(o.since ?? 0)
          .find((m) => m.topic === "call" && m.payload === state && (!o.id || m.call?.id === o.id) && (!o.early || m.call?.earlyMedia === true)),
      ms,
      `call ${state}${o.early ? " with earlyMedia" : ""}`,
    );
  const finished = (label: string, id: string) =>
    waitFor(
      () => out.find((m) => m.topic === "playback" && m.payload === "finished" && m.label === label && m.call?.id === id),
      20_000,
      `"${label}" played`,
    );

  /** The newest recording of what baresip received, once it has `minSeconds` of audio. */
  async function bobHeard(minSeconds = 1): Promise<Int16Array> {
    let heard: Int16Array = new Int16Array(0);
    await waitFor(
      async () => {
        const rx = bob
          .recordings()
          .filter((r) => r.direction === "rx")
          .sort((a, b) => fs.statSync(a.path).mtimeMs - fs.statSync(b.path).mtimeMs);
        if (rx.length === 0) return false;
        heard = await speech.loadAudio(rx[rx.length - 1].path).catch(() => new Int16Array(0));
        return heard.length >= minSeconds * 8000;
      },
      10_000,
      "baresip's recording",
    );
    return heard;
  }

  async function assertHeard(heard: Int16Array, texts: string[]): Promise<void> {
    const other = speechMatch(await speech.synthesize({ text: OTHER_TEXT, language: "fr-FR" }), heard).score;
    for (const text of texts) {
      const score = speechMatch(await speech.synthesize({ text, language: "en-US" }), heard).score;
      assert.ok(score > 0.9, `"${text}" is in baresip's recording: ${score.toFixed(2)}`);
      assert.ok(other < score - 0.2, `a sentence not played scores lower: ${other.toFixed(2)} vs ${score.toFixed(2)}`);
    }
  }

  /** Bob calls alice; the flow sends "progress"; resolves with the call id once the 183 reached bob. */
  async function bobCallsAndFlowProgresses(): Promise<{ id: string; mark: number; trace: number }> {
    const since = out.length;
    const mark = bob.mark();
    const trace = traceMark(bob);
    await bob.dial(kam.uri("alice"));
    const ringing = await waitCall("RINGING", { since });
    const id = ringing.call!.id;
    assert.strictEqual(ringing.call!.earlyMedia, undefined, "no early media before the command");
    inject({ topic: "progress", call: { id } });
    const early = await waitCall("RINGING", { id, early: true });
    assert.strictEqual(early.call!.direction, "inbound");
    await bob.waitEvent("CALL_PROGRESS", 10_000, { since: mark });
    await waitFor(() => inviteResponses(bob, trace).some((r) => r.status === 183), 5_000, "183 at baresip");
    const r183 = inviteResponses(bob, trace).find((r) => r.status === 183)!;
    assert.match(r183.body, /^m=audio [1-9]\d* RTP\/AVP /m, "the 183 carries our SDP answer");
    return { id, mark, trace };
  }

  it("progress, say, reject 486: baresip hears the announcement and the call is never answered", async () => {
    const { id, mark, trace } = await bobCallsAndFlowProgresses();
    inject({ topic: "say", payload: EARLY_TEXT, language: "en-US", call: { id } });
    await finished(EARLY_TEXT, id);
    inject({ topic: "reject", call: { id } });
    const closed = await bob.waitEvent("CALL_CLOSED", 10_000, { since: mark });
    assert.match(closed.param ?? "", /^486\b/, "baresip got 486");
    const ended = await waitCall("ENDED", { id });
    assert.strictEqual(ended.call!.outcome, "rejected");
    assert.strictEqual(ended.call!.statusCode, 486);
    assert.strictEqual(ended.call!.earlyMedia, true);
    assert.ok((ended.call!.stats?.packetsSent ?? 0) > 0, "RTP was sent before any answer");
    assert.deepStrictEqual(statesOf(id), ["RINGING", "RINGING", "ENDED"]);
    assert.ok(!bob.events.slice(mark).some((e) => e.type === "CALL_ESTABLISHED"), "baresip never established the call");
    const codes = inviteResponses(bob, trace).map((r) => r.status);
    assert.ok(!codes.includes(200), `no 200 to the INVITE: ${codes.join(", ")}`);
    assert.deepStrictEqual(
      codes.filter((c) => c !== 100),
      [180, 183, 486],
    );
    await assertHeard(await bobHeard(2), [EARLY_TEXT]);
  });

  it("progress, say, then answer: ANSWERED once, the 200 repeats the 183's SDP, audio goes on; a key during early media", async () => {
    const { id, mark, trace } = await bobCallsAndFlowProgresses();
    await bob.sndcode("5");
    const key = await waitFor(() => out.find((m) => m.topic === "dtmf" && m.call?.id === id), 5_000, "a key during early media");
    assert.strictEqual(key.payload, "5");
    assert.strictEqual(key.call!.state, "RINGING");
    inject({ topic: "say", payload: EARLY_TEXT, language: "en-US", call: { id } });
    await finished(EARLY_TEXT, id);
    inject({ topic: "answer", call: { id } });
    await bob.waitEvent("CALL_ESTABLISHED", 10_000, { since: mark });
    const answered = await waitCall("ANSWERED", { id });
    assert.strictEqual(answered.call!.earlyMedia, true);
    inject({ topic: "say", payload: LATER_TEXT, language: "en-US", call: { id } });
    await finished(LATER_TEXT, id);
    const responses = inviteResponses(bob, trace);
    const sdp183 = responses.find((r) => r.status === 183)!.body;
    const sdp200 = responses.find((r) => r.status === 200)?.body ?? "";
    assert.strictEqual(sdp200, sdp183, "the same SDP answer: no second media set-up");
    const closedMark = bob.mark();
    await bob.hangup();
    await bob.waitEvent("CALL_CLOSED", 10_000, { since: closedMark });
    const ended = await waitCall("ENDED", { id });
    assert.strictEqual(ended.call!.outcome, "completed");
    assert.deepStrictEqual(statesOf(id), ["RINGING", "RINGING", "ANSWERED", "ENDED"]);
    await assertHeard(await bobHeard(4), [EARLY_TEXT, LATER_TEXT]);
  });

  it("ringback during the answer delay: baresip hears 425 Hz before the answer", async () => {
    const since = out.length;
    const mark = bob.mark();
    const trace = traceMark(bob);
    await bob.dial(kam.uri("carol"));
    const ringing = await waitCall("RINGING", { since });
    const id = ringing.call!.id;
    assert.strictEqual(ringing.call!.earlyMedia, true, "the one RINGING message says early media");
    await bob.waitEvent("CALL_PROGRESS", 10_000, { since: mark });
    await bob.waitEvent("CALL_ESTABLISHED", (ANSWER_DELAY_S + 6) * 1000, { since: mark });
    await waitCall("ANSWERED", { id });
    const codes = inviteResponses(bob, trace)
      .map((r) => r.status)
      .filter((c) => c !== 100);
    assert.deepStrictEqual(codes, [183, 200], "183 at once (no 180), 200 after the delay");
    await sleep(500);
    const closedMark = bob.mark();
    await bob.hangup();
    await bob.waitEvent("CALL_CLOSED", 10_000, { since: closedMark });
    await waitCall("ENDED", { id });
    assert.deepStrictEqual(statesOf(id), ["RINGING", "ANSWERED", "ENDED"]);
    // The recording starts with the early media: the first burst (1 s of 425 Hz) is in its first seconds.
    const heard = await bobHeard(ANSWER_DELAY_S);
    const block = 800; // 100 ms
    let toneBlocks = 0;
    for (let i = 0; i + block <= Math.min(heard.length, (ANSWER_DELAY_S - 0.5) * 8000); i += block) {
      const b = heard.subarray(i, i + block);
      const a425 = amplitudeAt(b, 425);
      if (a425 > 1000 && a425 > 5 * amplitudeAt(b, 600) && a425 > 5 * amplitudeAt(b, 300)) toneBlocks++;
    }
    // 1 s on in every 5 s: about 10 blocks of tone before the answer.
    assert.ok(toneBlocks >= 6, `425 Hz in ${toneBlocks} blocks of 100 ms before the answer`);
  });

  it("outbound: a callee's 183 + SDP (SIPp): RINGING with earlyMedia, and its audio reaches us", async () => {
    // baresip 1.0.0's "answermode early" sends 183 + SDP but no RTP: SIPp plays the early media instead,
    // 3 s of a 440 Hz tone (raw PCMU), then refuses the call (486) as a network announcement would.
    const tonePath = path.join(tmp, "tone.pcmu");
    const pcm = new Int16Array(3 * 8000).map((_, n) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / 8000)));
    fs.writeFileSync(tonePath, encodeFrame("PCMU", pcm));
    const uas = await startSipp({
      scenario: { xml: earlyUas(tonePath) },
      timeoutMs: 30_000,
    });
    try {
      const since = out.length;
      inject({ topic: "dial", payload: `sip:announcement@127.0.0.1:${uas.port}` });
      const early = await waitCall("RINGING", { since, early: true });
      const id = early.call!.id;
      assert.strictEqual(early.call!.direction, "outbound");
      assert.strictEqual(early.call!.codec, "PCMU", "the early answer's codec");
      const ended = await waitCall("ENDED", { id }, 15_000);
      assert.strictEqual(ended.call!.outcome, "busy");
      assert.strictEqual(ended.call!.answeredAt, undefined, "never answered");
      assert.strictEqual(ended.call!.earlyMedia, true);
      const received = ended.call!.stats?.packetsReceived ?? 0;
      // 3 s of tone at 50 packets a second.
      assert.ok(received >= 100, `the early audio was received: ${received} packets (${JSON.stringify(ended.call!.stats)})`);
      assert.deepStrictEqual(statesOf(id), ["DIALING", "RINGING", "ENDED"]);
      const res = await uas.done;
      assert.ok(res.ok, `SIPp played its early media and got the ACK of its 486: ${describeSipp(res)}`);
    } finally {
      await uas.stop();
    }
  });
});

/** A callee that answers 183 with SDP, streams `file` (raw PCMU) as early media, then answers 486. */
function earlyUas(file: string): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas-early-media">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[

      SIP/2.0 183 Session Progress
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]sippEarly[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 2001 1 IN IP[local_ip_type] [local_ip]
      s=sipp
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpstream_audio_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=ptime:20
      a=sendrecv

    ]]>
  </send>
  <nop>
    <action>
      <exec rtp_stream="${file},1,0"/>
    </action>
  </nop>
  <pause milliseconds="3500"/>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 486 Busy Here
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]sippEarly[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
`;
}
