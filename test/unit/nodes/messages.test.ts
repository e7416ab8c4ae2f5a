// The message contract: the builders make exactly the messages the nodes sent before they
// existed (same properties, same order), the parsers give the same errors, and the help of
// each node documents every topic.
import assert from "assert";
import fs from "fs";
import path from "path";
import type { CallInfo, CallQualityInfo } from "../../../src";
import {
  actionMsg,
  alertMsg,
  callMsg,
  modeMsg,
  dtmfCodeMsg,
  dtmfLockedMsg,
  dtmfMsg,
  dtmfTooManyMsg,
  mediaMsg,
  mediaQualityMsg,
  parseSipCallInput,
  messageStatusMsg,
  transferMsg,
  parseSipDtmfInput,
  playbackMsg,
  recordingMsg,
  registrationMsg,
  SIP_CALL_INPUT_TOPICS,
  SIP_CALL_OUTPUT_TOPICS,
  SIP_DTMF_INPUT_TOPICS,
  SIP_DTMF_OUTPUT_TOPICS,
  textMsg,
  voicemailMsg,
} from "../../../nodes/shared/messages";

const call: CallInfo = {
  id: "c1",
  direction: "inbound",
  state: "ANSWERED",
  startedAt: "2026-01-01T00:00:00.000Z",
  from: { number: "0301234", name: "Bob", uri: "sip:0301234@127.0.0.1" },
  to: { number: "alice", name: "", uri: "sip:alice@127.0.0.1" },
};

/** Same properties in the same order (what a debug node shows). */
const same = (a: unknown, b: unknown) => assert.strictEqual(JSON.stringify(a), JSON.stringify(b));

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}

describe("nodes/shared/messages: sip-call", () => {
  it("builds registration, call and playback messages as before", () => {
    same(registrationMsg("REGISTERED", {}), { topic: "registration", payload: "REGISTERED" });
    const failed = registrationMsg("FAILED", { reason: "401 Unauthorized", statusCode: 401 });
    same(failed, { topic: "registration", payload: "FAILED", reason: "401 Unauthorized", statusCode: 401 });
    assert.ok(Object.prototype.hasOwnProperty.call(registrationMsg("FAILED", {}), "reason"), "FAILED always carries reason");
    assert.ok(!("reason" in registrationMsg("REGISTERING", { reason: "x" })), "reason only with FAILED");
    same(callMsg("RINGING", call), { topic: "call", payload: "RINGING", call });
    same(playbackMsg("finished", call, "hello", true), { topic: "playback", payload: "finished", call, label: "hello", interrupted: true });
  });

  it("builds the media (audio path) message: payload is the state, msg.media the whole event", () => {
    const media = {
      state: "one-way" as const,
      direction: "send-only" as const,
      remote: { address: "127.0.0.1", port: 4000 },
      sent: 100,
      received: 0,
    };
    same(mediaMsg(media, call), { topic: "media", payload: "one-way", media, call });
  });

  it("builds the periodic call-quality message (topic media, payload quality)", () => {
    const quality: CallQualityInfo = {
      mos: 4.38,
      mosIn: 4.38,
      mosOut: 4.4,
      packetsReceived: 250,
      packetsLost: 0,
      lossPercent: 0,
      jitterMs: 1.2,
      rttMs: 0.8,
      remoteLossPercent: 0,
      remoteJitterMs: 0.5,
      packetsSent: 250,
      rtcpReceived: 1,
      rtcpInvalid: 0,
      rtcpSent: 2,
      rtcpIgnored: 0,
      rtcpMux: false,
    };
    same(mediaQualityMsg(quality, call), { topic: "media", payload: "quality", quality, call });
  });

  it("parses commands, normalised, with the call they are for", () => {
    assert.deepStrictEqual(parseSipCallInput({ topic: "DIAL", payload: 1234 }), {
      topic: "dial",
      payload: "1234",
      message: undefined,
      language: undefined,
      ringTimeout: undefined,
    });
    assert.strictEqual((parseSipCallInput({ topic: "dial", payload: "bob", ringTimeout: "" }) as { ringTimeout: number }).ringTimeout, 30);
    assert.strictEqual((parseSipCallInput({ topic: "dial", payload: "bob", ringTimeout: "12" }) as { ringTimeout: number }).ringTimeout, 12);
    assert.deepStrictEqual(parseSipCallInput({ topic: "say", payload: "hi", call: { id: "c1" }, interrupt: "yes", language: 5 }), {
      topic: "say",
      callId: "c1",
      payload: "hi",
      language: undefined,
      engine: undefined,
      voice: undefined,
      interrupt: false,
    });
    assert.deepStrictEqual(parseSipCallInput({ topic: "play", payload: "/a.wav", format: "PCMU", callId: 7 }), {
      topic: "play",
      callId: "7",
      payload: "/a.wav",
      format: "pcmu",
      interrupt: false,
    });
    assert.deepStrictEqual(parseSipCallInput({ topic: "reject" }), { topic: "reject", callId: undefined, statusCode: 486 });
    assert.deepStrictEqual(parseSipCallInput({ topic: "reject", statusCode: "603", call: "not an object", callId: "c2" }), {
      topic: "reject",
      callId: "c2",
      statusCode: 603,
    });
    assert.deepStrictEqual(parseSipCallInput({ topic: "dtmf", payload: 12 }), { topic: "dtmf", callId: undefined, payload: "12" });
    assert.deepStrictEqual(parseSipCallInput({ topic: "hangup", call: { id: "" } }), { topic: "hangup", callId: undefined });
    assert.deepStrictEqual(parseSipCallInput({ topic: "hold", call: { id: "c1" } }), { topic: "hold", callId: "c1" });
    assert.deepStrictEqual(parseSipCallInput({ topic: "RESUME", callId: "c1" }), { topic: "resume", callId: "c1" });
  });

  it("parses record start/stop with msg.record options, and builds the one recording message", () => {
    assert.deepStrictEqual(parseSipCallInput({ topic: "record" }), { topic: "record", callId: undefined, payload: "start" });
    assert.deepStrictEqual(parseSipCallInput({ topic: "record", payload: " STOP ", call: { id: "c1" } }), {
      topic: "record",
      callId: "c1",
      payload: "stop",
    });
    assert.deepStrictEqual(
      parseSipCallInput({
        topic: "record",
        payload: "start",
        record: { maxSeconds: "60", silenceSeconds: 2.5, stopKeys: "#*a", path: " /tmp/v.wav " },
      }),
      { topic: "record", callId: undefined, payload: "start", maxSeconds: 60, silenceSeconds: 2.5, stopKeys: "#*A", path: "/tmp/v.wav" },
    );
    const err = (m: unknown) =>
      assert.throws(
        () => parseSipCallInput(m),
        (e: Error) => e.message.startsWith("record: msg."),
      );
    err({ topic: "record", payload: "pause" });
    err({ topic: "record", record: "60" });
    err({ topic: "record", record: { maxSeconds: 0 } });
    err({ topic: "record", record: { maxSeconds: "abc" } });
    err({ topic: "record", record: { silenceSeconds: -1 } });
    err({ topic: "record", record: { stopKeys: "#x" } });
    err({ topic: "record", record: { path: 5 } });
    const wav = Buffer.from("RIFF");
    const startedAt = new Date("2026-01-01T00:00:01.000Z");
    same(recordingMsg({ wav, durationMs: 1500, bytes: 4, reason: "key", key: "#", path: "/tmp/v.wav", startedAt, call }), {
      topic: "recording",
      payload: wav,
      recording: { durationMs: 1500, bytes: 4, reason: "key", startedAt: "2026-01-01T00:00:01.000Z", key: "#", path: "/tmp/v.wav" },
      call,
    });
    const failed = recordingMsg({ wav, durationMs: 0, bytes: 4, reason: "hangup", error: "EACCES", startedAt, call });
    same(failed.recording, { durationMs: 0, bytes: 4, reason: "hangup", startedAt: "2026-01-01T00:00:01.000Z", error: "EACCES" });
    assert.strictEqual(failed.payload, wav);
  });

  it("refuses bad commands with the errors users know", () => {
    const err = (m: unknown) => {
      try {
        parseSipCallInput(m);
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    assert.strictEqual(
      err({ topic: "fly" }),
      'unknown topic "fly": use dial, say, play, hangup, answer, reject, dtmf, hold, resume, message, diagnose, transfer, progress, record, alert or mode',
    );
    assert.strictEqual(
      err(null),
      'unknown topic "": use dial, say, play, hangup, answer, reject, dtmf, hold, resume, message, diagnose, transfer, progress, record, alert or mode',
    );
    assert.strictEqual(err({ topic: "dial", payload: { not: "a number" } }), "dial: msg.payload must be a number or a SIP URI");
    assert.strictEqual(err({ topic: "say", payload: "  " }), "say: msg.payload must be the text to speak");
    assert.strictEqual(err({ topic: "play", payload: 3 }), "play: msg.payload must be a WAV Buffer or a file path");
    assert.strictEqual(err({ topic: "play", payload: Buffer.alloc(4), format: "MP3" }), 'play: msg.format must be wav, pcmu or pcma, not "mp3"');
    assert.strictEqual(err({ topic: "dtmf", payload: true }), "dtmf: msg.payload must be the digits to send");
    assert.strictEqual(err({ topic: "message", payload: "hi" }), "message: msg.to must be a number or a SIP URI");
    assert.strictEqual(err({ topic: "message", payload: "hi", to: " " }), "message: msg.to must be a number or a SIP URI");
    assert.strictEqual(err({ topic: "message", payload: 5, to: "bob" }), "message: msg.payload must be the text to send");
  });

  it("early media: the progress command, with an optional ringback tone", () => {
    assert.deepStrictEqual(parseSipCallInput({ topic: "progress", call: { id: "c1" } }), { topic: "progress", callId: "c1" });
    assert.deepStrictEqual(parseSipCallInput({ topic: "Progress", ringback: "EU" }), { topic: "progress", callId: undefined, ringback: "eu" });
    assert.deepStrictEqual(parseSipCallInput({ topic: "progress", ringback: "off" }), { topic: "progress", callId: undefined });
    assert.throws(() => parseSipCallInput({ topic: "progress", ringback: "fr" }), /^Error: progress: msg.ringback must be eu, us, uk or off$/);
    const early: CallInfo = { ...call, state: "RINGING", earlyMedia: true };
    same(callMsg("RINGING", early), { topic: "call", payload: "RINGING", call: early });
  });

  it("text messages: the message command, and the message and message-status outputs", () => {
    assert.deepStrictEqual(parseSipCallInput({ topic: "Message", payload: "door open", to: 1234 }), {
      topic: "message",
      payload: "door open",
      to: "1234",
    });
    const from = { number: "bob", name: "Bob", uri: "sip:bob@127.0.0.1" };
    same(textMsg({ text: "hi", from, to: call.to }), { topic: "message", payload: "hi", from, to: call.to });
    same(textMsg({ text: "hi", from, to: call.to, call }), { topic: "message", payload: "hi", from, to: call.to, call });
    same(messageStatusMsg({ delivered: true, statusCode: 202, reason: "Accepted", to: "sip:bob@x" }), {
      topic: "message-status",
      payload: "delivered",
      statusCode: 202,
      reason: "Accepted",
      to: "sip:bob@x",
    });
    same(messageStatusMsg({ delivered: false, statusCode: 408, reason: "Request Timeout", to: "sip:bob@x" }).payload, "failed");
  });

  it("transfer: the command (msg.to, else msg.payload) and the transfer output", () => {
    assert.deepStrictEqual(parseSipCallInput({ topic: "Transfer", to: " 2001 ", payload: "x", call: { id: "c1" } }), {
      topic: "transfer",
      callId: "c1",
      to: "2001",
    });
    assert.deepStrictEqual(parseSipCallInput({ topic: "transfer", payload: 2001 }), { topic: "transfer", callId: undefined, to: "2001" });
    const err = (m: unknown) => {
      try {
        parseSipCallInput(m);
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    assert.strictEqual(err({ topic: "transfer" }), "transfer: msg.to (or msg.payload) must be a number or a SIP URI");
    assert.strictEqual(err({ topic: "transfer", to: { a: 1 } }), "transfer: msg.to (or msg.payload) must be a number or a SIP URI");
    const e = { direction: "outbound" as const, state: "failed" as const, target: "sip:2001@pbx", status: 486, reason: "Busy Here" };
    same(transferMsg(e, call), { topic: "transfer", payload: "failed", transfer: e, call });
  });

  it("voicemail: payload WAV, transcript only when there is one, transcriptError when the engine failed", () => {
    const wav = Buffer.from("RIFF");
    const recording = {
      wav,
      durationMs: 1500,
      bytes: 24044,
      reason: "key" as const,
      key: "#",
      startedAt: new Date("2026-01-01T00:00:01.000Z"),
      call,
    };
    const receivedAt = recording.startedAt;
    same(voicemailMsg({ recording, receivedAt }, call), {
      topic: "voicemail",
      payload: wav,
      voicemail: { durationMs: 1500, reason: "key", receivedAt: "2026-01-01T00:00:01.000Z", bytes: 24044 },
      call,
    });
    const withText = voicemailMsg({ recording: { ...recording, path: "/tmp/v.wav" }, receivedAt, transcript: "" }, call);
    assert.strictEqual(withText.transcript, "");
    assert.strictEqual(withText.voicemail.path, "/tmp/v.wav");
    const failed = voicemailMsg({ recording, receivedAt, transcriptError: "speech-to-text (command) failed: x" }, call);
    assert.ok(!("transcript" in failed));
    assert.strictEqual(failed.transcriptError, "speech-to-text (command) failed: x");
  });
});

describe("nodes/shared/messages: sip-dtmf", () => {
  it("builds key, code, too-many, locked and action messages as the node did", () => {
    same(dtmfMsg("5", "rfc4733", call), { topic: "dtmf", payload: "5", method: "rfc4733", call });
    same(dtmfMsg("5", "info", call, true), { topic: "dtmf", payload: "•", method: "info", masked: true, call });
    same(dtmfCodeMsg("1234", "terminator", call), { topic: "dtmf-code", payload: "1234", terminatedBy: "terminator", call });
    same(dtmfCodeMsg("••", "timeout", call, { masked: true, invalid: true }), {
      topic: "dtmf-code",
      payload: "••",
      terminatedBy: "timeout",
      call,
      masked: true,
      invalid: true,
    });
    same(dtmfTooManyMsg(3, 3, call), { topic: "dtmf-too-many", payload: 3, limit: 3, call });
    same(dtmfTooManyMsg(3, 3, call, Date.UTC(2026, 0, 1)), {
      topic: "dtmf-too-many",
      payload: 3,
      limit: 3,
      call,
      lockedUntil: "2026-01-01T00:00:00.000Z",
    });
    same(dtmfLockedMsg(Date.UTC(2026, 0, 1), call), {
      topic: "dtmf-locked",
      payload: "2026-01-01T00:00:00.000Z",
      lockedUntil: "2026-01-01T00:00:00.000Z",
      call,
    });
    same(actionMsg("open", "1234", { index: 2, code: "1234#" }, call), { topic: "open", payload: "1234", action: { index: 2, code: "1234#" }, call });
    same(actionMsg("", "••••", { index: 1, code: "1234#", oneTime: true }, call, true), {
      topic: "action",
      payload: "••••",
      action: { index: 1, oneTime: true },
      call,
      masked: true,
    });
  });

  it("the call simulator: a key with method simulated, msg.call.simulated kept in call and key messages", () => {
    const simulated: CallInfo = { ...call, simulated: true };
    same(dtmfMsg("1", "simulated", simulated), { topic: "dtmf", payload: "1", method: "simulated", call: simulated });
    same(callMsg("ANSWERED", simulated), { topic: "call", payload: "ANSWERED", call: simulated });
    assert.strictEqual("simulated" in callMsg("ANSWERED", call).call, false);
  });

  it("parses code, clear-codes and unlock", () => {
    const first = () => 0;
    assert.deepStrictEqual(parseSipDtmfInput({ topic: "code", payload: 4711 }, first), { topic: "code", payload: "4711", action: 0, validFor: 600 });
    assert.deepStrictEqual(parseSipDtmfInput({ topic: "Code", payload: {}, validFor: "0" }, first), {
      topic: "code",
      payload: "",
      action: 0,
      validFor: 0,
    });
    assert.deepStrictEqual(parseSipDtmfInput({ topic: "clear-codes" }, first), { topic: "clear-codes" });
    assert.deepStrictEqual(parseSipDtmfInput({ topic: "unlock" }, first), { topic: "unlock", payload: undefined });
    assert.deepStrictEqual(parseSipDtmfInput({ topic: "unlock", payload: "*" }, first), { topic: "unlock", payload: undefined });
    assert.deepStrictEqual(parseSipDtmfInput({ topic: "unlock", payload: "+49 (30) 1234" }, first), { topic: "unlock", payload: "+49301234" });
  });

  it("refuses bad input with the node's errors; the action is checked first", () => {
    const err = (m: unknown, a: (x: unknown) => number = () => 0) => {
      try {
        parseSipDtmfInput(m, a);
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    assert.strictEqual(err({ topic: "code", payload: "1", validFor: "soon" }), "code: msg.validFor must be a number of seconds");
    const noAction = () => {
      throw new Error("code: this node has no action for the code to trigger");
    };
    assert.strictEqual(err({ topic: "code", payload: "1", validFor: "soon" }, noAction), "code: this node has no action for the code to trigger");
    assert.strictEqual(
      err({ topic: "PIN-" + "x".repeat(60) }),
      `unknown topic "${("pin-" + "x".repeat(60)).slice(0, 40)}": use code, clear-codes or unlock`,
    );
  });
});

describe("nodes/shared/messages: alert (escalation)", () => {
  it("parses an alert with its defaults, and payload cancel", () => {
    const cmd = parseSipCallInput({ topic: "alert", payload: "Fire", alert: { numbers: ["101", 102], confirmKey: 5, attempts: 3 } });
    assert.ok(cmd.topic === "alert" && !cmd.cancel);
    assert.deepStrictEqual(cmd.options, {
      text: "Fire",
      numbers: ["101", "102"],
      confirmKey: "5",
      attempts: 3,
      pauseSeconds: 60,
      deadlineSeconds: 900,
      ringSeconds: 30,
      repeat: 5,
      repeatPauseSeconds: 2,
    });
    assert.deepStrictEqual(parseSipCallInput({ topic: "alert", payload: " Cancel " }), { topic: "alert", cancel: true });
    assert.throws(
      () => parseSipCallInput({ topic: "alert", payload: "Fire" }),
      /^Error: alert: msg.alert.numbers must be a list of numbers to call$/,
    );
    assert.throws(
      () => parseSipCallInput({ topic: "alert", payload: "Fire", alert: { numbers: ["1"], confirmKey: {} } }),
      /confirmKey must be one key/,
    );
  });

  it("the alarm-call-me example's inject node sends a valid alert, and its cancel node a cancel", () => {
    const flow = JSON.parse(fs.readFileSync(path.join(repoRoot(), "examples", "alarm-call-me.json"), "utf8")) as Array<Record<string, unknown>>;
    const injects = flow.filter((n) => n.type === "inject");
    const msgOf = (n: Record<string, unknown>) => {
      const msg: Record<string, unknown> = { topic: n.topic, payload: n.payload };
      for (const p of n.props as Array<{ p: string; v?: string; vt?: string }>) if (p.vt === "json") msg[p.p] = JSON.parse(p.v!);
      return msg;
    };
    const [alarm, cancel] = injects.map((n) => parseSipCallInput(msgOf(n)));
    assert.ok(alarm.topic === "alert" && !alarm.cancel && alarm.options.numbers.length === 3 && alarm.options.confirmKey === "1");
    assert.deepStrictEqual(cancel, { topic: "alert", cancel: true });
    assert.ok(!flow.some((n) => n.type === "function"), "no function nodes");
  });

  it("builds the one result message, and call messages keep msg.call.alertId", () => {
    const result = { confirmed: false, reason: "deadline", attempts: [] };
    same(alertMsg("a1", result), { topic: "alert", payload: result, alertId: "a1" });
    same(callMsg("DIALING", { ...call, alertId: "a1" }).call, { ...call, alertId: "a1" });
  });
});

describe("nodes/shared/messages: mode (time and mode rules)", () => {
  it("diagnose: msg.testCall true calls the account itself, a number or URI calls that, anything else is refused", () => {
    assert.deepStrictEqual(parseSipCallInput({ topic: "diagnose" }), { topic: "diagnose", language: undefined });
    assert.deepStrictEqual(parseSipCallInput({ topic: "diagnose", testCall: false }), { topic: "diagnose", language: undefined });
    assert.deepStrictEqual(parseSipCallInput({ topic: "diagnose", testCall: true, language: "de" }), {
      topic: "diagnose",
      language: "de",
      testCall: true,
    });
    assert.deepStrictEqual(parseSipCallInput({ topic: "diagnose", testCall: " *43 " }), { topic: "diagnose", language: undefined, testCall: "*43" });
    assert.deepStrictEqual(parseSipCallInput({ topic: "diagnose", testCall: 621 }), { topic: "diagnose", language: undefined, testCall: "621" });
    assert.throws(() => parseSipCallInput({ topic: "diagnose", testCall: { to: 1 } }), /msg\.testCall must be true .* or a number or SIP URI/);
    assert.throws(() => parseSipCallInput({ topic: "diagnose", testCall: "  " }), /msg\.testCall/);
  });

  it("parses a mode (lower case), a clear, a query, and refuses junk", () => {
    assert.deepStrictEqual(parseSipCallInput({ topic: "mode", payload: " Night " }), { topic: "mode", payload: "night" });
    assert.deepStrictEqual(parseSipCallInput({ topic: "mode", payload: "" }), { topic: "mode", payload: "" });
    assert.deepStrictEqual(parseSipCallInput({ topic: "mode" }), { topic: "mode" });
    assert.throws(
      () => parseSipCallInput({ topic: "mode", payload: "x".repeat(33) }),
      /^Error: mode: msg.payload must be letters, digits, - or _ \(at most 32\)$/,
    );
    assert.throws(() => parseSipCallInput({ topic: "mode", payload: { a: 1 } }), /mode: msg.payload must be a mode name/);
    same(modeMsg("away"), { topic: "mode", payload: "away" });
  });
});

describe("nodes/shared/messages: the help documents every topic", () => {
  const help = (node: string) => fs.readFileSync(path.join(repoRoot(), "nodes", node, "locales", "en-US", `${node}.html`), "utf8");
  const undocumented = (text: string, topics: readonly string[]) => topics.filter((t) => !text.includes(`<span class="property-type">"${t}"</span>`));

  it("sip-call: every input and output topic", () => {
    assert.deepStrictEqual(undocumented(help("sip-call"), [...SIP_CALL_INPUT_TOPICS, ...SIP_CALL_OUTPUT_TOPICS]), []);
  });

  it("sip-dtmf: every input and output topic", () => {
    assert.deepStrictEqual(undocumented(help("sip-dtmf"), [...SIP_DTMF_INPUT_TOPICS, ...SIP_DTMF_OUTPUT_TOPICS]), []);
  });
});
