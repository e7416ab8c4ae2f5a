// Escalation from a flow (topic "alert"), against three baresip phones on Kamailio: the first
// does not answer, the second answers and presses nothing (it hangs up when its microphone WAV
// ends), the third answers, hears the message and presses 1.
import assert from "assert";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { waitFor, sleep } from "../support/wait";
import type { AlertResult } from "../../src";
import { loadCallFlow } from "../support/call-flow";

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  alertId?: string;
  label?: string;
  call?: { id: string; alertId?: string; to: { number: string }; outcome?: string };
}

const ALARM = "Alarm. The smoke detector in the basement went off. Press 1 to confirm.";

describe("escalation from a flow (topic alert)", function () {
  this.timeout(90_000);
  let kam: Kamailio;
  const peers: Baresip[] = [];
  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob", carol: "pw-carol", dave: "pw-dave", erin: "pw-erin" } });
  });
  after(async () => {
    for (const b of peers) await b.stop();
    await kam?.stop();
  });
  beforeEach(startRed);
  afterEach(stopRed);

  async function phone(user: string, opts: Partial<Parameters<typeof startBaresip>[0]>): Promise<Baresip> {
    const b = await startBaresip({ user, password: `pw-${user}`, kamailio: kam, ...opts });
    peers.push(b);
    await b.waitRegistered();
    return b;
  }

  const load = () => loadCallFlow<Msg>(kam, { client: { ttsLanguage: "en-US" }, call: { autoAnswer: false, maxCalls: 2 }, dtmf: {} });

  it("no answer, answered without a key, confirmed with 1: one result, confirmed by the third", async () => {
    const bob = await phone("bob", { answerMode: "manual" });
    const carol = await phone("carol", { answerMode: "auto", toneSeconds: 4 });
    const dave = await phone("dave", { answerMode: "auto" });
    const { out, dtmf } = await load();
    const daveMark = dave.mark();
    helper.getNode("call").receive({
      topic: "alert",
      payload: ALARM,
      alert: { numbers: ["bob", "carol", "dave"], attempts: 1, ringSeconds: 3, repeat: 3, repeatPauseSeconds: 1, deadlineSeconds: 120 },
    });
    await dave.waitEvent("CALL_ESTABLISHED", 40_000, { since: daveMark });
    // dave waits until he has heard the message start, then presses 1.
    await waitFor(
      () => out.some((m) => m.topic === "playback" && m.payload === "started" && m.call?.to.number === "dave"),
      15_000,
      "the message to dave",
    );
    await sleep(1500);
    await dave.sndcode("1");
    await waitFor(() => out.some((m) => m.topic === "alert"), 15_000, "the alert result");
    const results = out.filter((m) => m.topic === "alert");
    assert.strictEqual(results.length, 1, "one result");
    const r = results[0].payload as AlertResult;
    const alertId = results[0].alertId!;
    assert.match(alertId, /^[0-9a-f-]{36}$/);
    assert.strictEqual(r.confirmed, true);
    assert.strictEqual(r.by, "dave");
    assert.ok(r.at && Date.parse(r.at) > 0);
    assert.deepStrictEqual(
      r.attempts.map((a) => [a.number, a.round, a.outcome]),
      [
        ["bob", 1, "no-answer"],
        ["carol", 1, "hung-up"],
        ["dave", 1, "confirmed"],
      ],
    );
    assert.strictEqual(r.attempts[0].reason, "ring timeout");
    // Every call message of the three attempts is marked with the alert's id; carol heard the message.
    await waitFor(() => out.filter((m) => m.topic === "call" && m.payload === "ENDED").length === 3, 10_000, "three calls ENDED");
    const calls = out.filter((m) => m.topic === "call");
    assert.ok(calls.length >= 9, `DIALING/RINGING/ANSWERED/ENDED messages: ${calls.map((m) => m.payload).join(",")}`);
    assert.deepStrictEqual(
      calls.filter((m) => m.call?.alertId !== alertId),
      [],
      "every call message carries msg.call.alertId",
    );
    assert.deepStrictEqual([...new Set(calls.map((m) => m.call!.to.number))], ["bob", "carol", "dave"]);
    assert.ok(
      out.some((m) => m.topic === "playback" && m.call?.to.number === "carol" && m.label === ALARM && m.call.alertId === alertId),
      "carol's call played the message",
    );
    // sip-dtmf's message of dave's key belongs to the alert too.
    assert.ok(
      dtmf.some((m) => m.payload === "1" && m.call?.to.number === "dave" && m.call.alertId === alertId),
      `sip-dtmf's key 1 carries msg.call.alertId: ${JSON.stringify(dtmf.map((m) => [m.payload, m.call?.alertId]))}`,
    );
    await bob.waitEvent("CALL_CLOSED", 5000);
    await carol.waitEvent("CALL_CLOSED", 5000);
    await dave.waitEvent("CALL_CLOSED", 5000, { since: daveMark });
  });

  it("a second alert while one runs is refused; payload cancel stops it with a cancelled result", async () => {
    await phone("erin", { answerMode: "manual" });
    const { out, errors } = await load();
    const node = helper.getNode("call");
    node.receive({ topic: "alert", payload: ALARM, alert: { numbers: ["erin"], ringSeconds: 30 } });
    await waitFor(() => out.some((m) => m.topic === "call" && m.payload === "RINGING"), 10_000, "bob rings");
    node.receive({ topic: "alert", payload: ALARM, alert: { numbers: ["carol"] } });
    node.receive({ topic: "alert", payload: "hello", alert: { numbers: [] } });
    await waitFor(() => errors.length === 2, 5000, "two errors");
    assert.match(errors[0], /alert: alert [0-9a-f-]+ is still running; send payload "cancel" first/);
    assert.match(errors[1], /alert: msg.alert.numbers must be a list/);
    node.receive({ topic: "alert", payload: "cancel" });
    await waitFor(() => out.some((m) => m.topic === "alert"), 5000, "the result");
    const r = out.find((m) => m.topic === "alert")!.payload as AlertResult;
    assert.strictEqual(r.confirmed, false);
    assert.strictEqual(r.reason, "cancelled");
    assert.deepStrictEqual(
      r.attempts.map((a) => [a.number, a.outcome]),
      [["erin", "cancelled"]],
    );
    await waitFor(() => out.some((m) => m.topic === "call" && m.payload === "ENDED"), 5000, "the call ENDED");
    assert.strictEqual(out.filter((m) => m.topic === "call" && m.payload === "DIALING").length, 1, "carol was never called");
  });
});
