// The SIP doctor's test call through a real Kamailio: the account calls itself and answers its own
// incoming leg (no flow sees either), tones both ways, the round-trip delay, and one key by each
// DTMF method; against a Kamailio that strips telephone-event from the SDP and one that blocks INFO.
import assert from "assert";
import fs from "fs";
import path from "path";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio, type KamailioOptions } from "../support/kamailio";
import { finding } from "../support/doctor-report";
import { waitFor } from "../support/wait";
import { startSipp } from "../support/sipp";
import { Softphone, type CallInfo, type DoctorReport, type Speaker } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
const coreNodes = ["common/20-inject.js", "function/10-switch.js", "function/10-function.js"].map((f) => require(`@node-red/nodes/core/${f}`));
/* eslint-enable @typescript-eslint/no-require-imports */
helper.init(require.resolve("node-red"));

const noSpeech = {} as Speaker;
const PASSWORD = "s3cret-Pa55word";

describe("SIP doctor: the test call (Kamailio variants)", function () {
  this.timeout(90_000);
  let kam: Kamailio | undefined;
  const phones: Softphone[] = [];

  const setUp = async (opts: KamailioOptions = {}, maxCalls?: number): Promise<Softphone> => {
    kam = await startKamailio({ users: { alice: PASSWORD }, ...opts });
    const p = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: PASSWORD, expires: 120 },
      media: { rtpPortMin: 30000, rtpPortMax: 30999 },
      speech: noSpeech,
      maxCalls,
    });
    phones.push(p);
    await p.start();
    await waitFor(() => p.registrationState === "REGISTERED", 15_000, "REGISTERED");
    return p;
  };
  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.stop()));
    await kam?.stop();
    kam = undefined;
  });

  it("plain Kamailio: the self-call is answered by the account itself, audio both ways, a round-trip delay, every DTMF method arrives; no call reaches the flow", async () => {
    const p = await setUp();
    const seen: CallInfo[] = [];
    p.on("call", (_s, c) => seen.push(c));
    const dtmf: string[] = [];
    p.on("dtmf", (d) => dtmf.push(d));
    const r = await p.diagnose({ testCall: true });
    if (process.env.SHOW_REPORT) console.log(r.text);
    assert.strictEqual(finding(r, "test-call").level, "ok", r.text);
    assert.strictEqual(finding(r, "test-call").facts.self, true);
    const audio = finding(r, "audio");
    assert.strictEqual(audio.level, "ok", r.text);
    assert.deepStrictEqual([audio.facts.out, audio.facts.back], [true, true]);
    const rtd = finding(r, "round-trip");
    assert.notStrictEqual(rtd.level, "info", "measured");
    assert.ok(typeof rtd.facts.ms === "number" && rtd.facts.ms > 0, `round trip ${rtd.facts.ms}`);
    for (const id of ["dtmf-rfc4733", "dtmf-info", "dtmf-inband"] as const) assert.strictEqual(finding(r, id).level, "ok", r.text);
    assert.match(r.text, /Keys sent as RFC 4733 arrive\./);
    assert.deepStrictEqual(seen, [], "the doctor's calls are not the flow's");
    assert.deepStrictEqual(dtmf, [], "nor their keys");
    assert.deepStrictEqual(p.activeCalls(), []);
    // The call went through the server (which sent it back to us) and was hung up.
    assert.deepStrictEqual(
      kam!.requests("INVITE").map((q) => [q.fromUser, q.toUser]),
      [["alice", "alice"]],
    );
    await waitFor(() => kam!.requests("BYE").length >= 1, 5000, "a BYE through the server");
    assert.strictEqual(p.calls.list().length, 0, "both legs ended");
  });

  it("a server that strips telephone-event: RFC 4733 does not survive (with the fix), INFO and in-band do", async () => {
    const p = await setUp({ stripTelephoneEvent: true });
    const r = await p.diagnose({ testCall: true, language: "en" });
    const rfc = finding(r, "dtmf-rfc4733");
    assert.strictEqual(rfc.level, "fail", r.text);
    assert.match(rfc.text, /removes telephone-event/);
    assert.match(rfc.fix ?? "", /INFO or in-band/);
    assert.strictEqual(finding(r, "dtmf-info").level, "ok", r.text);
    assert.strictEqual(finding(r, "dtmf-inband").level, "ok", r.text);
    assert.strictEqual(finding(r, "audio").level, "ok", r.text);
    assert.strictEqual(r.level, "fail");
  });

  it("a server that blocks INFO: INFO does not survive, in German on request; RFC 4733 and in-band do", async () => {
    const p = await setUp({ blockInfo: true });
    const r = await p.diagnose({ testCall: true, language: "de" });
    const info = finding(r, "dtmf-info");
    assert.strictEqual(info.level, "fail", r.text);
    assert.match(info.text, /SIP INFO gesendete Tasten kamen nicht an/);
    assert.strictEqual(finding(r, "dtmf-rfc4733").level, "ok", r.text);
    assert.strictEqual(finding(r, "dtmf-inband").level, "ok", r.text);
  });

  it("counted by the call limit: with one call allowed, the self-call's own incoming leg is refused 486; the report says so, the flow sees nothing", async () => {
    const p = await setUp({}, 1);
    const seen: CallInfo[] = [];
    p.on("call", (_s, c) => seen.push(c));
    const r = await p.diagnose({ testCall: true });
    const t = finding(r, "test-call");
    assert.strictEqual(t.level, "fail", r.text);
    assert.match(String(t.facts.reason), /486/);
    assert.ok(!r.findings.some((f) => f.id === "audio"), "no audio check without a call");
    assert.deepStrictEqual(seen, [], "neither the call nor the refusal reaches the flow");
    assert.strictEqual(p.calls.list().length, 0);
  });

  it("a given number (SIPp answering with an RTP echo): the tone comes back, a round-trip delay; keys that come back are reported, INFO cannot be seen", async () => {
    const p = await setUp();
    const echo = await startSipp({ scenario: "uas-answer", args: ["-rtp_echo"], timeoutMs: 30_000 });
    try {
      await kam!.addBinding("echo", `sip:echo@127.0.0.1:${echo.port}`);
      const seen: CallInfo[] = [];
      p.on("call", (_s, c) => seen.push(c));
      const r = await p.diagnose({ testCall: "echo" });
      if (process.env.SHOW_REPORT) console.log(r.text);
      const t = finding(r, "test-call");
      assert.strictEqual(t.level, "ok", r.text);
      assert.strictEqual(t.facts.target, "echo");
      assert.strictEqual(finding(r, "audio").level, "ok", r.text);
      assert.match(finding(r, "audio").text, /Our tone came back from echo/);
      const rtd = finding(r, "round-trip");
      assert.ok(typeof rtd.facts.ms === "number" && rtd.facts.ms > 0, r.text);
      assert.strictEqual(finding(r, "dtmf-inband").level, "ok", "in-band tones come back with the audio");
      assert.strictEqual(finding(r, "dtmf-rfc4733").level, "ok", "SIPp echoes the event packets too");
      const info = finding(r, "dtmf-info");
      assert.strictEqual(info.level, "info", "an echo does not return INFO: not a failure");
      assert.match(info.text, /did not come back from echo/);
      assert.deepStrictEqual(seen, [], "the test call is not the flow's");
      assert.strictEqual(kam!.requests("INVITE").filter((q) => q.toUser === "alice").length, 0, "the account itself was not called");
    } finally {
      await echo.stop();
    }
  });

  it("from a flow: sip-call diagnose with msg.testCall true; the flow sees the report and no call message", async () => {
    kam = await startKamailio({ users: { alice: PASSWORD } });
    await startRed();
    try {
      await helper.load(
        [sipClient, sipCall],
        [
          { id: "acct", type: "sip-client", server: "127.0.0.1", port: String(kam.ports.udp), transport: "udp", username: "alice", expires: "60" },
          { id: "call", type: "sip-call", client: "acct", autoAnswer: true, wires: [["out"]] },
          { id: "out", type: "helper" },
        ],
        { acct: { password: PASSWORD } },
      );
      const got: Array<{ topic?: string; payload?: unknown }> = [];
      helper.getNode("out").on("input", (m: { topic?: string; payload?: unknown }) => got.push(m));
      await waitFor(() => got.some((m) => m.payload === "REGISTERED"), 10_000, "REGISTERED");
      helper.getNode("call").receive({ topic: "diagnose", testCall: true });
      await waitFor(() => got.some((m) => m.topic === "diagnose"), 60_000, "diagnose message");
      const r = got.find((m) => m.topic === "diagnose")!.payload as DoctorReport;
      assert.strictEqual(finding(r, "test-call").level, "ok", r.text);
      assert.strictEqual(finding(r, "audio").level, "ok", r.text);
      assert.strictEqual(finding(r, "dtmf-info").level, "ok", r.text);
      assert.deepStrictEqual(
        got.filter((m) => m.topic === "call" || m.topic === "dtmf" || m.topic === "playback"),
        [],
        "no call, key or playback message of the doctor's calls",
      );
    } finally {
      await stopRed();
    }
  });

  it("the sip-doctor example: 'with a test call' against a server that blocks INFO gives the report text and a problems line with its fix", async () => {
    kam = await startKamailio({ users: { alice: PASSWORD }, blockInfo: true });
    await startRed();
    try {
      // The example as shipped, its account pointed at the test Kamailio; comments dropped, debug nodes made helpers.
      const file = path.join(__dirname, "..", "..", "..", "examples", "sip-doctor.json");
      const nodes = (JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>)
        .filter((n) => n.type !== "comment")
        .map((n) =>
          n.type === "sip-client"
            ? { ...n, server: "127.0.0.1", port: String(kam!.ports.udp), username: "alice" }
            : n.type === "debug"
              ? { id: n.id, type: "helper", z: n.z, name: n.name }
              : n,
        );
      const byName = (name: string) => String(nodes.find((n) => n.name === name)!.id);
      const acct = String(nodes.find((n) => n.type === "sip-client")!.id);
      await helper.load([sipClient, sipCall, ...coreNodes], [{ id: String(nodes[0].z), type: "tab" }, ...nodes], { [acct]: { password: PASSWORD } });
      const texts: string[] = [];
      const problems: string[] = [];
      helper.getNode(byName("report text")).on("input", (m: { payload: DoctorReport }) => texts.push(m.payload.text)); // the debug node shows payload.text
      helper.getNode(byName("problems")).on("input", (m: { payload: string }) => problems.push(m.payload));
      const phone = () => (helper.getNode(acct) as unknown as { phone?: Softphone }).phone;
      await waitFor(() => phone()?.registrationState === "REGISTERED", 15_000, "REGISTERED");
      helper.getNode(byName("with a test call")).receive({});
      await waitFor(() => problems.length > 0, 60_000, "the problems line");
      assert.match(texts[0], /^SIP doctor, /, texts[0]);
      assert.match(problems[0], /^FAIL: .*INFO.* Fix: /, problems[0]);
      assert.ok(!texts[0].includes(PASSWORD) && !problems[0].includes(PASSWORD), "no password");
    } finally {
      await stopRed();
    }
  });
});
