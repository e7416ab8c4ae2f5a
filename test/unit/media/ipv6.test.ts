// IPv6 media (issue 10 item 3): the RTP socket's family, IPv4 peers from a dual-stack socket,
// IPv6 spellings compared as one address, and SDP c=/o= in IN IP6. Only ::1 and 127.0.0.1.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { acceptSource, normalizeIp, RtpSession, socketAddressFor } from "../../../src/media/rtp-session.js";
import { buildOffer, negotiate, parseSdp, SdpOriginState, sdpAddress } from "../../../src/media/sdp.js";
import { NoCommonCodecError, RtpSessionDescriptionHandler, type RtpSdhOptions } from "../../../src/media/session-description-handler.js";
import { parseRtp } from "../../../src/media/rtp-packet.js";
import { manualPacer, waitFor } from "./helpers.js";

/** A raw UDP socket of either family that records where RTP came from. */
class Peer {
  readonly from: string[] = [];
  private constructor(readonly socket: dgram.Socket) {
    socket.on("message", (msg, rinfo) => {
      if (parseRtp(msg)) this.from.push(rinfo.address);
    });
  }
  static open(address: "127.0.0.1" | "::1"): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(address === "::1" ? "udp6" : "udp4");
      socket.once("error", reject);
      socket.bind(0, address, () => resolve(new Peer(socket)));
    });
  }
  get port(): number {
    return this.socket.address().port;
  }
  send(buf: Buffer, port: number, to: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(buf, port, to, (err) => (err ? reject(err) : resolve())));
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** One G.711 RTP packet (PCMU, 160 bytes of silence). */
function rtpPacket(seq: number, ssrc = 0x1234): Buffer {
  const b = Buffer.alloc(12 + 160, 0xff);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

function ip6Offer(address: string, port: number): string {
  return [
    "v=0",
    `o=- 1 1 IN IP6 ${address}`,
    "s=-",
    `c=IN IP6 ${address}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 0 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

describe("media over IPv6", () => {
  describe("addresses", () => {
    it("normalizeIp: every spelling of an IPv6 address is one address; IPv4-mapped ones are IPv4", () => {
      assert.equal(normalizeIp("0:0:0:0:0:0:0:1"), "::1");
      assert.equal(normalizeIp("[0000::0001]"), "::1");
      assert.equal(normalizeIp("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
      assert.equal(normalizeIp("::ffff:127.0.0.1"), "127.0.0.1");
      assert.equal(normalizeIp("::FFFF:7f00:1"), "127.0.0.1");
      assert.equal(normalizeIp("127.0.0.1"), "127.0.0.1");
    });

    it("acceptSource: the SDP's address written in full matches the socket's short form", () => {
      const common = { latched: null, security: "strict" as const, confirmed: true, signallingHosts: [] };
      assert.equal(acceptSource({ ...common, from: { address: "::1", port: 4000 }, sdp: { address: "0:0:0:0:0:0:0:1", port: 4000 } }), "accept");
      assert.equal(
        acceptSource({ ...common, from: { address: "::ffff:127.0.0.1", port: 4000 }, sdp: { address: "127.0.0.1", port: 4000 } }),
        "accept",
      );
      assert.equal(acceptSource({ ...common, from: { address: "::2", port: 4000 }, sdp: { address: "::1", port: 4000 } }), "drop");
    });

    it("socketAddressFor: IPv4 peers through ::ffff: on udp6, no IPv6 peer on udp4", () => {
      assert.equal(socketAddressFor("udp6", "127.0.0.1"), "::ffff:127.0.0.1");
      assert.equal(socketAddressFor("udp6", "::1"), "::1");
      assert.equal(socketAddressFor("udp4", "127.0.0.1"), "127.0.0.1");
      assert.equal(socketAddressFor("udp4", "::ffff:127.0.0.1"), "127.0.0.1");
      assert.equal(socketAddressFor("udp4", "::1"), null);
      assert.equal(socketAddressFor("udp4", "not an address"), null);
    });

    it("sdpAddress: no brackets, no zone id, IPv4-mapped as IPv4", () => {
      assert.equal(sdpAddress("[::1]"), "::1");
      assert.equal(sdpAddress("fe80::1%eth0"), "fe80::1");
      assert.equal(sdpAddress("::ffff:192.0.2.7"), "192.0.2.7");
      assert.equal(sdpAddress("192.0.2.7"), "192.0.2.7");
    });
  });

  describe("SDP", () => {
    it("builds c= and o= with IN IP6 for an IPv6 address", () => {
      const sdp = buildOffer({ address: "::1", port: 4000, direction: "sendrecv", origin: new SdpOriginState(), codecs: ["PCMU"] });
      assert.match(sdp, /\r\nc=IN IP6 ::1\r\n/);
      assert.match(sdp, /^o=- \d+ \d+ IN IP6 ::1\r\n/m);
    });

    it("parses an IN IP6 offer (and a bracketed address some peers write)", () => {
      const n = negotiate(ip6Offer("2001:db8::7", 4000), ["PCMU"]);
      assert.ok(n.ok);
      assert.equal(n.remoteAddress, "2001:db8::7");
      assert.equal(parseSdp(ip6Offer("[::1]", 4000))?.connection?.address, "::1");
    });

    it("c=IN IP6 :: (in any spelling) is a hold (no address), like c=IN IP4 0.0.0.0", () => {
      for (const unspecified of ["::", "0:0:0:0:0:0:0:0"]) {
        const n = negotiate(ip6Offer(unspecified, 4000), ["PCMU"]);
        assert.ok(n.ok);
        assert.equal(n.hold, true, unspecified);
      }
    });
  });

  describe("the RTP socket", () => {
    const open: Array<{ close(): unknown }> = [];
    afterEach(async () => {
      for (const o of open.splice(0)) await o.close();
    });
    const options = (extra: Partial<RtpSdhOptions>): RtpSdhOptions => ({
      codecs: ["PCMU"],
      portMin: 43000,
      portMax: 43999,
      advertisedAddress: () => "::1",
      pacer: manualPacer(),
      ...extra,
    });

    it("family 6 binds a dual-stack socket: it sends to and hears from IPv6 and IPv4 peers", async () => {
      const rtp = await RtpSession.open({ portMin: 43000, portMax: 43999, family: 6, pacer: manualPacer() });
      open.push(rtp);
      for (const address of ["::1", "127.0.0.1"] as const) {
        const peer = await Peer.open(address);
        open.push(peer);
        rtp.confirm();
        rtp.setRemote({ address, port: peer.port, codec: "PCMU", payloadType: 0, direction: "sendrecv" });
        const sent = rtp.stats().packetsSent;
        rtp.tick(0);
        await waitFor(() => peer.from.length === 1, 2000, `RTP at the ${address} peer`);
        assert.equal(rtp.stats().sendErrors, 0);
        assert.equal(rtp.stats().packetsSent, sent + 1);
        const heard = rtp.stats().packetsReceived;
        await peer.send(rtpPacket(1 + heard, 0x1000 + heard), rtp.localPort, address);
        await waitFor(() => rtp.stats().packetsReceived === heard + 1, 2000, `RTP from the ${address} peer`);
      }
      assert.equal(rtp.socketType, "udp6");
      assert.equal(rtp.localAddress, "::");
    });

    it("a bracketed bind address ([::1], as typed in the Local IP field) binds that IPv6 address", async () => {
      const rtp = await RtpSession.open({ portMin: 43000, portMax: 43999, bindAddress: "[::1]", pacer: manualPacer() });
      open.push(rtp);
      assert.equal(rtp.localAddress, "::1");
    });

    it("an IPv4 peer of a dual-stack socket latches as its IPv4 address, and is sent to there", async () => {
      const rtp = await RtpSession.open({ portMin: 43000, portMax: 43999, family: 6, pacer: manualPacer() });
      open.push(rtp);
      const peer = await Peer.open("127.0.0.1");
      open.push(peer);
      const latched: string[] = [];
      rtp.on("latched", (src) => latched.push(`${src.address}:${src.port}`));
      rtp.confirm();
      rtp.setRemote({ address: "127.0.0.1", port: peer.port + 1, codec: "PCMU", payloadType: 0, direction: "sendrecv" });
      await peer.send(rtpPacket(1), rtp.localPort, "127.0.0.1"); // NAT: same IP, another port
      await waitFor(() => latched.length === 1, 2000, "latched");
      assert.deepEqual(latched, [`127.0.0.1:${peer.port}`]);
      assert.equal(rtp.sendTarget?.address, "127.0.0.1");
      rtp.tick(0);
      await waitFor(() => peer.from.length === 1, 2000, "RTP at the latched IPv4 source");
    });

    it("family 4 (the default) stays IPv4", async () => {
      const rtp = await RtpSession.open({ portMin: 43000, portMax: 43999, pacer: manualPacer() });
      open.push(rtp);
      assert.equal(rtp.socketType, "udp4");
      assert.equal(rtp.localAddress, "0.0.0.0");
      assert.equal(rtp.canReach("::1"), false);
    });

    it("we advertise ::1: the offer says IN IP6 and the socket is IPv6, so a ::1 peer's RTP arrives", async () => {
      const sdh = new RtpSessionDescriptionHandler(options({}));
      open.push(sdh);
      sdh.confirm();
      const offer = await sdh.getDescription();
      assert.match(offer.body, /\r\nc=IN IP6 ::1\r\n/);
      const peer = await Peer.open("::1");
      open.push(peer);
      await sdh.setDescription(ip6Offer("::1", peer.port).replace("RTP/AVP 0 101", "RTP/AVP 0"));
      await peer.send(rtpPacket(1), sdh.rtp!.localPort, "::1");
      await waitFor(() => sdh.rtp!.stats().packetsReceived === 1, 2000, "RTP from ::1");
      assert.equal(sdh.rtp?.socketType, "udp6");
    });

    it("we advertise IPv4 but the peer offers IN IP6: the answer's socket is dual-stack and reaches the peer", async () => {
      const sdh = new RtpSessionDescriptionHandler(options({ advertisedAddress: () => "127.0.0.1" }));
      open.push(sdh);
      sdh.confirm();
      const peer = await Peer.open("::1");
      open.push(peer);
      await sdh.setDescription(ip6Offer("::1", peer.port));
      const answer = await sdh.getDescription();
      assert.match(answer.body, /\r\nc=IN IP4 127\.0\.0\.1\r\n/, "our address stays the one the signalling uses");
      (sdh.rtp as RtpSession).tick(0);
      await waitFor(() => peer.from.length === 1, 2000, "RTP at ::1");
      assert.equal(sdh.rtp!.stats().sendErrors, 0);
      assert.equal(sdh.rtp?.socketType, "udp6");
    });

    it("with addressToward, the answer to an IN IP6 offer on an IPv4 account says IN IP6, and the peer's RTP arrives", async () => {
      const asked: string[] = [];
      const sdh = new RtpSessionDescriptionHandler(
        options({
          advertisedAddress: () => "127.0.0.1",
          addressToward: async (ip) => {
            asked.push(ip);
            return "::1";
          },
        }),
      );
      open.push(sdh);
      sdh.confirm();
      const peer = await Peer.open("::1");
      open.push(peer);
      await sdh.setDescription(ip6Offer("::1", peer.port));
      const answer = await sdh.getDescription();
      assert.deepEqual(asked, ["::1"]);
      assert.match(answer.body, /\r\nc=IN IP6 ::1\r\n/);
      assert.match(answer.body, /^o=\S+ \d+ \d+ IN IP6 ::1\r\n/m);
      const port = Number(/m=audio (\d+)/.exec(answer.body)![1]);
      await peer.send(rtpPacket(1), port, "::1");
      await waitFor(() => sdh.rtp!.stats().packetsReceived === 1, 2000, "RTP from ::1");
    });

    it("addressToward without a route (undefined, a throw, the wrong family) keeps the advertised address", async () => {
      for (const addressToward of [
        async () => undefined,
        async () => {
          throw new Error("no route");
        },
        async () => "127.0.0.2",
      ]) {
        const sdh = new RtpSessionDescriptionHandler(options({ advertisedAddress: () => "127.0.0.1", addressToward }));
        open.push(sdh);
        await sdh.setDescription(ip6Offer("::1", 4000));
        assert.match((await sdh.getDescription()).body, /\r\nc=IN IP4 127\.0\.0\.1\r\n/);
      }
    });

    it("a socket bound to one IPv6 address has no IPv4: an IPv4 peer is refused, not sent into the void", async () => {
      const rtp = await RtpSession.open({ portMin: 43000, portMax: 43999, bindAddress: "::1", pacer: manualPacer() });
      open.push(rtp);
      assert.equal(rtp.canReach("::1"), true);
      assert.equal(rtp.canReach("127.0.0.1"), false);
      const sdh = new RtpSessionDescriptionHandler(options({ bindAddress: "::1" }));
      open.push(sdh);
      await assert.rejects(sdh.setDescription(ip6Offer("::1", 4000).replace(/IN IP6 ::1/g, "IN IP4 127.0.0.1")), /IP family/);
    });

    it("an IPv6 answer to the offer of an IPv4 socket is refused with a reason, not sent into the void", async () => {
      const sdh = new RtpSessionDescriptionHandler(options({ advertisedAddress: () => "127.0.0.1" }));
      open.push(sdh);
      await sdh.getDescription();
      await assert.rejects(
        sdh.setDescription(ip6Offer("::1", 4000)),
        (err: Error) => err instanceof NoCommonCodecError && /IP family/.test(err.message),
      );
    });

    it("an advertised IPv4-mapped address goes out as IN IP4", async () => {
      const sdh = new RtpSessionDescriptionHandler(options({ advertisedAddress: () => "::ffff:127.0.0.1" }));
      open.push(sdh);
      const offer = await sdh.getDescription();
      assert.match(offer.body, /\r\nc=IN IP4 127\.0\.0\.1\r\n/);
      assert.equal(sdh.rtp?.socketType, "udp4");
    });
  });
});
