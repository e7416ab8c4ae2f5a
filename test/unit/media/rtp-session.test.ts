import assert from "node:assert/strict";
import { decodeFrame } from "../../../src/media/g711.js";
import { Pacer } from "../../../src/media/pacer.js";
import { serializeRtp } from "../../../src/media/rtp-packet.js";
import { type FrameSource, type OutgoingFrame, type RtpPacketInfo, RtpSession } from "../../../src/media/rtp-session.js";
import { RawPeer, manualPacer, waitFor } from "./helpers.js";

const PORTS = { portMin: 41000, portMax: 41999, bindAddress: "127.0.0.1" };

/** Plays a fixed list of frames, then returns null forever. */
class ScriptedSource implements FrameSource {
  private i = 0;
  constructor(private readonly frames: (OutgoingFrame | null)[]) {}
  nextFrame(): OutgoingFrame | null {
    return this.i < this.frames.length ? this.frames[this.i++] : null;
  }
}

function tone(value: number): Int16Array {
  return new Int16Array(160).fill(value);
}

function eventPayload(digit: number, end: boolean, duration: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = digit;
  b[1] = (end ? 0x80 : 0) | 10;
  b.writeUInt16BE(duration, 2);
  return b;
}

function activeUdpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "UDPWrap" || r === "UDPWRAP").length;
}

describe("media/rtp-session", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  /** Opens a session; confirmed (the dialog is established) unless told otherwise. */
  async function open(options: Partial<Parameters<typeof RtpSession.open>[0]> = {}, confirmed = true): Promise<RtpSession> {
    const s = await RtpSession.open({ ...PORTS, pacer: manualPacer(), ...options });
    if (confirmed) s.confirm();
    cleanup.push(() => s.close());
    return s;
  }

  async function rawPeer(): Promise<RawPeer> {
    const p = await RawPeer.open();
    cleanup.push(() => p.close());
    return p;
  }

  describe("open", () => {
    it("binds an even port inside the range", async () => {
      const a = await open();
      const b = await open();
      for (const s of [a, b]) {
        assert.equal(s.localPort % 2, 0);
        assert.ok(s.localPort >= PORTS.portMin && s.localPort <= PORTS.portMax);
        assert.equal(s.localAddress, "127.0.0.1");
      }
      assert.notEqual(a.localPort, b.localPort);
    });

    it("walks past used ports and fails clearly when none is free", async () => {
      const a = await open({ portMin: 41500, portMax: 41503 });
      const b = await open({ portMin: 41500, portMax: 41503 });
      assert.deepEqual([a.localPort, b.localPort].sort(), [41500, 41502]);
      await assert.rejects(open({ portMin: 41500, portMax: 41503 }), /no free even UDP port for RTP in 41500-41503/);
    });

    it("rejects an invalid range", async () => {
      await assert.rejects(open({ portMin: 41001, portMax: 41001 }), /no even port/);
      await assert.rejects(open({ portMin: 5000, portMax: 4000 }), /invalid RTP port range/);
    });
  });

  describe("sending", () => {
    it("follows the sequence, timestamp, marker and payload rules", async () => {
      const peer = await rawPeer();
      const s = await open();
      s.setRemote({ address: "127.0.0.1", port: peer.port, codec: "PCMU", payloadType: 0, telephoneEventPt: 101, direction: "sendrecv" });
      s.setFrameSource(
        new ScriptedSource([
          null, // 0 silence, first packet -> marker
          null, // 1 silence
          { kind: "audio", pcm: tone(1000), talkspurtStart: true }, // 2 marker
          { kind: "audio", pcm: tone(1000) }, // 3
          { kind: "event", payload: eventPayload(5, false, 160), eventStart: true }, // 4 marker, event ts
          { kind: "event", payload: eventPayload(5, false, 320), eventStart: false }, // 5 same ts
          { kind: "event", payload: eventPayload(5, true, 480), eventStart: false }, // 6 same ts
          { kind: "audio", pcm: tone(-2000) }, // 7 wall-clock ts again
          { kind: "audio", pcm: tone(3).subarray(0, 100) }, // 8 short frame, padded to 160
        ]),
      );
      for (let i = 0; i < 10; i++) s.tick(0);
      await waitFor(() => peer.packets.length === 10, 3000, "10 packets");
      const pk = peer.packets.map((p) => p.packet);

      const seq0 = pk[0].sequenceNumber;
      const ts0 = pk[0].timestamp;
      pk.forEach((p, i) => {
        assert.equal(p.ssrc, s.ssrc);
        assert.equal(p.sequenceNumber, (seq0 + i) & 0xffff, `seq of packet ${i}`);
        assert.equal(peer.packets[i].from.port, s.localPort, "sent from the RTP socket (symmetric RTP)");
      });
      assert.deepEqual(
        pk.map((p) => p.marker),
        [true, false, true, false, true, false, false, false, false, false],
      );
      const tsOffsets = pk.map((p) => (p.timestamp - ts0) >>> 0);
      assert.deepEqual(tsOffsets, [0, 160, 320, 480, 640, 640, 640, 1120, 1280, 1440]);
      assert.deepEqual(
        pk.map((p) => p.payloadType),
        [0, 0, 0, 0, 101, 101, 101, 0, 0, 0],
      );
      assert.ok(
        pk[0].payload.every((b) => b === 0xff),
        "PCMU silence",
      );
      assert.ok(decodeFrame("PCMU", pk[2].payload).every((v) => Math.abs(v - 1000) < 40));
      assert.ok(decodeFrame("PCMU", pk[7].payload).every((v) => Math.abs(v + 2000) < 80));
      assert.deepEqual([...pk[6].payload], [...eventPayload(5, true, 480)]);
      assert.equal(pk[8].payload.length, 160);
      assert.equal(pk[9].payload.length, 160);
      assert.equal(s.stats().packetsSent, 10);
      assert.equal(s.stats().bytesSent, 7 * 172 + 3 * 16);
    });

    it("sends encoded silence when there is no source (PCMA)", async () => {
      const peer = await rawPeer();
      const s = await open();
      s.setRemote({ address: "127.0.0.1", port: peer.port, codec: "PCMA", payloadType: 8, direction: "sendrecv" });
      for (let i = 0; i < 3; i++) s.tick(0);
      s.setFrameSource(new ScriptedSource([])); // a source with nothing to say
      for (let i = 0; i < 3; i++) s.tick(0);
      await waitFor(() => peer.packets.length === 6);
      for (const { packet } of peer.packets) {
        assert.equal(packet.payloadType, 8);
        assert.equal(packet.payload.length, 160);
        assert.ok(packet.payload.every((b) => b === 0xd5));
      }
    });

    it("drops event frames when no telephone-event type was negotiated", async () => {
      const peer = await rawPeer();
      const s = await open();
      s.setRemote({ address: "127.0.0.1", port: peer.port, codec: "PCMU", payloadType: 0, telephoneEventPt: null, direction: "sendrecv" });
      s.setFrameSource(new ScriptedSource([{ kind: "event", payload: eventPayload(1, false, 160), eventStart: true }]));
      s.tick(0);
      await waitFor(() => peer.packets.length === 1);
      assert.equal(peer.packets[0].packet.payloadType, 0);
      assert.equal(s.stats().eventsDropped, 1);
    });

    it("advances the timestamp over skipped frames and paused sending", async () => {
      const peer = await rawPeer();
      const s = await open();
      const remote = { address: "127.0.0.1", port: peer.port, codec: "PCMU" as const, payloadType: 0, direction: "sendrecv" as const };
      s.tick(0); // no remote yet: nothing sent, time still passes
      s.setRemote(remote);
      s.tick(0); // A
      s.tick(3); // B after a 3-frame resync
      s.setRemote({ ...remote, direction: "recvonly" }); // we are put on hold
      s.tick(0);
      s.tick(0);
      s.setRemote(remote);
      s.tick(0); // C: new talkspurt
      await waitFor(() => peer.packets.length === 3);
      const [a, b, c] = peer.packets.map((p) => p.packet);
      assert.equal((b.timestamp - a.timestamp) >>> 0, 4 * 160);
      assert.equal((c.timestamp - b.timestamp) >>> 0, 3 * 160);
      assert.equal((b.sequenceNumber - a.sequenceNumber) & 0xffff, 1, "no sequence gap: nothing was lost");
      assert.equal((c.sequenceNumber - b.sequenceNumber) & 0xffff, 1);
      assert.deepEqual([a.marker, b.marker, c.marker], [true, false, true]);
      assert.equal(s.stats().skippedFrames, 3);
    });

    it("does not send to a c=0.0.0.0 / port 0 remote", async () => {
      const s = await open();
      s.setRemote({ address: "0.0.0.0", port: 4000, codec: "PCMU", payloadType: 0, direction: "sendrecv" });
      assert.equal(s.sendTarget, null);
      s.tick(0);
      s.setRemote({ address: "127.0.0.1", port: 0, codec: "PCMU", payloadType: 0, direction: "sendrecv" });
      s.tick(0);
      assert.equal(s.stats().packetsSent, 0);
    });

    it("sends every 20 ms from a real pacer and stops the pacer on close", async () => {
      const pacer = new Pacer();
      const peer = await rawPeer();
      const s = await open({ pacer });
      s.setRemote({ address: "127.0.0.1", port: peer.port, codec: "PCMU", payloadType: 0, direction: "sendonly" });
      await waitFor(() => peer.packets.length >= 5, 3000, "5 paced packets");
      s.close();
      assert.equal(pacer.running, false, "pacer stops with the last session");
      const pk = peer.packets.map((p) => p.packet);
      // Consecutive packets are one frame apart unless the pacer had to resync (then the gap is counted).
      const span = (pk[pk.length - 1].timestamp - pk[0].timestamp) >>> 0;
      assert.equal(span, 160 * (pk.length - 1 + s.stats().skippedFrames));
      assert.equal((pk[pk.length - 1].sequenceNumber - pk[0].sequenceNumber) & 0xffff, pk.length - 1);
    });
  });

  describe("receiving and latching", () => {
    it("exchanges audio and events between two sessions", async () => {
      const a = await open();
      const b = await open();
      a.setRemote({ address: "127.0.0.1", port: b.localPort, codec: "PCMU", payloadType: 0, telephoneEventPt: 101, direction: "sendrecv" });
      // b negotiated PCMA but must still decode a's PCMU by the packet's own payload type.
      b.setRemote({ address: "127.0.0.1", port: a.localPort, codec: "PCMA", payloadType: 8, telephoneEventPt: 101, direction: "sendrecv" });
      const audio: [Int16Array, RtpPacketInfo][] = [];
      const events: [Buffer, RtpPacketInfo & { payloadType: number }][] = [];
      b.on("audio", (pcm, info) => audio.push([pcm, info]));
      b.on("event", (payload, info) => events.push([payload, info]));
      a.setFrameSource(
        new ScriptedSource([
          { kind: "audio", pcm: tone(4000), talkspurtStart: true },
          { kind: "event", payload: eventPayload(11, false, 160), eventStart: true },
        ]),
      );
      a.tick(0);
      a.tick(0);
      await waitFor(() => audio.length === 1 && events.length === 1);
      assert.ok(audio[0][0].every((v) => Math.abs(v - 4000) < 150));
      assert.equal(audio[0][1].ssrc, a.ssrc);
      assert.equal(audio[0][1].marker, true);
      assert.deepEqual([...events[0][0]], [...eventPayload(11, false, 160)]);
      assert.equal(events[0][1].payloadType, 101);
      assert.equal(events[0][1].marker, true);
      assert.equal(events[0][1].seq, (audio[0][1].seq + 1) & 0xffff);
      assert.equal(b.stats().packetsReceived, 2);
      assert.equal(b.stats().bytesReceived, 172 + 16);
    });

    it("latches to the real source and ignores any other source afterwards", async () => {
      const sdpTarget = await rawPeer(); // what the SDP said; the peer really sends from elsewhere (NAT)
      const intruder = await rawPeer();
      const a = await open();
      const b = await open();
      b.setRemote({ address: "127.0.0.1", port: sdpTarget.port, codec: "PCMU", payloadType: 0, direction: "sendrecv" });
      a.setRemote({ address: "127.0.0.1", port: b.localPort, codec: "PCMU", payloadType: 0, direction: "sendrecv" });
      const latched: unknown[] = [];
      const fromB: RtpPacketInfo[] = [];
      const atB: RtpPacketInfo[] = [];
      b.on("latched", (src) => latched.push(src));
      a.on("audio", (_pcm, info) => fromB.push(info));
      b.on("audio", (_pcm, info) => atB.push(info));

      b.tick(0); // before latching: goes to the SDP address
      await waitFor(() => sdpTarget.packets.length === 1);
      a.tick(0);
      await waitFor(() => latched.length === 1, 3000, "latch");
      assert.deepEqual(latched[0], { address: "127.0.0.1", port: a.localPort });
      assert.deepEqual(b.latched, { address: "127.0.0.1", port: a.localPort });

      b.tick(0); // now to the latched source
      await waitFor(() => fromB.length === 1);
      assert.equal(sdpTarget.packets.length, 1, "nothing more to the SDP address");

      const foreign = serializeRtp({ marker: true, payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 999 }, Buffer.alloc(160, 0xff));
      await intruder.send(foreign, b.localPort);
      await waitFor(() => b.stats().ignoredFromOtherSources === 1, 3000, "ignored packet");
      a.tick(0);
      await waitFor(() => atB.length === 2);
      assert.ok(
        atB.every((i) => i.ssrc === a.ssrc),
        "no audio from the intruder",
      );
      assert.equal(latched.length, 1, "latched once");
    });

    it("does not latch on malformed packets or unknown payload types", async () => {
      const stranger = await rawPeer();
      const b = await open();
      b.setRemote({ address: "127.0.0.1", port: stranger.port, codec: "PCMU", payloadType: 0, telephoneEventPt: 101, direction: "sendrecv" });
      await stranger.send(Buffer.from("not rtp at all"), b.localPort);
      await stranger.send(serializeRtp({ payloadType: 18, sequenceNumber: 1, timestamp: 1, ssrc: 5 }, Buffer.alloc(20)), b.localPort);
      await waitFor(() => b.stats().malformed === 1 && b.stats().ignoredPayloadType === 1);
      assert.equal(b.latched, null);
    });

    it("re-latches when a re-INVITE moves the media to another address", async () => {
      const first = await rawPeer();
      const second = await rawPeer();
      const b = await open();
      const remote = { address: "127.0.0.1", codec: "PCMU" as const, payloadType: 0, direction: "sendrecv" as const };
      b.setRemote({ ...remote, port: first.port });
      await first.send(serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 5 }, Buffer.alloc(160)), b.localPort);
      await waitFor(() => b.latched !== null);
      b.setRemote({ ...remote, port: second.port });
      assert.equal(b.latched, null);
      b.tick(0);
      await waitFor(() => second.packets.length === 1);
    });
  });

  describe("timeout and close", () => {
    it("emits timeout once when no RTP arrives after the answer", async () => {
      const pacer = new Pacer();
      const s = await open({ pacer, rtpTimeoutMs: 60 });
      let timeouts = 0;
      s.on("timeout", () => timeouts++);
      s.setRemote({ address: "127.0.0.1", port: 9, codec: "PCMU", payloadType: 0, direction: "recvonly" });
      await waitFor(() => timeouts === 1, 3000, "timeout");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(timeouts, 1);
    });

    it("does not time out while we do not expect media (sendonly, inactive)", async () => {
      const s = await open({ rtpTimeoutMs: 1 });
      let timeouts = 0;
      s.on("timeout", () => timeouts++);
      s.setRemote({ address: "127.0.0.1", port: 9, codec: "PCMU", payloadType: 0, direction: "inactive" });
      await new Promise((r) => setTimeout(r, 10));
      s.tick(0);
      assert.equal(timeouts, 0);
      s.setRemote({ address: "127.0.0.1", port: 9, codec: "PCMU", payloadType: 0, direction: "sendrecv" });
      await new Promise((r) => setTimeout(r, 10));
      s.tick(0);
      assert.equal(timeouts, 1);
    });

    it("close() is idempotent, leaves the pacer and releases the socket", async () => {
      const before = activeUdpHandles();
      const pacer = new Pacer();
      const s = await RtpSession.open({ ...PORTS, pacer });
      assert.equal(activeUdpHandles(), before + 2, "RTP and RTCP (port + 1)");
      assert.equal(pacer.size, 1);
      let closes = 0;
      s.on("close", () => closes++);
      s.close();
      s.close();
      assert.equal(closes, 1);
      assert.equal(s.isClosed, true);
      assert.equal(pacer.size, 0);
      assert.equal(pacer.running, false);
      s.tick(0); // harmless after close
      await waitFor(() => activeUdpHandles() === before, 3000, "UDP handle release");
    });
  });
});
