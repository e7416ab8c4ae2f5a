// Early media (issue 9 item 6) below the flow: RTP sent before the ACK only when we chose to, the
// early answer of a call we dial applied without completing the offer/answer, and the call
// manager's 183, RINGING message and time limit.
import assert from "assert";
import { SessionState } from "sip.js";
import { RtpSession } from "../../../src/media/rtp-session";
import { RtpSessionDescriptionHandler } from "../../../src/media/session-description-handler";
import { CallManager } from "../../../src/call/call-manager";
import type { CallInfo, CallState } from "../../../src/types";
import { RawPeer, manualPacer, waitFor } from "../media/helpers";
import { ManualClock } from "../../support/manual-clock";
import { EventEmitter } from "events";
import { Call } from "../../../src/call/call";
import { fakeInvitation as fakeInvite } from "../../support/fake-invitation";

describe("early media", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  it("RTP: allowEarlySend() sends to the SDP address before the dialog is confirmed (the 183 case)", async () => {
    const caller = await RawPeer.open("127.0.0.1");
    cleanup.push(() => caller.close());
    const s = await RtpSession.open({ portMin: 43000, portMax: 43999, bindAddress: "127.0.0.1", pacer: manualPacer() });
    cleanup.push(() => s.close());
    s.setRemote({ address: "127.0.0.1", port: caller.port, codec: "PCMU", payloadType: 0, telephoneEventPt: 101, direction: "sendrecv" });
    assert.equal(s.sendTarget, null, "nothing before the ACK by default");
    s.allowEarlySend();
    assert.deepEqual(s.sendTarget, { address: "127.0.0.1", port: caller.port });
    s.tick(0);
    await waitFor(() => caller.packets.length === 1, 3000, "an early packet");
    assert.equal(s.confirmed, false, "still not confirmed");
  });

  it("RTP timeout: early media that stops does not count; the answer restarts the clock", async () => {
    const clock = new ManualClock();
    const s = await RtpSession.open({ portMin: 43000, portMax: 43999, bindAddress: "127.0.0.1", pacer: manualPacer(), rtpTimeoutMs: 1000, clock });
    cleanup.push(() => s.close());
    let timeouts = 0;
    s.on("timeout", () => timeouts++);
    s.setRemote({ address: "127.0.0.1", port: 9, codec: "PCMU", payloadType: 0, telephoneEventPt: 101, direction: "sendrecv" });
    clock.advance(1500);
    s.tick(0);
    assert.equal(timeouts, 1, "the early phase timed out (the call layer ignores it while ringing)");
    s.confirm();
    clock.advance(500);
    s.tick(0);
    assert.equal(timeouts, 1, "the answer restarted the clock");
    clock.advance(600);
    s.tick(0);
    assert.equal(timeouts, 2, "and silence after the answer times out");
  });

  it("Call: an RTP timeout hangs up an answered call, not a ringing one", async () => {
    const listeners: Array<(s: SessionState) => void> = [];
    const session = {
      state: SessionState.Establishing,
      delegate: undefined as unknown,
      stateChange: { addListener: (fn: (s: SessionState) => void) => listeners.push(fn) },
      dispose: () => {
        listeners.forEach((fn) => fn(SessionState.Terminated));
        return Promise.resolve();
      },
    };
    const party = { number: "bob", name: "", uri: "sip:bob@127.0.0.1" };
    const call = new Call(session as never, "outbound", party, party);
    const sdh = Object.assign(new EventEmitter(), { setFrameSource: () => undefined, rtp: null });
    call.attachMedia(sdh as never);
    const rtp = new EventEmitter();
    sdh.emit("rtp", rtp);
    call.setState("RINGING");
    rtp.emit("timeout");
    await new Promise((r) => setImmediate(r));
    assert.equal(call.state, "RINGING", "early media stopped: the call still rings");
    listeners.forEach((fn) => fn(SessionState.Established));
    rtp.emit("timeout");
    await waitFor(() => call.state === "ENDED", 2000, "ENDED");
    assert.equal(call.info.outcome, "rtp-timeout");
  });

  describe("SDH: the answer in a 18x to our offer", () => {
    const opts = { portMin: 44000, portMax: 44999, bindAddress: "127.0.0.1", advertisedAddress: () => "127.0.0.1", pacer: manualPacer() };
    function handler(): RtpSessionDescriptionHandler {
      const h = new RtpSessionDescriptionHandler({ codecs: ["PCMA", "PCMU"], ...opts });
      cleanup.push(() => h.close());
      return h;
    }
    const answer = (port: number, pt = 0) =>
      `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP ${pt}\r\na=sendrecv\r\n`;

    it("starts media toward the early answer and still takes the 2xx's answer (another fork's) as the answer", async () => {
      const h = handler();
      assert.equal(h.applyEarlyAnswer(answer(30000)), false, "no offer sent yet");
      await h.getDescription();
      assert.equal(h.applyEarlyAnswer("not sdp"), false);
      assert.equal(h.applyEarlyAnswer(answer(30000, 18)), false, "no common codec: no early media");
      assert.equal(h.applyEarlyAnswer(answer(30000)), true);
      assert.equal(h.negotiated?.remotePort, 30000);
      assert.equal(h.negotiated?.codec, "PCMU");
      // The 200 (here from another fork, PCMA on another port) completes our offer.
      await h.setDescription(answer(30002, 8));
      assert.equal(h.negotiated?.remotePort, 30002);
      assert.equal(h.negotiated?.codec, "PCMA");
      // The exchange is complete: the next description is a new offer (a re-INVITE), not an answer.
      const next = await h.getDescription();
      assert.match(next.body, /m=audio \d+ RTP\/AVP 8 0 101\r\n/, "a full offer");
    });
  });

  describe("CallManager", () => {
    const fakeInvitation = () => fakeInvite("bob", { disposeEnds: false, asInvitation: true });

    function manager(earlyMediaMaxMs?: number) {
      const cm = new CallManager({
        userAgent: { transport: undefined } as never,
        domain: "127.0.0.1",
        codecs: ["PCMU"],
        speech: { synthesize: () => Promise.reject(new Error("no speech")), loadAudio: () => Promise.reject(new Error("no audio")) },
        earlyMediaMaxMs,
      });
      cleanup.push(() => cm.close());
      const events: Array<{ state: CallState; call: CallInfo }> = [];
      cm.on("call", (state, call) => events.push({ state, call }));
      return { cm, events };
    }

    it("without early media: a 180, and no earlyMedia field", () => {
      const { cm, events } = manager();
      const inv = fakeInvitation();
      cm.setInboundPolicy({ autoAnswer: false });
      cm.onInvite(inv as never);
      assert.deepEqual(inv.progressed, [undefined]);
      assert.equal(events.length, 1);
      assert.equal("earlyMedia" in events[0].call, false);
    });

    it("the earlyMedia option: 183 at once, one RINGING message that says so", async () => {
      const { cm, events } = manager();
      const inv = fakeInvitation();
      cm.setInboundPolicy({ autoAnswer: false, earlyMedia: true });
      cm.onInvite(inv as never);
      assert.deepEqual(inv.progressed, [183]);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        events.map((e) => [e.state, e.call.earlyMedia]),
        [["RINGING", true]],
      );
    });

    it("ringback needs an answer delay: then 183 at once", () => {
      const { cm } = manager();
      const noDelay = fakeInvitation();
      cm.setInboundPolicy({ autoAnswer: true, answerDelaySeconds: 0, ringback: "eu" });
      cm.onInvite(noDelay as never);
      assert.deepEqual(noDelay.progressed, [undefined], "answered at once: no ringback, a 180");
      const delayed = fakeInvitation();
      cm.setInboundPolicy({ autoAnswer: true, answerDelaySeconds: 30, ringback: "uk" });
      cm.onInvite(delayed as never);
      assert.deepEqual(delayed.progressed, [183]);
      const off = fakeInvitation();
      cm.setInboundPolicy({ autoAnswer: true, answerDelaySeconds: 30, ringback: "off" });
      cm.onInvite(off as never);
      assert.deepEqual(off.progressed, [undefined]);
    });

    it("an early call not answered within the bound is rejected 480 (no-answer, early media time limit)", async () => {
      const { cm, events } = manager(50);
      const inv = fakeInvitation();
      cm.setInboundPolicy({ autoAnswer: false, earlyMedia: true });
      cm.onInvite(inv as never);
      await waitFor(() => events.some((e) => e.state === "ENDED"), 2000, "ENDED");
      assert.deepEqual(inv.rejectedWith, [480]);
      const ended = events.find((e) => e.state === "ENDED")!.call;
      assert.equal(ended.outcome, "no-answer");
      assert.equal(ended.reason, "early media time limit");
      assert.equal(ended.statusCode, 480);
      assert.equal(ended.earlyMedia, true);
    });

    it("a call without early media is not bound by it", async () => {
      const { cm, events } = manager(50);
      const inv = fakeInvitation();
      cm.setInboundPolicy({ autoAnswer: false });
      cm.onInvite(inv as never);
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(inv.rejectedWith, []);
      assert.ok(!events.some((e) => e.state === "ENDED"));
    });
  });
});
