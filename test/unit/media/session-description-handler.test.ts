import assert from "node:assert/strict";
import type { RtpSession } from "../../../src/media/rtp-session.js";
import type { Session } from "sip.js";
import type { Codec } from "../../../src/types.js";
import { parseSdp } from "../../../src/media/sdp.js";
import {
  RtpSessionDescriptionHandler,
  createRtpSdhFactory,
  precheckOffer,
  type RtpSdhOptions,
} from "../../../src/media/session-description-handler.js";
import type { FrameSource } from "../../../src/media/rtp-session.js";
import { ASTERISK_OFFER, G729_ONLY_OFFER, SRTP_OFFER } from "./sdp-samples.js";
import { manualPacer, waitFor } from "./helpers.js";

function options(codecs: Codec[], extra: Partial<RtpSdhOptions> = {}): RtpSdhOptions {
  return { codecs, portMin: 42000, portMax: 42999, bindAddress: "127.0.0.1", advertisedAddress: () => "127.0.0.1", pacer: manualPacer(), ...extra };
}

function directionOf(sdp: string): string | null {
  return parseSdp(sdp)?.media[0].direction ?? null;
}

describe("media/session-description-handler", () => {
  const handlers: RtpSessionDescriptionHandler[] = [];
  function sdh(codecs: Codec[], extra?: Partial<RtpSdhOptions>): RtpSessionDescriptionHandler {
    const h = new RtpSessionDescriptionHandler(options(codecs, extra));
    h.confirm(); // these tests are about an established dialog; confirmation has its own tests
    handlers.push(h);
    return h;
  }
  afterEach(() => {
    for (const h of handlers.splice(0)) h.close();
  });

  /** caller offers, callee answers, the way sip.js sequences the calls. */
  async function exchange(caller: RtpSessionDescriptionHandler, callee: RtpSessionDescriptionHandler, holdOption?: boolean) {
    const offer = await caller.getDescription(holdOption === undefined ? undefined : { hold: holdOption });
    await callee.setDescription(offer.body);
    const answer = await callee.getDescription();
    await caller.setDescription(answer.body);
    return { offer: offer.body, answer: answer.body };
  }

  it("handles only application/sdp", () => {
    const h = sdh(["PCMU"]);
    assert.equal(h.hasDescription("application/sdp"), true);
    assert.equal(h.hasDescription("Application/SDP; charset=utf-8"), true);
    assert.equal(h.hasDescription("text/plain"), false);
    assert.equal(h.sendDtmf(), false);
  });

  it("answers with the caller's first codec by default, with ours under codecOrder 'mine' (issue 9)", async () => {
    const byDefault = await exchange(sdh(["PCMU", "PCMA"]), sdh(["PCMA", "PCMU"]));
    assert.match(byDefault.answer, /m=audio \d+ RTP\/AVP 0 101\r\n/, "the caller offered PCMU first");
    const caller = sdh(["PCMU", "PCMA"]);
    const callee = sdh(["PCMA", "PCMU"], { codecOrder: "mine" });
    const mine = await exchange(caller, callee);
    assert.match(mine.answer, /m=audio \d+ RTP\/AVP 8 101\r\n/, "our list decides");
    assert.equal(caller.negotiated?.codec, "PCMA");
    assert.equal(callee.negotiated?.codec, "PCMA");
  });

  it("completes an offer/answer and carries RTP between the two ends", async () => {
    const caller = sdh(["PCMA", "PCMU"]);
    const callee = sdh(["PCMU", "PCMA"], { codecOrder: "mine" });
    const { offer, answer } = await exchange(caller, callee);
    assert.match(offer, /m=audio \d+ RTP\/AVP 8 0 101\r\n/);
    assert.match(answer, /m=audio \d+ RTP\/AVP 0 101\r\n/, "answerer's preference (codecOrder mine), one codec");
    assert.ok(caller.rtp && callee.rtp);
    assert.equal(callee.negotiated?.codec, "PCMU");
    assert.equal(caller.negotiated?.codec, "PCMU");
    assert.equal(caller.negotiated?.telephoneEventPt, 101);
    assert.equal(caller.negotiated?.remotePort, callee.rtp.localPort);
    assert.equal(callee.negotiated?.remotePort, caller.rtp.localPort);
    assert.equal(caller.negotiated?.direction, "sendrecv");

    let received = 0;
    callee.rtp.on("audio", () => received++);
    (caller.rtp as RtpSession).tick(0);
    await waitFor(() => received === 1);
  });

  it("supports a late offer (INVITE without SDP: offer in 200 OK, answer in ACK)", async () => {
    const uas = sdh(["PCMU"]);
    const uac = sdh(["PCMA", "PCMU"]);
    const offer = await uas.getDescription(); // 200 OK
    assert.equal(directionOf(offer.body), "sendrecv");
    await uac.setDescription(offer.body);
    const answer = await uac.getDescription(); // ACK
    await uas.setDescription(answer.body);
    assert.equal(uas.negotiated?.codec, "PCMU");
    assert.equal(uac.negotiated?.codec, "PCMU");
    assert.equal(uas.negotiated?.remotePort, uac.rtp?.localPort);
  });

  it("answers a real-world offer and applies it to RTP", async () => {
    const h = sdh(["PCMA", "PCMU"], { codecOrder: "mine" });
    await h.setDescription(ASTERISK_OFFER);
    const answer = await h.getDescription();
    assert.match(answer.body, /m=audio \d+ RTP\/AVP 8 101\r\n/);
    assert.deepEqual(h.rtp?.remote, {
      address: "192.168.1.10",
      port: 14582,
      codec: "PCMA",
      payloadType: 8,
      telephoneEventPt: 101,
      direction: "sendrecv",
    });
  });

  it("puts the peer on hold and resumes via the hold option (re-INVITE)", async () => {
    const caller = sdh(["PCMU"]);
    const callee = sdh(["PCMU"]);
    await exchange(caller, callee);

    const held = await exchange(caller, callee, true);
    assert.equal(directionOf(held.offer), "sendonly");
    assert.equal(directionOf(held.answer), "recvonly");
    assert.equal(caller.onHold, true);
    assert.equal(caller.negotiated?.direction, "sendonly");
    assert.equal(callee.negotiated?.direction, "recvonly");
    assert.equal(callee.negotiated?.hold, true);
    assert.equal((callee.rtp as RtpSession | null)?.sendTarget, null, "held side stops sending");
    assert.equal(callee.rtp?.isClosed, false, "but keeps its socket");

    const resumed = await exchange(caller, callee, false);
    assert.equal(directionOf(resumed.offer), "sendrecv");
    assert.equal(callee.negotiated?.direction, "sendrecv");
    assert.notEqual((callee.rtp as RtpSession | null)?.sendTarget, null);
  });

  it("stops sending on an old-style c=0.0.0.0 hold", async () => {
    const caller = sdh(["PCMU"]);
    const callee = sdh(["PCMU"]);
    await exchange(caller, callee);
    const port = callee.rtp!.localPort;
    const offer = (await caller.getDescription()).body.replace(/c=IN IP4 127\.0\.0\.1/, "c=IN IP4 0.0.0.0");
    await callee.setDescription(offer);
    const answer = await callee.getDescription();
    assert.equal(directionOf(answer.body), "recvonly");
    assert.equal((callee.rtp as RtpSession | null)?.sendTarget, null);
    assert.equal(callee.rtp?.localPort, port, "same socket");
  });

  it("keeps the same o= version for an unchanged re-answer and bumps it on change", async () => {
    const h = sdh(["PCMU"]);
    const version = (sdp: string) => Number(parseSdp(sdp)?.origin?.sessionVersion);
    await h.setDescription(ASTERISK_OFFER);
    const v1 = version((await h.getDescription()).body);
    await h.setDescription(ASTERISK_OFFER); // e.g. 183 then 200 OK for the same offer
    const v1again = version((await h.getDescription()).body);
    await h.setDescription(ASTERISK_OFFER.replace("a=sendrecv", "a=sendonly"));
    const v2 = version((await h.getDescription()).body);
    assert.equal(v1again, v1);
    assert.equal(v2, v1 + 1);
  });

  it("rejects unusable offers with NoCommonCodecError (and precheckOffer agrees)", async () => {
    const h = sdh(["PCMU", "PCMA"]);
    await assert.rejects(h.setDescription(G729_ONLY_OFFER), (e: Error & { reason?: string }) => {
      assert.equal(e.name, "NoCommonCodecError");
      assert.equal(e.reason, "no common codec");
      return true;
    });
    await assert.rejects(h.setDescription(SRTP_OFFER), { name: "NoCommonCodecError" });
    await assert.rejects(h.setDescription("garbage"), { name: "NoCommonCodecError" });
    assert.equal(h.rtp, null, "no socket opened for a refused offer");
    const pre = precheckOffer(G729_ONLY_OFFER, ["PCMU"]);
    assert.equal(!pre.ok && pre.reason, "no common codec");
    assert.equal(precheckOffer(ASTERISK_OFFER, ["PCMA"]).ok, true);
  });

  it("rejects an answer that does not fit our offer", async () => {
    const caller = sdh(["PCMA"]);
    await caller.getDescription();
    const answer = ASTERISK_OFFER.replace(" 0 8 3 101", " 0 101");
    await assert.rejects(caller.setDescription(answer), { name: "NoCommonCodecError" });
  });

  it("after rollback, the next description is treated as an offer", async () => {
    const a = sdh(["PCMU"]);
    await a.getDescription(); // our re-INVITE offer ...
    await a.rollbackDescription(); // ... was rejected
    await a.setDescription(ASTERISK_OFFER); // now the peer offers
    const answer = await a.getDescription();
    assert.match(answer.body, /m=audio \d+ RTP\/AVP 0 101\r\n/, "an answer, not a new offer");
  });

  it("applies a frame source set before RTP exists", async () => {
    const h = sdh(["PCMU"]);
    let pulls = 0;
    const source: FrameSource = { nextFrame: () => (pulls++, null) };
    h.setFrameSource(source);
    await h.setDescription(ASTERISK_OFFER.replace("192.168.1.10", "127.0.0.1"));
    (h.rtp as RtpSession).tick(0);
    assert.equal(pulls, 1);
  });

  it("applies description modifiers", async () => {
    const h = sdh(["PCMU"]);
    const modifier = async (d: { type: string; sdp?: string }) => ({ ...d, sdp: `${d.sdp}a=x-${d.type}\r\n` });
    const offer = await h.getDescription(undefined, [modifier as never]);
    assert.ok(offer.body.endsWith("a=x-offer\r\n"));
  });

  it("close() closes RTP and makes later calls reject", async () => {
    const h = sdh(["PCMU"]);
    await h.getDescription();
    const rtp = h.rtp!;
    h.close();
    h.close();
    assert.equal(rtp.isClosed, true);
    await assert.rejects(h.getDescription(), { name: "ClosedSessionDescriptionHandlerError" });
    await assert.rejects(h.setDescription(ASTERISK_OFFER), { name: "ClosedSessionDescriptionHandlerError" });
  });

  it("close() during a pending open does not leak the socket", async () => {
    const h = sdh(["PCMU"]);
    const pending = h.getDescription();
    h.close();
    await assert.rejects(pending, { name: "ClosedSessionDescriptionHandlerError" });
    assert.equal(h.rtp, null);
  });

  it("the factory creates a handler per session and reports it", () => {
    const seen: RtpSessionDescriptionHandler[] = [];
    const factory = createRtpSdhFactory(options(["PCMU"]), { onSession: (h) => seen.push(h) });
    const fakeSession = {} as Session;
    const h = factory(fakeSession) as RtpSessionDescriptionHandler;
    handlers.push(h);
    assert.ok(h instanceof RtpSessionDescriptionHandler);
    assert.equal(h.session, fakeSession);
    assert.deepEqual(seen, [h]);
    assert.equal(h.rtp, null, "RTP opens lazily");
  });

  it("fails the description when no RTP port is free", async () => {
    const first = sdh(["PCMU"], { portMin: 42900, portMax: 42901 });
    await first.getDescription();
    const second = sdh(["PCMU"], { portMin: 42900, portMax: 42901 });
    await assert.rejects(second.getDescription(), /no free even UDP port/);
  });
});
