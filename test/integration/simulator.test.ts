// The call simulator from a flow (issue 13, item 2), with no SIP server: the account points at a
// closed loopback port. A simulated call takes the inbound path of the sip-call node (greeting,
// filter), its greeting's audio comes out of the simulator's paced events, a key reaches sip-dtmf,
// hanging up ends it; every message says msg.call.simulated; the limits hold. The editor's event
// stream (publishSimulations, RED.comms) carries the same states, keys and audio.
import assert from "assert";
import dgram from "dgram";
import fs from "fs";
import path from "path";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { waitFor, sleep } from "../support/wait";
import { speechMatch } from "../support/audio-match";
import { SpeechService, SIMULATED_CALLS_MAX, type CallInfo, type Softphone } from "../../src";
import { publishSimulations, SIMULATOR_TOPIC_PREFIX, type SimulatorEvent } from "../../nodes/sip-client/simulator-routes";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
const sipDtmf = require("../../nodes/sip-dtmf/sip-dtmf.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  method?: string;
  call?: CallInfo;
}

const GREETING = "Welcome to the simulator. Press one for the weather.";

/** A UDP port on 127.0.0.1 with nobody behind it: the account's "server" (registration fails, fine). */
function closedUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

describe("call simulator from a flow (no SIP server)", function () {
  this.timeout(60_000);
  beforeEach(startRed);
  afterEach(stopRed);

  async function load(call: Record<string, unknown> = {}): Promise<{ out: Msg[]; keys: Msg[]; phone: Softphone }> {
    const port = await closedUdpPort();
    await helper.load(
      [sipClient, sipCall, sipDtmf],
      [
        { id: "acct", type: "sip-client", server: "127.0.0.1", port: String(port), transport: "udp", username: "alice", ttsLanguage: "en-US" },
        { id: "call", type: "sip-call", client: "acct", greetings: [{ number: "", message: GREETING, language: "" }], wires: [["out"]], ...call },
        { id: "keys", type: "sip-dtmf", client: "acct", terminator: "#", wires: [["keysOut"]] },
        { id: "out", type: "helper" },
        { id: "keysOut", type: "helper" },
      ],
      { acct: { password: "secret" } },
    );
    const out: Msg[] = [];
    const keys: Msg[] = [];
    helper.getNode("out").on("input", (m: Msg) => out.push(m));
    helper.getNode("keysOut").on("input", (m: Msg) => keys.push(m));
    const acct = helper.getNode("acct") as unknown as { phone?: Softphone };
    await waitFor(() => !!acct.phone, 10_000, "the account started");
    return { out, keys, phone: acct.phone! };
  }

  const callMsgs = (out: Msg[], id: string) => out.filter((m) => m.topic === "call" && m.call?.id === id);

  it("RINGING and ANSWERED with msg.call.simulated, the greeting's speech in the audio events, a key to sip-dtmf, hang-up gives ENDED", async () => {
    const { out, keys, phone } = await load();
    const editor: SimulatorEvent[] = [];
    publishSimulations(
      { comms: { publish: (topic, data) => topic === SIMULATOR_TOPIC_PREFIX + "acct" && editor.push(data as SimulatorEvent) } },
      "acct",
      phone,
    );
    const audio: Int16Array[] = [];
    phone.on("simulatedAudio", (pcm) => audio.push(pcm));

    const info = phone.simulateCall({ from: "5551234", name: "Tess" });
    assert.strictEqual(info.simulated, true);
    assert.strictEqual(info.state, "RINGING");
    await waitFor(() => callMsgs(out, info.id).some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
    const ringing = callMsgs(out, info.id).find((m) => m.payload === "RINGING");
    assert.ok(ringing, "a RINGING message");
    assert.strictEqual(ringing.call?.simulated, true);
    assert.strictEqual(ringing.call?.from.number, "5551234");
    assert.strictEqual(ringing.call?.from.name, "Tess");
    assert.strictEqual(callMsgs(out, info.id).find((m) => m.payload === "ANSWERED")?.call?.simulated, true);

    // The greeting plays out through the simulator's pacing, then a little silence.
    await waitFor(
      () => out.some((m) => m.topic === "playback" && m.payload === "finished" && m.call?.id === info.id),
      30_000,
      "the greeting finished",
    );
    await sleep(300);
    const heard = Int16Array.from(audio.flatMap((b) => [...b]));
    assert.ok(
      audio.every((b) => b.length === 800),
      "batches of 100 ms",
    );
    const speech = new SpeechService({ defaultLanguage: "en-US" });
    try {
      const reference = await speech.synthesize({ text: GREETING, language: "en-US" });
      assert.ok(heard.length >= reference.length, `${heard.length} samples heard, the greeting has ${reference.length}`);
      const match = speechMatch(reference, heard);
      assert.ok(match.score > 0.8, `the audio is the greeting (envelope correlation ${match.score.toFixed(2)})`);
    } finally {
      await speech.close();
    }

    phone.simulateDigit(info.id, "1");
    await waitFor(() => keys.some((m) => m.topic === "dtmf"), 5000, "the key at sip-dtmf");
    const key = keys.find((m) => m.topic === "dtmf")!;
    assert.strictEqual(key.payload, "1");
    assert.strictEqual(key.method, "simulated");
    assert.strictEqual(key.call?.simulated, true);
    assert.throws(() => phone.simulateDigit(info.id, "x"), /not a DTMF key/);

    await phone.simulateHangup(info.id);
    await waitFor(() => callMsgs(out, info.id).some((m) => m.payload === "ENDED"), 5000, "ENDED");
    const ended = callMsgs(out, info.id).find((m) => m.payload === "ENDED")!.call!;
    assert.strictEqual(ended.simulated, true);
    assert.strictEqual(ended.outcome, "completed");
    assert.strictEqual(ended.hungUpBy, "remote");
    assert.ok(typeof ended.durationSeconds === "number");
    const batches = audio.length;
    await sleep(300);
    assert.strictEqual(audio.length, batches, "no audio after the end");

    // The editor's stream: the states, the key and the audio of the call.
    const states = editor.filter((e) => e.kind === "state" && e.call.id === info.id).map((e) => (e.kind === "state" ? e.call.state : ""));
    assert.deepStrictEqual(states, ["RINGING", "ANSWERED", "ENDED"]);
    assert.ok(editor.some((e) => e.kind === "key" && e.key === "1" && e.method === "simulated"));
    const sent = editor.filter((e) => e.kind === "audio");
    assert.strictEqual(sent.length, batches);
    assert.strictEqual(Buffer.from(sent[0].kind === "audio" ? sent[0].pcm : "", "base64").length, 1600);
  });

  it("the flow hangs up and rejects as for a real call; the caller filter and the limits hold", async () => {
    const { out, phone } = await load({ autoAnswer: false, filterMode: "block", filterList: "666" });
    // The caller filter of the sip-call node refuses the call: ENDED at once, still marked simulated.
    const blocked = phone.simulateCall({ from: "666" });
    assert.strictEqual(blocked.state, "ENDED");
    assert.strictEqual(blocked.outcome, "rejected");
    assert.strictEqual(blocked.simulated, true);
    await waitFor(() => callMsgs(out, blocked.id).some((m) => m.payload === "ENDED" && m.call?.simulated === true), 2000, "blocked ENDED");

    // Rejected by the flow while ringing.
    const a = phone.simulateCall({ from: "100" });
    helper.getNode("call").receive({ topic: "reject", call: { id: a.id } });
    await waitFor(() => callMsgs(out, a.id).some((m) => m.payload === "ENDED"), 5000, "a rejected");
    assert.strictEqual(callMsgs(out, a.id).find((m) => m.payload === "ENDED")!.call!.outcome, "rejected");

    // SIMULATED_CALLS_MAX at a time; the next is refused (486), the real-call limit is not used up.
    const live = Array.from({ length: SIMULATED_CALLS_MAX }, (_, i) => phone.simulateCall({ from: String(200 + i) }));
    assert.ok(live.every((c) => c.state === "RINGING"));
    const extra = phone.simulateCall({ from: "299" });
    assert.strictEqual(extra.state, "ENDED");
    assert.strictEqual(extra.statusCode, 486);
    assert.match(extra.reason ?? "", /simulated calls at a time/);

    // Answered then hung up by the flow.
    helper.getNode("call").receive({ topic: "answer", call: { id: live[0].id } });
    await waitFor(() => callMsgs(out, live[0].id).some((m) => m.payload === "ANSWERED"), 5000, "answered by the flow");
    helper.getNode("call").receive({ topic: "hangup", call: { id: live[0].id } });
    await waitFor(() => callMsgs(out, live[0].id).some((m) => m.payload === "ENDED"), 5000, "hung up by the flow");
    const end = callMsgs(out, live[0].id).find((m) => m.payload === "ENDED")!.call!;
    assert.strictEqual(end.hungUpBy, "local");
    assert.strictEqual(end.simulated, true);

    // Bad input and unknown calls are refused with clear errors.
    assert.throws(() => phone.simulateCall({ from: "sip:evil@example.org" }), /digits/);
    assert.throws(() => phone.simulateCall({ from: "" }), /number/);
    assert.throws(() => phone.simulateDigit("nope", "1"), /no active simulated call/);
    assert.throws(() => phone.simulateDigit(live[1].id, "1"), /not ANSWERED/);
  });

  it("the phone-menu-simulator example: key 2 gives the garage answer out of its second action output", async () => {
    const port = await closedUdpPort();
    const file = path.join(__dirname, "..", "..", "..", "examples", "phone-menu-simulator.json");
    // The example's account, pointed at a closed loopback port (never at its Fritz!Box address); the
    // debug nodes become helper nodes.
    const nodes = (JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>)
      .filter((n) => n.type !== "comment")
      .map((n) =>
        n.type === "sip-client" ? { ...n, server: "127.0.0.1", port: String(port) } : n.type === "debug" ? { id: n.id, type: "helper", z: n.z } : n,
      );
    const tab = String(nodes[0].z);
    await helper.load([sipClient, sipCall, sipDtmf], [{ id: tab, type: "tab" }, ...nodes]);
    const choice: Msg[] = [];
    const callEvents: Msg[] = [];
    helper.getNode("b7e1a0c000000060").on("input", (m: Msg) => choice.push(m));
    helper.getNode("b7e1a0c000000030").on("input", (m: Msg) => callEvents.push(m));
    const acct = helper.getNode("6b2d1e0f3a4c5d71") as unknown as { phone?: Softphone };
    await waitFor(() => !!acct.phone, 10_000, "the account started");
    const info = acct.phone!.simulateCall({ from: "5550000" });
    await waitFor(() => callMsgs(callEvents, info.id).some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
    acct.phone!.simulateDigit(info.id, "2");
    await waitFor(() => choice.length > 0, 5000, "the menu choice");
    assert.strictEqual(choice[0].topic, "garage");
    assert.strictEqual(choice[0].call?.simulated, true);
    await acct.phone!.simulateHangup(info.id);
    await waitFor(() => callMsgs(callEvents, info.id).some((m) => m.payload === "ENDED"), 5000, "ENDED");
  });
});
