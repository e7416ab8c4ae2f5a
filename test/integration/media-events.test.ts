// The audio path as a flow sees it (issue 9 item 7): a sip-call node in a real Node-RED reports
// `topic "media"` (flowing / one-way / no-rtp) and, at ENDED, msg.call.stats. Peers on loopback:
// Kamailio, baresip (sends audio) and SIPp (answers SIP but never sends RTP: a blocked peer).
import assert from "assert";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { startSipp, describeSipp } from "../support/sipp";
import { waitFor, sleep } from "../support/wait";
import type { AudioPathEvent, CallInfo } from "../../src";
import { loadCallFlow } from "../support/call-flow";

// Node-RED's test helper loads the nodes as CommonJS modules.

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  media?: AudioPathEvent;
  call?: CallInfo;
}

describe("sip-call media messages (audio path, call statistics)", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let bob: Baresip | undefined;
  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
  });
  after(async () => {
    await bob?.stop();
    await kam?.stop();
  });
  beforeEach(startRed);
  afterEach(async () => {
    // Stopped after each test, failed or not, so the next one starts with a fresh phone.
    await bob?.stop();
    bob = undefined;
    await stopRed();
  });

  /** alice's account and one sip-call node (auto-answer) wired to "out"; resolves once REGISTERED. */
  const loadFlow = async (): Promise<Msg[]> => (await loadCallFlow<Msg>(kam, { client: { codecs: "PCMU,PCMA" } })).out;
  // Audio-path messages; the periodic payload "quality" ones (rtcp.test.ts) are another kind.
  const media = (out: Msg[]) => out.filter((m) => m.topic === "media" && m.payload !== "quality");
  const ended = (out: Msg[]) => out.find((m) => m.topic === "call" && m.payload === "ENDED");

  it("a call dialled from the flow to baresip reports 'flowing' once, and ENDED carries stats both ways", async () => {
    bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
    await bob.waitRegistered();
    const out = await loadFlow();
    helper.getNode("call").receive({ topic: "dial", payload: "bob" });
    await waitFor(() => out.some((m) => m.topic === "call" && m.payload === "ANSWERED"), 15_000, "ANSWERED");
    await waitFor(() => media(out).length > 0, 5000, "a media message");
    // Several windows more: a steady path is reported once, not every 2 s.
    await sleep(4500);
    const answered = out.find((m) => m.payload === "ANSWERED")!;
    const m = media(out);
    assert.deepStrictEqual(
      m.map((x) => x.payload),
      ["flowing"],
      `media messages: ${JSON.stringify(m.map((x) => x.media))}`,
    );
    assert.strictEqual(m[0].media!.state, "flowing");
    assert.strictEqual(m[0].media!.direction, undefined);
    assert.strictEqual(m[0].media!.remote?.address, "127.0.0.1");
    const port = m[0].media!.remote?.port ?? 0;
    assert.ok(Number.isInteger(port) && port > 0, "the remote RTP port");
    assert.ok(m[0].media!.sent > 0 && m[0].media!.received > 0);
    assert.strictEqual(m[0].call!.id, answered.call!.id, "msg.call is the call");

    helper.getNode("call").receive({ topic: "hangup", call: { id: answered.call!.id } });
    await waitFor(() => !!ended(out), 10_000, "ENDED");
    const stats = ended(out)!.call!.stats;
    assert.ok(stats, "msg.call.stats at ENDED");
    // About 6 s of 20 ms packets each way; loopback loses nothing.
    assert.ok(stats.packetsSent > 200, `sent ${stats.packetsSent}`);
    assert.ok(stats.packetsReceived > 200, `received ${stats.packetsReceived}`);
    assert.strictEqual(stats.packetsLost, 0);
    assert.strictEqual(stats.packetsIgnored, 0);
    assert.ok(stats.jitterMs >= 0 && stats.jitterMs < 100, `jitter ${stats.jitterMs} ms`);
  });

  it("the peer holds the call: no 'one-way' while held (it is normal then), and after resume it flows again", async () => {
    bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
    await bob.waitRegistered();
    const out = await loadFlow();
    helper.getNode("call").receive({ topic: "dial", payload: "bob" });
    await waitFor(() => media(out).some((m) => m.payload === "flowing"), 15_000, "flowing");
    await bob.command("hold");
    // Held for three windows: the media stays one-way (or silent) and nothing may be reported.
    await sleep(6000);
    assert.deepStrictEqual(
      media(out).map((m) => m.payload),
      ["flowing"],
      "nothing reported while held",
    );
    await bob.command("resume");
    await sleep(3000);
    assert.deepStrictEqual(
      media(out).map((m) => m.payload),
      ["flowing"],
      "flowing again after resume: no change to report",
    );
    const id = media(out)[0].call!.id;
    helper.getNode("call").receive({ topic: "hangup", call: { id } });
    await waitFor(() => !!ended(out), 10_000, "ENDED");
  });

  it("a caller that sends no RTP (SIPp): 'one-way' send-only with its RTP address; ENDED stats show nothing received", async () => {
    const out = await loadFlow();
    const sipp = await startSipp({ scenario: "uac-call", target: `127.0.0.1:${kam.ports.udp}`, service: "alice", holdMs: 5000, timeoutMs: 30_000 });
    try {
      await waitFor(() => media(out).length > 0, 10_000, "a media message");
      const m = media(out)[0];
      assert.strictEqual(m.payload, "one-way");
      assert.strictEqual(m.media!.direction, "send-only");
      assert.deepStrictEqual(m.media!.remote, { address: "127.0.0.1", port: sipp.mediaPort }, "where our RTP goes: SIPp's media port");
      assert.strictEqual(m.media!.received, 0);
      assert.ok(m.media!.sent > 0);
      const res = await sipp.done;
      assert.ok(res.ok, `SIPp's call: ${describeSipp(res)}`);
      await waitFor(() => !!ended(out), 10_000, "ENDED");
      assert.deepStrictEqual(
        media(out).map((x) => x.payload),
        ["one-way"],
        "never 'flowing'",
      );
      const stats = ended(out)!.call!.stats!;
      assert.strictEqual(stats.packetsReceived, 0);
      assert.ok(stats.packetsSent > 100, `sent ${stats.packetsSent}`);
    } finally {
      await sipp.stop();
    }
  });
});
