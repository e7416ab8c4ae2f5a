import assert from "node:assert/strict";
import { SdpOriginState, acceptAnswer, buildAnswer, buildOffer, negotiate, parseSdp, type NegotiationResult } from "../../../src/media/sdp.js";
import {
  ASTERISK_OFFER,
  BARESIP_OFFER,
  FRITZBOX_OFFER,
  G729_ONLY_OFFER,
  LATE_OFFER_FREESWITCH,
  SAVP_AND_AVP_OFFER,
  SRTP_OFFER,
  WEBRTC_OFFER,
  withLine,
} from "./sdp-samples.js";

function ok(result: NegotiationResult) {
  assert.ok(result.ok, `negotiation failed: ${JSON.stringify(result)}`);
  return result;
}

describe("media/sdp", () => {
  describe("parseSdp", () => {
    it("parses an Asterisk offer", () => {
      const sd = parseSdp(ASTERISK_OFFER);
      assert.ok(sd);
      assert.equal(sd.origin?.sessionId, "1693394829");
      assert.equal(sd.sessionName, "Asterisk");
      assert.deepEqual(sd.connection, { netType: "IN", addrType: "IP4", address: "192.168.1.10" });
      assert.equal(sd.media.length, 1);
      const m = sd.media[0];
      assert.equal(m.type, "audio");
      assert.equal(m.port, 14582);
      assert.equal(m.proto, "RTP/AVP");
      assert.deepEqual(m.formats, ["0", "8", "3", "101"]);
      assert.deepEqual(m.rtpmap[101], { encoding: "telephone-event", clockRate: 8000, channels: null });
      assert.equal(m.fmtp[101], "0-16");
      assert.equal(m.ptime, 20);
      assert.equal(m.maxptime, 150);
      assert.equal(m.direction, "sendrecv");
      assert.equal(m.connection, null, "c= is session level here");
    });

    it("parses baresip's LF-only offer with channels in rtpmap", () => {
      const sd = parseSdp(BARESIP_OFFER);
      assert.ok(sd);
      const m = sd.media[0];
      assert.deepEqual(m.rtpmap[96], { encoding: "opus", clockRate: 48000, channels: 2 });
      assert.equal(m.fmtp[96], "stereo=1;sprop-stereo=1");
      assert.ok(m.attributes.some((a) => a.name === "rtcp-rsize" && a.value === null));
    });

    it("keeps media-level c= separate from session-level c=", () => {
      const sd = parseSdp(SAVP_AND_AVP_OFFER);
      assert.ok(sd);
      assert.equal(sd.media.length, 3);
      assert.equal(sd.connection?.address, "198.51.100.22");
      assert.equal(sd.media[1].connection?.address, "198.51.100.23");
    });

    it("returns null for malformed text", () => {
      assert.equal(parseSdp(""), null);
      assert.equal(parseSdp("hello world"), null);
      assert.equal(parseSdp("v=1\r\n"), null);
      assert.equal(parseSdp("v=0\r\nthis is not sdp\r\n"), null);
      assert.equal(parseSdp("v=0\r\nm=audio abc RTP/AVP 0\r\n"), null);
      assert.equal(parseSdp("v=0\r\nm=audio 70000 RTP/AVP 0\r\n"), null);
      assert.equal(parseSdp("v=0\r\nc=IN IP4\r\n"), null);
    });
  });

  describe("negotiate", () => {
    it("takes our preferred codec among the peer's (configured order wins)", () => {
      assert.equal(ok(negotiate(ASTERISK_OFFER, ["PCMA", "PCMU"])).codec, "PCMA");
      assert.equal(ok(negotiate(ASTERISK_OFFER, ["PCMU", "PCMA"])).codec, "PCMU");
      assert.equal(ok(negotiate(FRITZBOX_OFFER, ["PCMU", "PCMA"])).codec, "PCMU");
      assert.equal(ok(negotiate(FRITZBOX_OFFER, ["PCMA"])).payloadType, 8);
    });

    it("follows the offer's codec order with order 'caller', ours with 'mine' (issue 9)", () => {
      // Asterisk offers 0 (PCMU) then 8 (PCMA).
      assert.equal(ok(negotiate(ASTERISK_OFFER, ["PCMA", "PCMU"], "sendrecv", "caller")).codec, "PCMU");
      assert.equal(ok(negotiate(ASTERISK_OFFER, ["PCMA", "PCMU"], "sendrecv", "mine")).codec, "PCMA");
      const pcmaFirst = ASTERISK_OFFER.replace(" 0 8 3 101", " 3 8 0 101");
      assert.equal(ok(negotiate(pcmaFirst, ["PCMU", "PCMA"], "sendrecv", "caller")).codec, "PCMA");
      assert.equal(ok(negotiate(pcmaFirst, ["PCMU", "PCMA"], "sendrecv", "mine")).codec, "PCMU");
      // Our list still limits the choice: the caller's first codec is skipped when we do not allow it.
      const r = ok(negotiate(ASTERISK_OFFER, ["PCMA"], "sendrecv", "caller"));
      assert.equal(r.codec, "PCMA");
      assert.equal(r.payloadType, 8);
      // A first format that rtpmap redefines is not PCMU: the next usable one is taken.
      const redefined = ASTERISK_OFFER.replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMU/16000");
      assert.equal(ok(negotiate(redefined, ["PCMU", "PCMA"], "sendrecv", "caller")).codec, "PCMA");
      assert.equal(negotiate(G729_ONLY_OFFER, ["PCMU", "PCMA"], "sendrecv", "caller").ok, false);
    });

    it("returns the Asterisk peer's address, port and telephone-event 101", () => {
      const r = ok(negotiate(ASTERISK_OFFER, ["PCMU"]));
      assert.equal(r.remoteAddress, "192.168.1.10");
      assert.equal(r.remotePort, 14582);
      assert.equal(r.payloadType, 0);
      assert.equal(r.telephoneEventPt, 101);
      assert.equal(r.direction, "sendrecv");
      assert.equal(r.hold, false);
      assert.equal(r.mediaIndex, 0);
      assert.equal(r.remotePtime, 20);
    });

    it("uses baresip's telephone-event payload type 97 and skips opus", () => {
      const r = ok(negotiate(BARESIP_OFFER, ["PCMA", "PCMU"]));
      assert.equal(r.codec, "PCMA");
      assert.equal(r.telephoneEventPt, 97);
    });

    it("handles a late offer without rtpmap for static payload types", () => {
      const r = ok(negotiate(LATE_OFFER_FREESWITCH, ["PCMA", "PCMU"]));
      assert.equal(r.codec, "PCMA");
      assert.equal(r.telephoneEventPt, 101);
      assert.equal(r.remoteAddress, "203.0.113.7");
      assert.equal(r.remotePort, 23456);
    });

    it("reports no common codec for a G.729-only offer", () => {
      const r = negotiate(G729_ONLY_OFFER, ["PCMU", "PCMA"]);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.reason, "no common codec");
    });

    it("refuses a static payload type that rtpmap redefines", () => {
      const weird = ASTERISK_OFFER.replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMU/16000").replace(" 0 8 3 101", " 0 3 101");
      const r = negotiate(weird, ["PCMU"]);
      assert.equal(!r.ok && r.reason, "no common codec");
    });

    it("rejects RTP/SAVP and WebRTC profiles cleanly", () => {
      for (const offer of [SRTP_OFFER, WEBRTC_OFFER]) {
        const r = negotiate(offer, ["PCMU", "PCMA"]);
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.reason, "no audio stream");
        assert.match((!r.ok && r.detail) || "", /profile/);
      }
    });

    it("picks the plain RTP/AVP stream when SAVP is offered alongside", () => {
      const r = ok(negotiate(SAVP_AND_AVP_OFFER, ["PCMU", "PCMA"]));
      assert.equal(r.mediaIndex, 1);
      assert.equal(r.remotePort, 6002);
      assert.equal(r.remoteAddress, "198.51.100.23", "media-level c= wins");
    });

    it("reports no audio stream for video-only or disabled audio", () => {
      const videoOnly = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n";
      assert.equal((negotiate(videoOnly, ["PCMU"]) as { reason: string }).reason, "no audio stream");
      const disabled = ASTERISK_OFFER.replace("m=audio 14582", "m=audio 0");
      assert.equal((negotiate(disabled, ["PCMU"]) as { reason: string }).reason, "no audio stream");
    });

    it("reports malformed SDP and a missing address", () => {
      assert.equal((negotiate("garbage", ["PCMU"]) as { reason: string }).reason, "malformed");
      const noC = ASTERISK_OFFER.replace("c=IN IP4 192.168.1.10\r\n", "");
      assert.equal((negotiate(noC, ["PCMU"]) as { reason: string }).reason, "malformed");
    });

    it("answers hold: sendonly -> recvonly, inactive -> inactive, recvonly -> sendonly", () => {
      const cases: [string, string, boolean][] = [
        ["a=sendonly", "recvonly", true],
        ["a=inactive", "inactive", true],
        ["a=recvonly", "sendonly", false],
      ];
      for (const [attr, ours, hold] of cases) {
        const r = ok(negotiate(withLine(ASTERISK_OFFER, "a=sendrecv", attr), ["PCMU"]));
        assert.equal(r.direction, ours, attr);
        assert.equal(r.hold, hold, attr);
      }
    });

    it("treats c=0.0.0.0 as hold (we must not send)", () => {
      const r = ok(negotiate(ASTERISK_OFFER.replace("c=IN IP4 192.168.1.10", "c=IN IP4 0.0.0.0"), ["PCMU"]));
      assert.equal(r.remoteAddress, "0.0.0.0");
      assert.equal(r.remoteDirection, "sendonly");
      assert.equal(r.direction, "recvonly");
      assert.equal(r.hold, true);
    });

    it("applies a session-level direction and lets the media level override it", () => {
      const sessionLevel = ASTERISK_OFFER.replace("a=sendrecv\r\n", "").replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
      assert.equal(ok(negotiate(sessionLevel, ["PCMU"])).direction, "recvonly");
      const both = ASTERISK_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=inactive\r\n");
      assert.equal(ok(negotiate(both, ["PCMU"])).direction, "sendrecv");
    });

    it("narrows the result by our own direction (we hold)", () => {
      assert.equal(ok(negotiate(ASTERISK_OFFER, ["PCMU"], "sendonly")).direction, "sendonly");
      assert.equal(ok(negotiate(withLine(ASTERISK_OFFER, "a=sendrecv", "a=sendonly"), ["PCMU"], "sendonly")).direction, "inactive");
    });

    it("ignores telephone-event at other clock rates", () => {
      const wideband = ASTERISK_OFFER.replace("telephone-event/8000", "telephone-event/48000");
      assert.equal(ok(negotiate(wideband, ["PCMU"])).telephoneEventPt, null);
    });

    it("ignores telephone-event on a payload type RTP cannot carry (issue 8)", () => {
      // PT 200 would make every event frame we send throw in serializeRtp.
      for (const pt of ["200", "128"]) {
        const bad = ASTERISK_OFFER.replace("RTP/AVP 0 8 3 101", `RTP/AVP 0 8 3 ${pt}`).replace(
          "a=rtpmap:101 telephone-event/8000",
          `a=rtpmap:${pt} telephone-event/8000`,
        );
        assert.equal(ok(negotiate(bad, ["PCMU"])).telephoneEventPt, null, `PT ${pt}`);
      }
    });
  });

  describe("building", () => {
    it("builds an offer with all required lines", () => {
      const origin = new SdpOriginState();
      const sdp = buildOffer({ address: "192.0.2.1", port: 30000, direction: "sendrecv", origin, codecs: ["PCMA", "PCMU"] });
      const lines = sdp.split("\r\n");
      assert.equal(lines[0], "v=0");
      assert.match(lines[1], new RegExp(`^o=- ${origin.sessionId} \\d+ IN IP4 192\\.0\\.2\\.1$`));
      assert.deepEqual(lines.slice(2), [
        "s=-",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
        "m=audio 30000 RTP/AVP 8 0 101",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=sendrecv",
        "a=rtcp-mux",
        "",
      ]);
    });

    it("can offer without telephone-event", () => {
      const sdp = buildOffer({
        address: "192.0.2.1",
        port: 30000,
        direction: "sendonly",
        origin: new SdpOriginState(),
        codecs: ["PCMU"],
        telephoneEventPt: null,
      });
      assert.ok(sdp.includes("m=audio 30000 RTP/AVP 0\r\n"));
      assert.ok(!sdp.includes("telephone-event"));
      assert.ok(sdp.includes("a=sendonly\r\n"));
    });

    it("increments the o= version only when the description changes", () => {
      const origin = new SdpOriginState();
      const version = (sdp: string) => Number(parseSdp(sdp)?.origin?.sessionVersion);
      const params = { address: "192.0.2.1", port: 30000, origin, codecs: ["PCMU" as const] };
      const v1 = version(buildOffer({ ...params, direction: "sendrecv" }));
      const v1again = version(buildOffer({ ...params, direction: "sendrecv" }));
      const v2 = version(buildOffer({ ...params, direction: "sendonly" }));
      const v3 = version(buildOffer({ ...params, direction: "sendrecv" }));
      assert.equal(v1again, v1);
      assert.equal(v2, v1 + 1);
      assert.equal(v3, v1 + 2);
      assert.equal(parseSdp(buildOffer({ ...params, direction: "sendrecv" }))?.origin?.sessionId, origin.sessionId);
    });

    it("answers with the chosen codec and the peer's telephone-event type", () => {
      const offer = parseSdp(BARESIP_OFFER)!;
      const negotiated = ok(negotiate(offer, ["PCMU", "PCMA"]));
      const answer = buildAnswer({
        address: "192.0.2.1",
        port: 30002,
        direction: negotiated.direction,
        origin: new SdpOriginState(),
        offer,
        negotiated,
      });
      assert.ok(answer.includes("m=audio 30002 RTP/AVP 0 97\r\n"));
      assert.ok(answer.includes("a=rtpmap:97 telephone-event/8000\r\na=fmtp:97 0-16\r\n"));
      assert.ok(answer.includes("a=sendrecv\r\n"));
      // The offerer can process our answer.
      const back = ok(acceptAnswer(answer, { codecs: ["PCMU", "PCMA"], direction: "sendrecv" }));
      assert.equal(back.codec, "PCMU");
      assert.equal(back.remotePort, 30002);
      assert.equal(back.telephoneEventPt, 97);
    });

    it("keeps every offered m= line in the answer, rejecting the unused ones with port 0", () => {
      const offer = parseSdp(SAVP_AND_AVP_OFFER)!;
      const negotiated = ok(negotiate(offer, ["PCMU", "PCMA"]));
      const answer = parseSdp(
        buildAnswer({ address: "192.0.2.1", port: 30004, direction: "sendrecv", origin: new SdpOriginState(), offer, negotiated }),
      )!;
      assert.deepEqual(
        answer.media.map((m) => [m.type, m.port, m.proto]),
        [
          ["audio", 0, "RTP/SAVP"],
          ["audio", 30004, "RTP/AVP"],
          ["video", 0, "RTP/AVP"],
        ],
      );
      assert.deepEqual(answer.media[1].formats, ["8", "101"]);
    });

    it("answers a sendonly (hold) offer with recvonly", () => {
      const offer = parseSdp(withLine(FRITZBOX_OFFER, "a=sendrecv", "a=sendonly"))!;
      const negotiated = ok(negotiate(offer, ["PCMA"]));
      const answer = buildAnswer({
        address: "192.0.2.1",
        port: 30000,
        direction: negotiated.direction,
        origin: new SdpOriginState(),
        offer,
        negotiated,
      });
      assert.ok(answer.includes("a=recvonly\r\n"));
    });
  });

  describe("acceptAnswer", () => {
    const answer = (fmts: string, extra: string[] = []) =>
      [
        "v=0",
        "o=- 7 7 IN IP4 198.51.100.9",
        "s=-",
        "c=IN IP4 198.51.100.9",
        "t=0 0",
        `m=audio 9000 RTP/AVP ${fmts}`,
        "a=rtpmap:101 telephone-event/8000",
        ...extra,
        "",
      ].join("\r\n");

    it("takes the codec the answer kept", () => {
      const r = ok(acceptAnswer(answer("8 101"), { codecs: ["PCMU", "PCMA"], direction: "sendrecv" }));
      assert.equal(r.codec, "PCMA");
      assert.equal(r.telephoneEventPt, 101);
      assert.equal(r.remotePort, 9000);
    });

    it("fails when the answer holds nothing we offered", () => {
      const r = acceptAnswer(answer("0"), { codecs: ["PCMA"], direction: "sendrecv" });
      assert.equal(!r.ok && r.reason, "no common codec");
    });

    it("combines the answer's direction with what we offered", () => {
      const r = ok(acceptAnswer(answer("0", ["a=recvonly"]), { codecs: ["PCMU"], direction: "sendonly" }));
      assert.equal(r.direction, "sendonly");
      const r2 = ok(acceptAnswer(answer("0", ["a=inactive"]), { codecs: ["PCMU"], direction: "sendrecv" }));
      assert.equal(r2.direction, "inactive");
    });
  });
});
