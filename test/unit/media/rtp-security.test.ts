// Issue 8: RTP that cannot be stolen. Source policy (strict / latch, before / after the answer,
// SSRC lock, relatch on new SDP) and no sending before the dialog is confirmed (no reflection).
import assert from "node:assert/strict";
import { serializeRtp } from "../../../src/media/rtp-packet.js";
import { RTP_SSRC_TAKEOVER_MS, RtpSession, acceptSource, normalizeIp } from "../../../src/media/rtp-session.js";
import { RtpSessionDescriptionHandler } from "../../../src/media/session-description-handler.js";
import type { Session } from "sip.js";
import type { RtpSecurity } from "../../../src/types.js";
import { RawPeer, manualPacer, waitFor } from "./helpers.js";

const PORTS = { portMin: 43000, portMax: 43999, bindAddress: "127.0.0.1" };

function eventPacket(ssrc: number, digit: number, timestamp: number, seq = 1): Buffer {
  const payload = Buffer.from([digit, 10, 0, 160]);
  return serializeRtp({ marker: true, payloadType: 101, sequenceNumber: seq, timestamp, ssrc }, payload);
}

function audioPacket(ssrc: number, seq = 1): Buffer {
  return serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc }, Buffer.alloc(160, 0xff));
}

describe("media/rtp-security", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  async function open(security: RtpSecurity, extra: Partial<Parameters<typeof RtpSession.open>[0]> = {}): Promise<RtpSession> {
    const s = await RtpSession.open({ ...PORTS, pacer: manualPacer(), security, ...extra });
    cleanup.push(() => s.close());
    return s;
  }
  async function peer(address = "127.0.0.1"): Promise<RawPeer> {
    const p = await RawPeer.open(address);
    cleanup.push(() => p.close());
    return p;
  }
  function remote(port: number, address = "127.0.0.1") {
    return { address, port, codec: "PCMU" as const, payloadType: 0, telephoneEventPt: 101, direction: "sendrecv" as const };
  }
  function events(s: RtpSession): number[] {
    const seen: number[] = [];
    s.on("event", (payload) => seen.push(payload[0]));
    return seen;
  }
  /** Sends, then sends a marker from a trusted socket and waits for it, so the first packet was surely processed. */
  async function settle(s: RtpSession, before: number): Promise<void> {
    await waitFor(() => s.stats().ignoredFromOtherSources + s.stats().packetsReceived + s.stats().ignoredSsrc > before, 3000, "packet processed");
  }

  describe("acceptSource (the decision)", () => {
    const sdp = { address: "127.0.0.1", port: 4000 };
    const base = { sdp, latched: null, security: "latch" as const, confirmed: true, signallingHosts: ["127.0.0.9"] };
    it("accepts the exact SDP address before the answer, nothing else", () => {
      assert.equal(acceptSource({ ...base, confirmed: false, from: { address: "127.0.0.1", port: 4000 } }), "accept");
      assert.equal(acceptSource({ ...base, confirmed: false, from: { address: "127.0.0.1", port: 4002 } }), "drop");
      assert.equal(acceptSource({ ...base, confirmed: false, from: { address: "127.0.0.9", port: 4000 } }), "drop");
      assert.equal(acceptSource({ ...base, confirmed: false, from: { address: "127.0.0.2", port: 4000 } }), "drop");
    });
    it("latch mode after the answer: SDP IP on any port or a signalling IP latches; others drop", () => {
      assert.equal(acceptSource({ ...base, from: { address: "127.0.0.1", port: 4000 } }), "latch");
      assert.equal(acceptSource({ ...base, from: { address: "127.0.0.1", port: 5555 } }), "latch");
      assert.equal(acceptSource({ ...base, from: { address: "::ffff:127.0.0.9", port: 1 } }), "latch");
      assert.equal(acceptSource({ ...base, from: { address: "127.0.0.2", port: 4000 } }), "drop");
    });
    it("strict mode: only the exact SDP address:port, never a latch", () => {
      const strict = { ...base, security: "strict" as const };
      assert.equal(acceptSource({ ...strict, from: { address: "127.0.0.1", port: 4000 } }), "accept");
      assert.equal(acceptSource({ ...strict, from: { address: "127.0.0.1", port: 4002 } }), "drop");
      assert.equal(acceptSource({ ...strict, from: { address: "127.0.0.9", port: 4000 } }), "drop");
    });
    it("once latched, only the latched source; without SDP, nobody", () => {
      const latched = { address: "127.0.0.1", port: 5555 };
      assert.equal(acceptSource({ ...base, latched, from: latched }), "accept");
      assert.equal(acceptSource({ ...base, latched, from: { address: "127.0.0.1", port: 4000 } }), "drop");
      assert.equal(acceptSource({ ...base, sdp: null, from: { address: "127.0.0.1", port: 4000 } }), "drop");
    });
    it("normalizes IPv4-mapped and bracketed addresses", () => {
      assert.equal(normalizeIp("::FFFF:10.0.0.1"), "10.0.0.1");
      assert.equal(normalizeIp("[::1]"), "::1");
    });
  });

  describe("receiving", () => {
    it("ignores forged RFC 4733 events from a sprayer during ringing and after the answer", async () => {
      const legit = await peer();
      const attacker = await peer("127.0.0.2");
      const s = await open("latch");
      const seen = events(s);
      s.setRemote(remote(legit.port));
      // Ringing (not confirmed): the attacker sprays "1".
      for (let i = 0; i < 5; i++) await attacker.send(eventPacket(777, 1, 1000 + i), s.localPort);
      await settle(s, 4);
      s.confirm();
      for (let i = 0; i < 5; i++) await attacker.send(eventPacket(778, 1, 2000 + i), s.localPort);
      await settle(s, 9);
      assert.deepEqual(seen, [], "no forged key");
      assert.equal(s.latched, null, "the attacker did not latch");
      assert.equal(s.stats().ignoredFromOtherSources, 10);
      // The real peer still gets through and latches.
      await legit.send(eventPacket(5, 3, 3000), s.localPort);
      await waitFor(() => seen.length === 1);
      assert.deepEqual(seen, [3]);
      assert.deepEqual(s.latched, { address: "127.0.0.1", port: legit.port });
    });

    it("latch mode: before the answer only the exact SDP port; after it the SDP's IP latches (NAT)", async () => {
      const sdpTarget = await peer();
      const natted = await peer(); // same IP, other port
      const s = await open("latch");
      const seen = events(s);
      s.setRemote(remote(sdpTarget.port));
      await natted.send(eventPacket(9, 4, 100), s.localPort);
      await settle(s, 0);
      assert.deepEqual(seen, []);
      assert.equal(s.latched, null);
      s.confirm();
      await natted.send(eventPacket(9, 4, 200), s.localPort);
      await waitFor(() => seen.length === 1);
      assert.deepEqual(s.latched, { address: "127.0.0.1", port: natted.port });
      await sdpTarget.send(eventPacket(9, 6, 300), s.localPort);
      await settle(s, 2);
      assert.deepEqual(seen, [4], "after latching, the SDP port is another source");
    });

    it("latch mode: a signalling peer's IP may latch after the answer", async () => {
      const relay = await peer("127.0.0.5");
      const s = await open("latch", { signallingHosts: () => ["127.0.0.5"] });
      const seen = events(s);
      s.setRemote(remote(40000, "127.0.0.1"));
      s.confirm();
      await relay.send(eventPacket(9, 7, 100), s.localPort);
      await waitFor(() => seen.length === 1);
      assert.deepEqual(s.latched, { address: "127.0.0.5", port: relay.port });
    });

    it("strict mode: only the exact SDP address:port, never latching", async () => {
      const sdpTarget = await peer();
      const natted = await peer();
      const s = await open("strict", { signallingHosts: () => ["127.0.0.1"] });
      const seen = events(s);
      s.setRemote(remote(sdpTarget.port));
      s.confirm();
      await natted.send(eventPacket(9, 4, 100), s.localPort);
      await settle(s, 0);
      await sdpTarget.send(eventPacket(9, 8, 200), s.localPort);
      await waitFor(() => seen.length === 1);
      assert.deepEqual(seen, [8]);
      assert.equal(s.latched, null);
      assert.equal(s.stats().ignoredFromOtherSources, 1);
    });

    it("locks the SSRC per payload kind; a silent audio SSRC may be replaced", async () => {
      let clock = 0;
      const legit = await peer();
      const s = await open("latch", { clock: { now: () => clock } });
      const seen = events(s);
      const audio: number[] = [];
      s.on("audio", (_pcm, info) => audio.push(info.ssrc));
      s.setRemote(remote(legit.port));
      s.confirm();
      await legit.send(audioPacket(100, 1), s.localPort);
      await waitFor(() => audio.length === 1);
      await legit.send(audioPacket(666, 2), s.localPort); // forged with the latched source's address
      await legit.send(eventPacket(200, 1, 500), s.localPort); // events with their own SSRC: allowed, then locked
      await legit.send(eventPacket(667, 2, 600), s.localPort); // a third SSRC: no
      await legit.send(eventPacket(100, 3, 700), s.localPort); // events on the audio SSRC: yes
      await waitFor(() => seen.length === 2 && s.stats().ignoredSsrc === 2);
      assert.deepEqual(seen, [1, 3]);
      assert.deepEqual(audio, [100]);
      clock += RTP_SSRC_TAKEOVER_MS; // the audio stream went silent: a restarted stream may take over
      await legit.send(audioPacket(101, 3), s.localPort);
      await waitFor(() => audio.length === 2);
      assert.deepEqual(audio, [100, 101]);
    });

    it("relatches when a re-INVITE moves the media, and forgets the old source", async () => {
      const first = await peer();
      const second = await peer("127.0.0.6");
      const s = await open("latch");
      const seen = events(s);
      s.setRemote(remote(first.port));
      s.confirm();
      await first.send(eventPacket(1, 1, 100), s.localPort);
      await waitFor(() => seen.length === 1);
      s.setRemote(remote(second.port, "127.0.0.6"));
      assert.equal(s.latched, null);
      await first.send(eventPacket(1, 2, 200), s.localPort);
      await settle(s, 1);
      await second.send(eventPacket(2, 5, 300), s.localPort);
      await waitFor(() => seen.length === 2);
      assert.deepEqual(seen, [1, 5]);
      assert.deepEqual(s.latched, { address: "127.0.0.6", port: second.port });
    });
  });

  describe("bad input", () => {
    it("junk datagrams never throw out of the socket callback and are counted", async () => {
      const legit = await peer();
      const s = await open("latch");
      const errors: Error[] = [];
      s.on("error", (e) => errors.push(e));
      s.setRemote(remote(legit.port));
      s.confirm();
      let seed = 7;
      const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
      for (let i = 0; i < 2000; i++) {
        const b = Buffer.alloc(rnd(60));
        for (let j = 0; j < b.length; j++) b[j] = rnd(256);
        if (b.length > 0 && rnd(2)) b[0] = 0x80 | rnd(64); // version 2 with random P/X/CC bits
        await legit.send(b, s.localPort);
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5)); // within the socket's receive buffer
      }
      await legit.send(eventPacket(1, 9, 99), s.localPort);
      await waitFor(
        () => s.stats().packetsReceived + s.stats().malformed + s.stats().ignoredPayloadType + s.stats().ignoredSsrc >= 2001,
        5000,
        "all processed",
      );
      assert.deepEqual(errors, []);
      assert.equal(s.isClosed, false);
    });

    it("a telephone-event payload type RTP cannot carry is ignored instead of breaking every event frame", async () => {
      const legit = await peer();
      const s = await open("latch");
      const errors: Error[] = [];
      s.on("error", (e) => errors.push(e));
      s.setRemote({ ...remote(legit.port), telephoneEventPt: 200 });
      s.confirm();
      s.setFrameSource({ nextFrame: () => ({ kind: "event", payload: Buffer.from([1, 10, 0, 160]), eventStart: true }) });
      s.tick(0);
      await waitFor(() => legit.packets.length === 1);
      assert.equal(legit.packets[0].packet.payloadType, 0, "audio (silence) instead of an impossible event");
      assert.equal(s.stats().eventsDropped, 1);
    });
  });

  describe("sending (no reflection)", () => {
    it("sends nothing to the SDP address before the dialog is confirmed, then sends", async () => {
      const victim = await peer("127.0.0.3");
      const s = await open("latch");
      s.setRemote(remote(victim.port, "127.0.0.3"));
      assert.equal(s.sendTarget, null);
      for (let i = 0; i < 50; i++) s.tick(0);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(victim.raw.length, 0, "no RTP to an address that neither confirmed nor sent media");
      assert.equal(s.stats().packetsSent, 0);
      s.confirm();
      s.tick(0);
      s.tick(0);
      await waitFor(() => victim.packets.length === 2);
      const [a, b] = victim.packets.map((p) => p.packet);
      assert.equal((b.timestamp - a.timestamp) >>> 0, 160);
      assert.equal(a.marker, true);
    });

    it("sends early to the exact SDP address once it sent us valid media", async () => {
      const callee = await peer();
      const s = await open("latch");
      s.setRemote(remote(callee.port));
      s.tick(0);
      await callee.send(audioPacket(5), s.localPort);
      await waitFor(() => s.stats().packetsReceived === 1);
      s.tick(0);
      await waitFor(() => callee.packets.length === 1);
      assert.equal(s.confirmed, false);
    });
  });

  describe("session description handler", () => {
    it("an incoming call is confirmed by the ACK (chained on the session delegate), not by our 200", async () => {
      const victim = await peer("127.0.0.3");
      let previousAcks = 0;
      const session = {
        delegate: {
          onAck: () => {
            previousAcks++;
          },
        },
      } as unknown as Session;
      const sdh = new RtpSessionDescriptionHandler(
        { codecs: ["PCMU"], ...PORTS, advertisedAddress: () => "127.0.0.1", pacer: manualPacer() },
        session,
      );
      cleanup.push(() => sdh.close());
      const offer = `v=0\r\no=- 1 1 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\nm=audio ${victim.port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n`;
      await sdh.setDescription(offer);
      await sdh.getDescription(); // our answer (the 200 OK)
      const rtp = sdh.rtp as RtpSession;
      for (let i = 0; i < 20; i++) rtp.tick(0);
      assert.equal(rtp.stats().packetsSent, 0, "no RTP before the ACK");
      session.delegate!.onAck!({} as never);
      assert.equal(previousAcks, 1, "the earlier delegate still runs");
      assert.equal(sdh.confirmed, true);
      rtp.tick(0);
      await waitFor(() => victim.packets.length === 1);
    });
  });
});
