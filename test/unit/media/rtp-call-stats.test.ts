// RtpSession.callStats(): the figures that end up in msg.call.stats at ENDED.
import assert from "node:assert/strict";
import { serializeRtp } from "../../../src/media/rtp-packet.js";
import { RtpSession } from "../../../src/media/rtp-session.js";
import { RawPeer, manualPacer, waitFor } from "./helpers.js";

const PORTS = { portMin: 42100, portMax: 42199, bindAddress: "127.0.0.1" };

describe("media/rtp-session: callStats", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  async function setup() {
    const peer = await RawPeer.open();
    cleanup.push(() => peer.close());
    const s = await RtpSession.open({ ...PORTS, pacer: manualPacer() });
    cleanup.push(() => s.close());
    s.confirm();
    s.setRemote({ address: "127.0.0.1", port: peer.port, codec: "PCMU", payloadType: 0, direction: "sendrecv" });
    return { peer, s };
  }
  const rtp = (seq: number, ssrc = 0x1234) =>
    serializeRtp({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc }, Buffer.alloc(160, 0xff));

  it("counts sent and received packets, and the peer's lost packets (sequence gaps)", async () => {
    const { peer, s } = await setup();
    for (let i = 0; i < 5; i++) s.tick(0);
    // 20 sequence numbers, 4 of them never sent.
    const missing = new Set([5, 6, 11, 17]);
    for (let seq = 1; seq <= 20; seq++) if (!missing.has(seq)) await peer.send(rtp(seq), s.localPort);
    await waitFor(() => s.stats().packetsReceived === 16, 3000, "16 packets");
    await waitFor(() => peer.packets.length === 5, 3000, "5 packets at the peer");
    const st = s.callStats();
    assert.equal(st.packetsSent, 5);
    assert.equal(st.packetsReceived, 16);
    assert.equal(st.packetsLost, 4);
    assert.equal(st.packetsIgnored, 0);
    assert.ok(Number.isFinite(st.jitterMs) && st.jitterMs >= 0, `jitter ${st.jitterMs}`);
  });

  it("counts packets from another source as ignored, not received; stays readable after close", async () => {
    const { peer, s } = await setup();
    const stranger = await RawPeer.open("127.0.0.5");
    cleanup.push(() => stranger.close());
    await peer.send(rtp(1), s.localPort);
    await peer.send(rtp(2), s.localPort);
    await waitFor(() => s.stats().packetsReceived === 2, 3000, "2 packets");
    for (let seq = 100; seq < 103; seq++) {
      await new Promise<void>((r, j) => stranger.socket.send(rtp(seq, 0x999), s.localPort, "127.0.0.1", (e) => (e ? j(e) : r())));
    }
    await waitFor(() => s.stats().ignoredFromOtherSources === 3, 3000, "3 ignored");
    s.close();
    const st = s.callStats();
    assert.deepEqual({ received: st.packetsReceived, ignored: st.packetsIgnored, lost: st.packetsLost }, { received: 2, ignored: 3, lost: 0 });
  });

  it("nothing received: zeros, not an error", async () => {
    const { s } = await setup();
    s.tick(0);
    assert.deepEqual(s.callStats(), { packetsSent: 1, packetsReceived: 0, packetsLost: 0, jitterMs: 0, packetsIgnored: 0 });
  });
});
