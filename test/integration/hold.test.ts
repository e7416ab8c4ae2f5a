// Hold and resume from a flow (issue 9 item 5): a real Node-RED, Kamailio and baresip on 127.0.0.1,
// and SIPp for a peer that refuses the hold.
import assert from "assert";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { loadCallFlow } from "../support/call-flow";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { startSipp } from "../support/sipp";
import { waitFor, sleep } from "../support/wait";
import { speechMatch } from "../support/audio-match";
import { captureOnLo, g711Payloads } from "../support/tshark";
import { SpeechService } from "../../src/speech";
import type { Softphone } from "../../src/softphone";
import type { CallInfo } from "../../src/types";

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  call?: CallInfo;
}

/**
 * What baresip is sent on its RTP port, captured with tshark on lo (baresip 1.0.0's sndfile stops
 * recording received audio after a re-INVITE, so its own recording cannot show what it got on hold).
 */
async function captureRtp(port: number): Promise<{ stop(): Promise<Int16Array> }> {
  const cap = await captureOnLo(`udp dst port ${port} and dst host 127.0.0.1`);
  return {
    stop: async () => g711Payloads(await cap.stop({ decodeAs: [`udp.port==${port},rtp`], fields: ["rtp.p_type", "rtp.payload"] }), ["0", "8"]).pcm,
  };
}

const ON_HOLD = "Please hold the line. Your call is important to us.";

describe("hold and resume from a flow", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
  });
  after(async () => {
    await kam?.stop();
  });
  beforeEach(startRed);
  afterEach(stopRed);

  /** A flow of one account (at `port`), a sip-call node and a helper on its output; resolves once REGISTERED. */
  async function flow(port: number) {
    const { out, errors } = await loadCallFlow<Msg>(kam, { client: { port: String(port), ttsLanguage: "en-US" } });
    const node = helper.getNode("call");
    const phone = (helper.getNode("acct") as unknown as { phone: Softphone }).phone;
    /** The media of the call (for the RTP counters and the peer's SDP). */
    const media = (id: string) => phone.calls.get(id)?.sdh;
    const calls = () => out.filter((m) => m.topic === "call");
    return { node, out, errors, media, calls };
  }

  it("hold: baresip is held (recvonly) and hears what we say; resume: sendrecv, its audio comes back", async () => {
    const bob: Baresip = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
    const speech = new SpeechService({});
    try {
      await bob.waitRegistered();
      const f = await flow(kam.ports.udp);
      f.node.receive({ topic: "dial", payload: "bob" });
      await waitFor(() => f.calls().some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
      const answered = f.calls().find((m) => m.payload === "ANSWERED")!.call!;
      assert.strictEqual(answered.hold, false, "msg.call.hold is false before any hold");
      const id = answered.id;
      const rtp = () => f.media(id)!.rtp!.stats();
      await waitFor(() => rtp().packetsReceived > 20, 5000, "baresip's audio arrives");

      f.node.receive({ topic: "hold", call: { id } });
      await waitFor(() => f.calls().some((m) => m.call?.hold === "local"), 5000, "a call message with hold local");
      const held = f.calls().find((m) => m.call?.hold === "local")!;
      assert.strictEqual(held.payload, "ANSWERED", "the hold change comes as a call message in state ANSWERED");
      assert.strictEqual(f.media(id)!.negotiated?.remoteDirection, "recvonly", "baresip answered our sendonly: it is held");
      await sleep(500);
      const receivedOnHold = rtp().packetsReceived;

      // Music on hold: what we say while holding reaches baresip (captured on its RTP port).
      const capture = await captureRtp(f.media(id)!.negotiated!.remotePort);
      f.node.receive({ topic: "say", payload: ON_HOLD, call: { id } });
      await waitFor(
        () => f.out.some((m) => m.topic === "playback" && m.payload === "finished" && (m as { label?: string }).label === ON_HOLD),
        20_000,
        "the message played",
      );
      const heardOnHold = await capture.stop();
      const same = speechMatch(await speech.synthesize({ text: ON_HOLD, language: "en-US" }), heardOnHold);
      const other = speechMatch(
        await speech.synthesize({ text: "Attention please. The alarm in the living room went off two minutes ago.", language: "en-US" }),
        heardOnHold,
      );
      assert.ok(same.score > 0.9, `what we said on hold reached baresip: ${same.score.toFixed(2)}`);
      assert.ok(other.score < same.score - 0.2, `another sentence scores lower: ${other.score.toFixed(2)} vs ${same.score.toFixed(2)}`);
      assert.ok(rtp().packetsReceived - receivedOnHold <= 5, `baresip sent no audio while held (${rtp().packetsReceived - receivedOnHold})`);

      const sinceHold = f.calls().indexOf(held) + 1;
      f.node.receive({ topic: "resume", call: { id } });
      await waitFor(
        () =>
          f
            .calls()
            .slice(sinceHold)
            .some((m) => m.call?.hold === false),
        5000,
        "a call message with hold false",
      );
      assert.strictEqual(f.media(id)!.negotiated?.remoteDirection, "sendrecv");
      const resumed = rtp().packetsReceived;
      await sleep(1000);
      assert.ok(rtp().packetsReceived - resumed >= 30, `baresip's audio comes again (${rtp().packetsReceived - resumed} packets in 1 s)`);
      assert.deepStrictEqual(f.errors, []);

      f.node.receive({ topic: "hangup", call: { id } });
      await waitFor(() => f.calls().some((m) => m.payload === "ENDED"), 5000, "ENDED");
    } finally {
      await speech.close();
      await bob.stop();
    }
  });

  it("the peer holds (baresip hold/resume): call messages with hold remote, then false; we stop sending meanwhile", async () => {
    const bob: Baresip = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
    try {
      await bob.waitRegistered();
      const f = await flow(kam.ports.udp);
      f.node.receive({ topic: "dial", payload: "bob" });
      await waitFor(() => f.calls().some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
      const id = f.calls().find((m) => m.payload === "ANSWERED")!.call!.id;
      await sleep(500);
      await bob.command("hold");
      await waitFor(() => f.calls().some((m) => m.call?.hold === "remote"), 5000, "a call message with hold remote");
      const held = f.calls().find((m) => m.call?.hold === "remote")!;
      assert.strictEqual(held.payload, "ANSWERED");
      await sleep(200);
      const sent = f.media(id)!.rtp!.stats().packetsSent;
      await sleep(1000);
      assert.ok(f.media(id)!.rtp!.stats().packetsSent - sent <= 2, "no audio sent while the peer holds (as before)");
      const since = f.calls().indexOf(held) + 1;
      await bob.command("resume");
      await waitFor(
        () =>
          f
            .calls()
            .slice(since)
            .some((m) => m.call?.hold === false),
        5000,
        "a call message with hold false",
      );
      f.node.receive({ topic: "hangup", call: { id } });
      await waitFor(() => f.calls().some((m) => m.payload === "ENDED"), 5000, "ENDED");
      assert.deepStrictEqual(f.errors, []);
    } finally {
      await bob.stop();
    }
  });

  it("a peer that refuses the hold (488): the message fails, the call stays up and unheld", async () => {
    const uas = await startSipp({ scenario: "uas-reinvite-488", calls: 3, timeoutMs: 30_000 });
    try {
      const f = await flow(uas.port);
      f.node.receive({ topic: "dial", payload: "sipp" });
      await waitFor(() => f.calls().some((m) => m.payload === "ANSWERED"), 10_000, "ANSWERED");
      const id = f.calls().find((m) => m.payload === "ANSWERED")!.call!.id;
      f.node.receive({ topic: "hold", call: { id } });
      await waitFor(() => f.errors.length > 0, 10_000, "the hold fails");
      assert.match(f.errors[0], /^hold: the peer refused \(488 Not Acceptable Here\)$/);
      assert.ok(!f.calls().some((m) => m.call?.hold), "no hold was reported");
      assert.ok(!f.calls().some((m) => m.payload === "ENDED"), "the call is still up");
      assert.strictEqual(f.media(id)!.onHold, false, "our media is not on hold");
      await sleep(300);
      assert.strictEqual(f.media(id)!.negotiated?.direction, "sendrecv");
      f.node.receive({ topic: "hangup", call: { id } });
      await waitFor(() => f.calls().some((m) => m.payload === "ENDED"), 5000, "ENDED");
      const ended = f.calls().find((m) => m.payload === "ENDED")!.call!;
      assert.strictEqual(ended.outcome, "completed");
      assert.strictEqual(ended.hungUpBy, "local");
    } finally {
      await uas.stop();
    }
  });
});
