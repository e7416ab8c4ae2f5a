// The call simulator's core: the paced audio (20 ms frames, 100 ms batches, no burst after a
// stall), the stand-in session, the caller check, and CallManager.simulate (the inbound path:
// filter, greeting rows, limits) with msg.call.simulated; real calls never carry the flag.
import assert from "assert";
import { SessionState } from "sip.js";
import { CallManager } from "../../../src/call/call-manager";
import {
  SIMULATED_BATCH_FRAMES,
  SIMULATED_CALL_MAX_MS,
  SIMULATED_CALLS_MAX,
  SIMULATED_CATCH_UP_FRAMES,
  SimulatedAudio,
  SimulatedSession,
  simulatedCaller,
} from "../../../src/call/simulated-call";
import { Call } from "../../../src/call/call";
import type { OutgoingFrame } from "../../../src/media/rtp-session";
import type { CallInfo, CallParty, CallState } from "../../../src/types";
import { ManualClock } from "../../support/manual-clock";
import { fakeInvitation } from "../../support/fake-invitation";

const party = (number: string): CallParty => ({ number, name: "", uri: `sip:${number}@127.0.0.1`, anonymous: false, source: "from" });

function counter() {
  let n = 0;
  return {
    get pulled() {
      return n;
    },
    nextFrame(): OutgoingFrame | null {
      n++;
      return { kind: "audio", pcm: new Int16Array(160).fill(n) };
    },
  };
}

describe("SimulatedAudio: the simulated call's paced audio", () => {
  it("pulls one frame per 20 ms and hands out batches of 100 ms in order", () => {
    const clock = new ManualClock();
    const src = counter();
    const audio = new SimulatedAudio(src, clock);
    const batches: Int16Array[] = [];
    audio.on("audio", (pcm) => batches.push(pcm));
    audio.start();
    clock.advance(1000);
    audio.stop();
    assert.ok(src.pulled >= 50 && src.pulled <= 51, `${src.pulled} frames in 1 s`);
    assert.strictEqual(batches.length, Math.floor(src.pulled / SIMULATED_BATCH_FRAMES));
    assert.ok(batches.every((b) => b.length === SIMULATED_BATCH_FRAMES * 160));
    assert.deepStrictEqual([...batches[1].filter((_, i) => i % 160 === 0)], [6, 7, 8, 9, 10], "frames in order");
    clock.advance(1000);
    assert.ok(src.pulled <= 51, "nothing after stop()");
    assert.strictEqual(clock.timers.size, 0, "no timer left");
  });

  it("catches up at most SIMULATED_CATCH_UP_FRAMES after a stall, and plays silence for DTMF events and null frames", () => {
    // A clock whose timer fires only when the test says, as late as it likes (a stalled event loop).
    let fire: (() => void) | undefined;
    const clock = { t: 0, now: () => clock.t, setTimeout: (fn: () => void) => (fire = fn), clearTimeout: () => (fire = undefined) };
    let calls = 0;
    const audio = new SimulatedAudio(
      {
        nextFrame: () => {
          calls++;
          return calls % 2 ? null : { kind: "event", payload: Buffer.alloc(4), eventStart: true };
        },
      },
      clock,
    );
    const batches: Int16Array[] = [];
    audio.on("audio", (b) => batches.push(b));
    audio.start();
    // A stall of 5 s: the timer fires late, once.
    const first = calls;
    clock.t += 5000;
    fire!();
    assert.ok(calls - first <= SIMULATED_CATCH_UP_FRAMES + 1, `${calls - first} frames after a 5 s stall`);
    audio.stop();
    assert.ok(batches.length > 0 && batches.every((b) => b.every((s) => s === 0)));
  });
});

describe("SimulatedSession and the caller of a simulation", () => {
  it("accept() establishes, bye()/dispose() terminate once; requests into the call fail", async () => {
    const s = new SimulatedSession();
    const seen: SessionState[] = [];
    s.stateChange.addListener((st) => seen.push(st));
    await s.accept();
    await assert.rejects(s.accept());
    await s.bye();
    await s.dispose();
    assert.deepStrictEqual(seen, [SessionState.Established, SessionState.Terminated]);
    await assert.rejects(s.info(), /no SIP/);
    await assert.rejects(s.invite(), /no SIP/);
    await assert.rejects(s.refer(), /no SIP/);
  });

  it("takes a dialable number and a printable name, refuses the rest", () => {
    assert.deepStrictEqual(simulatedCaller(" +4930123 ", " Ann\u0007 "), { number: "+4930123", name: "Ann" });
    assert.deepStrictEqual(simulatedCaller("*31#", ""), { number: "*31#" });
    assert.throws(() => simulatedCaller("", undefined), /number/);
    assert.throws(() => simulatedCaller("sip:x@example.org", undefined), /digits/);
    assert.throws(() => simulatedCaller("1".repeat(40), undefined), /at most/);
    assert.throws(() => simulatedCaller(42, undefined), /number/);
    assert.throws(() => simulatedCaller("1", "n".repeat(65)), /name/);
  });
});

describe("CallManager.simulate: the inbound path without SIP", () => {
  let cm: CallManager;
  let events: Array<{ state: CallState; call: CallInfo }>;
  beforeEach(() => {
    cm = new CallManager({
      userAgent: { transport: undefined } as never,
      domain: "127.0.0.1",
      codecs: ["PCMA"],
      speech: { synthesize: () => Promise.reject(new Error("no speech here")), loadAudio: () => Promise.reject(new Error("no audio here")) },
    });
    events = [];
    cm.on("call", (state, call) => events.push({ state, call }));
  });
  afterEach(() => cm.close());

  it("rings with msg.call.simulated, is answered and hung up like a real incoming call", async () => {
    cm.setInboundPolicy({ autoAnswer: false });
    const made = cm.simulate(party("100"), party("alice"));
    assert.ok(made instanceof Call);
    assert.deepStrictEqual(
      events.map((e) => [e.state, e.call.simulated]),
      [["RINGING", true]],
    );
    await cm.answer(made);
    await cm.reject(made).then(
      () => assert.fail("an answered call cannot be rejected"),
      () => undefined,
    );
    await made.hangup();
    await new Promise((r) => setImmediate(r));
    assert.deepStrictEqual(
      events.map((e) => [e.state, e.call.simulated]),
      [
        ["RINGING", true],
        ["ANSWERED", true],
        ["ENDED", true],
      ],
    );
    assert.strictEqual(events[2].call.outcome, "completed");
    assert.throws(() => cm.transfer(made, "200"), /not ANSWERED|simulated/);
  });

  it("the caller filter and a reject row refuse it (ENDED, simulated); at most SIMULATED_CALLS_MAX at a time", () => {
    cm.setInboundPolicy({
      autoAnswer: false,
      filterMode: "block",
      filterList: ["666"],
      greetings: [{ number: "777", message: "", action: "reject" }],
    });
    const blocked = cm.simulate(party("666"), party("alice"));
    assert.ok(!(blocked instanceof Call) && blocked.state === "ENDED" && blocked.statusCode === 603 && blocked.simulated === true);
    const byRule = cm.simulate(party("777"), party("alice"));
    assert.ok(!(byRule instanceof Call) && byRule.rule?.index === 1 && byRule.simulated === true);
    for (let i = 0; i < SIMULATED_CALLS_MAX; i++) assert.ok(cm.simulate(party(String(i)), party("alice")) instanceof Call);
    const over = cm.simulate(party("9"), party("alice"));
    assert.ok(!(over instanceof Call) && over.statusCode === 486 && /simulated calls/.test(over.reason ?? ""));
    assert.strictEqual(cm.list().length, SIMULATED_CALLS_MAX);
  });

  it("a real incoming call has no simulated field", () => {
    cm.setInboundPolicy({ autoAnswer: false });
    cm.onInvite(fakeInvitation("bob") as never);
    assert.strictEqual("simulated" in events[0].call, false);
  });

  it("a simulated call is hung up at its time limit (SIMULATED_CALL_MAX_MS, shortened here)", async () => {
    const short = new CallManager({
      userAgent: { transport: undefined } as never,
      domain: "127.0.0.1",
      codecs: ["PCMA"],
      speech: { synthesize: () => Promise.reject(new Error("no speech")), loadAudio: () => Promise.reject(new Error("no audio")) },
      simulatedCallMaxMs: 50,
    });
    assert.ok(SIMULATED_CALL_MAX_MS > 0);
    short.setInboundPolicy({ autoAnswer: true });
    const ended = new Promise<CallInfo>((resolve) => short.on("call", (s, c) => s === "ENDED" && resolve(c)));
    short.simulate(party("100"), party("alice"));
    const info = await ended;
    assert.strictEqual(info.reason, "simulated call time limit");
    assert.strictEqual(info.hungUpBy, "local");
    await short.close();
  });
});
