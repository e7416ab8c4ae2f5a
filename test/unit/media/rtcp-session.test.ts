// RTCP on the wire (issue 10 item 4) without SIP: the SDP's RTCP address (a=rtcp, rtcp-mux), the
// RTP/RTCP port pair, which sources' reports are read (strict / latch), the transform hook, and
// where our reports and the BYE go.
import assert from "node:assert/strict";
import type { Clock } from "../../../src/clock.js";
import { RTCP_PT_BYE, RTCP_PT_RR, RTCP_PT_SR, parseRtcp, serializeRtcp } from "../../../src/media/rtcp.js";
import { RtcpSession } from "../../../src/media/rtcp-session.js";
import { RtpSession } from "../../../src/media/rtp-session.js";
import { buildAnswer, buildOffer, negotiate, parseSdp, remoteRtcpOf, SdpOriginState, acceptAnswer } from "../../../src/media/sdp.js";
import type { RtpSecurity } from "../../../src/types.js";
import { RawPeer, manualPacer, waitFor } from "./helpers.js";

const PORTS = { portMin: 44000, portMax: 44999, bindAddress: "127.0.0.1" };

const OFFER = (extra: string[]) =>
  ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 30000 RTP/AVP 0", ...extra, ""].join("\r\n");

/** A clock whose timers fire only when the test says so. */
function manualClock(): Clock & { fire(): void } {
  let pending: (() => void) | null = null;
  return {
    now: () => 0,
    setTimeout: (fn: () => void) => {
      pending = fn;
      return {};
    },
    clearTimeout: () => {
      pending = null;
    },
    fire() {
      const fn = pending;
      pending = null;
      fn?.();
    },
  };
}

describe("media/rtcp-session", () => {
  describe("SDP", () => {
    it("RTCP goes to RTP port + 1 by default, to a=rtcp's port and address (RFC 3605), or to the RTP port with rtcp-mux", () => {
      const rtcpOf = (extra: string[]) => {
        const sd = parseSdp(OFFER(extra))!;
        return remoteRtcpOf(sd.media[0], "127.0.0.1");
      };
      assert.deepEqual(rtcpOf([]), { mux: false, address: "127.0.0.1", port: 30001 });
      assert.deepEqual(rtcpOf(["a=rtcp:40007"]), { mux: false, address: "127.0.0.1", port: 40007 });
      assert.deepEqual(rtcpOf(["a=rtcp:40007 IN IP4 127.0.0.9"]), { mux: false, address: "127.0.0.9", port: 40007 });
      assert.deepEqual(rtcpOf(["a=rtcp:40007 IN IP6 ::1"]), { mux: false, address: "::1", port: 40007 });
      assert.deepEqual(rtcpOf(["a=rtcp-mux", "a=rtcp:30000"]), { mux: true, address: "127.0.0.1", port: 30000 });
      // Unusable a=rtcp: port + 1.
      for (const bad of ["a=rtcp:0", "a=rtcp:99999", "a=rtcp:x", "a=rtcp:5 IN XX y", "a=rtcp"]) {
        assert.deepEqual(rtcpOf([bad]), { mux: false, address: "127.0.0.1", port: 30001 }, bad);
      }
    });

    it("offers a=rtcp-mux, answers it only when offered, and reads it in an answer only when we offered it", () => {
      const origin = new SdpOriginState();
      assert.match(buildOffer({ address: "127.0.0.1", port: 40000, direction: "sendrecv", origin, codecs: ["PCMU"] }), /a=rtcp-mux\r\n/);
      assert.doesNotMatch(
        buildOffer({ address: "127.0.0.1", port: 40000, direction: "sendrecv", origin, codecs: ["PCMU"], rtcpMux: false }),
        /rtcp-mux/,
      );
      for (const [extra, mux] of [
        [["a=rtcp-mux"], true],
        [[], false],
      ] as const) {
        const offer = parseSdp(OFFER([...extra]))!;
        const n = negotiate(offer, ["PCMU"]);
        assert.ok(n.ok);
        const answer = buildAnswer({ address: "127.0.0.1", port: 40000, direction: "sendrecv", origin, offer, negotiated: n });
        assert.equal(/a=rtcp-mux/.test(answer), mux);
      }
      const muxAnswer = OFFER(["a=rtcp-mux"]);
      const a = acceptAnswer(muxAnswer, { codecs: ["PCMU"], direction: "sendrecv" });
      assert.ok(a.ok && a.rtcp.mux);
      const b = acceptAnswer(muxAnswer, { codecs: ["PCMU"], direction: "sendrecv", rtcpMux: false });
      assert.ok(b.ok && !b.rtcp.mux && b.rtcp.port === 30001);
    });
  });

  describe("on the wire", () => {
    const cleanup: (() => unknown)[] = [];
    afterEach(async () => {
      for (const fn of cleanup.splice(0)) await fn();
    });

    async function setup(security: RtpSecurity, opts: { mux?: boolean; confirm?: boolean } = {}) {
      const rtp = await RtpSession.open({ ...PORTS, pacer: manualPacer(), security });
      cleanup.push(() => rtp.close());
      const peerRtp = await RawPeer.open();
      const peerRtcp = await RawPeer.open();
      cleanup.push(
        () => peerRtp.close(),
        () => peerRtcp.close(),
      );
      rtp.setRemote({ address: "127.0.0.1", port: peerRtp.port, codec: "PCMU", payloadType: 0, telephoneEventPt: null, direction: "sendrecv" });
      if (opts.confirm !== false) rtp.confirm();
      const clock = manualClock();
      const rtcp = new RtcpSession(rtp, { security, clock, random: () => 0.5 });
      cleanup.push(() => rtcp.close());
      rtcp.setPeer(opts.mux ? { mux: true, address: "127.0.0.1", port: peerRtp.port } : { mux: false, address: "127.0.0.1", port: peerRtcp.port });
      return { rtp, rtcp, clock, peerRtp, peerRtcp };
    }

    /** An RR from the peer saying it lost everything of our stream. */
    const badNews = (ssrc: number) =>
      serializeRtcp([
        { type: "rr", ssrc: 77, reports: [{ ssrc, fractionLost: 255, cumulativeLost: 10, highestSeq: 1, jitter: 8, lsr: 0, dlsr: 0 }] },
      ]);

    it("the RTP socket's neighbour port is RTCP: reports and a final BYE go to the peer's RTCP port, SR once we sent RTP", async () => {
      const { rtp, rtcp, clock, peerRtcp, peerRtp } = await setup("latch");
      assert.equal(rtp.rtcpPort, rtp.localPort + 1);
      assert.equal(rtp.localPort % 2, 0);
      clock.fire();
      await waitFor(() => peerRtcp.raw.length === 1, 2000, "an RR");
      assert.deepEqual(
        parseRtcp(peerRtcp.raw[0])!.map((p) => p.type),
        ["rr", "sdes"],
      );
      rtp.tick(0);
      clock.fire();
      await waitFor(() => peerRtcp.raw.length === 2, 2000, "an SR");
      rtcp.close();
      await waitFor(() => peerRtcp.raw.length === 3, 2000, "the BYE");
      const types = peerRtcp.raw.slice(1).map((b) => parseRtcp(b)!.map((p) => p.type));
      assert.deepEqual(types, [
        ["sr", "sdes"],
        ["sr", "sdes", "bye"],
      ]);
      assert.equal(peerRtp.raw.filter((b) => b[1] >= RTCP_PT_SR && b[1] <= RTCP_PT_BYE).length, 0, "no RTCP on the RTP port");
      assert.equal(rtcp.quality().rtcpSent, 3);
    });

    it("nothing is sent before the dialog is confirmed (no reflection to an SDP's third party)", async () => {
      const { rtcp, clock, peerRtcp } = await setup("latch", { confirm: false });
      clock.fire();
      rtcp.close();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(peerRtcp.raw.length, 0);
      assert.equal(rtcp.quality().rtcpSent, 0);
    });

    it("rtcp-mux: reports go out of the RTP socket to the peer's RTP port, and muxed reports are read", async () => {
      const { rtp, rtcp, clock, peerRtp, peerRtcp } = await setup("strict", { mux: true });
      clock.fire();
      await waitFor(() => peerRtp.raw.length === 1, 2000, "a muxed RR");
      assert.equal(peerRtcp.raw.length, 0);
      await peerRtp.send(badNews(rtp.ssrc), rtp.localPort);
      await waitFor(() => rtcp.quality().rtcpReceived === 1, 2000, "the muxed report read");
      assert.equal(rtcp.quality().remoteLossPercent, 99.61);
      // A report on port + 1 is not where a muxed peer sends: ignored.
      await peerRtp.send(badNews(rtp.ssrc), rtp.rtcpPort);
      await waitFor(() => rtcp.quality().rtcpIgnored === 1, 2000, "wrong port ignored");
    });

    for (const security of ["strict", "latch"] as const) {
      it(`${security}: a report from another address (127.0.0.2) is dropped and counted; the peer's is read`, async () => {
        const { rtp, rtcp, peerRtcp } = await setup(security);
        const stranger = await RawPeer.open("127.0.0.2");
        cleanup.push(() => stranger.close());
        await stranger.send(badNews(rtp.ssrc), rtp.rtcpPort);
        await waitFor(() => rtcp.quality().rtcpIgnored === 1, 2000, "ignored");
        assert.equal(rtcp.quality().remoteLossPercent, null);
        assert.equal(rtcp.quality().rtcpReceived, 0);
        await peerRtcp.send(badNews(rtp.ssrc), rtp.rtcpPort);
        await waitFor(() => rtcp.quality().rtcpReceived === 1, 2000, "read");
        assert.equal(rtcp.quality().remoteLossPercent, 99.61);
      });
    }

    it("strict: another port of the peer's IP is dropped; latch: it is taken (NAT) and becomes the one RTCP source", async () => {
      for (const security of ["strict", "latch"] as const) {
        const { rtp, rtcp, clock } = await setup(security);
        const other = await RawPeer.open();
        cleanup.push(() => other.close());
        await other.send(badNews(rtp.ssrc), rtp.rtcpPort);
        await new Promise((r) => setTimeout(r, 50));
        await waitFor(() => rtcp.quality().rtcpIgnored + rtcp.quality().rtcpReceived === 1, 2000, "judged");
        assert.equal(rtcp.quality().rtcpReceived, security === "latch" ? 1 : 0, security);
        if (security === "latch") {
          clock.fire();
          await waitFor(() => other.raw.length === 1, 2000, "our report goes to the latched source");
        }
      }
    });

    it("every packet passes the transform: null from unprotect drops it, null from protect sends nothing", async () => {
      const { rtp, rtcp, clock, peerRtcp } = await setup("latch");
      const seen: string[] = [];
      rtcp.setTransform({
        protect: (p) => {
          seen.push("protect");
          return seen.length > 1 ? p : null;
        },
        unprotect: (p) => {
          seen.push("unprotect");
          return p[1] === RTCP_PT_RR ? null : p;
        },
      });
      clock.fire();
      await peerRtcp.send(badNews(rtp.ssrc), rtp.rtcpPort);
      await waitFor(() => rtcp.quality().rtcpIgnored === 1, 2000, "refused by unprotect");
      assert.equal(rtcp.quality().remoteLossPercent, null);
      assert.equal(peerRtcp.raw.length, 0, "protect said null");
      clock.fire();
      await waitFor(() => peerRtcp.raw.length === 1, 2000, "protected report");
      assert.deepEqual(seen, ["protect", "unprotect", "protect"]);
    });
  });
});
