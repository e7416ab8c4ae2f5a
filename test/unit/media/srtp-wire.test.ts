// SRTP on the wire (issue 10 item 1): the offer/answer decisions for every mode × transport ×
// offer kind, and two handlers exchanging SDES keys and SRTP packets on loopback.
import assert from "node:assert/strict";
import type { RtpSession } from "../../../src/media/rtp-session.js";
import type { Codec, SrtpMode } from "../../../src/types.js";
import { negotiate, parseSdp, cryptoValues } from "../../../src/media/sdp.js";
import { createOfferCryptos, parseCryptoAttribute, redactSdesKeys } from "../../../src/media/sdes.js";
import { judgeAnswer, planOffer, srtpPolicyFor } from "../../../src/media/srtp-policy.js";
import { RtpSessionDescriptionHandler, precheckOffer, type RtpSdhOptions } from "../../../src/media/session-description-handler.js";
import { serializeRtp } from "../../../src/media/rtp-packet.js";
import { RawPeer, manualPacer, waitFor } from "./helpers.js";

const MODES: SrtpMode[] = ["off", "optional", "mandatory"];
/** Transport, and whether srtpOverInsecure is set. */
const TRANSPORTS: Array<[string, boolean]> = [
  ["udp", false],
  ["tcp", false],
  ["ws", false],
  ["tls", false],
  ["wss", false],
  ["udp", true],
];

const [KEY80, KEY32] = createOfferCryptos().map((c) => c.toAttributeValue());

function offer(proto: string, cryptos: string[]): string {
  return [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio 40000 ${proto} 0 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    ...cryptos.map((c) => `a=crypto:${c}`),
    "a=sendrecv",
    "",
  ].join("\r\n");
}

type Kind = "plain" | "avp+crypto" | "savp+crypto" | "savp" | "avp+bad crypto" | "savp+bad crypto";
const OFFERS: Record<Kind, string> = {
  plain: offer("RTP/AVP", []),
  "avp+crypto": offer("RTP/AVP", [KEY32, KEY80]),
  "savp+crypto": offer("RTP/SAVP", [KEY80]),
  savp: offer("RTP/SAVP", []),
  "avp+bad crypto": offer("RTP/AVP", ["1 F8_128_HMAC_SHA1_80 inline:AAAA"]),
  "savp+bad crypto": offer("RTP/SAVP", ["1 AES_CM_128_HMAC_SHA1_80 inline:tooShort"]),
};

/** What we must do with an incoming offer: "plain", "srtp" (with the first usable line's tag) or the 488 reason. */
function expected(mode: SrtpMode, keys: boolean, kind: Kind): string {
  const savp = kind.startsWith("savp");
  const usable = kind === "avp+crypto" || kind === "savp+crypto";
  if (mode === "off") return savp ? "no audio stream" : "plain";
  if (!keys) return mode === "mandatory" ? "srtp required" : savp ? "srtp refused" : "plain";
  if (usable) return "srtp";
  if (savp) return "srtp refused";
  return mode === "mandatory" ? "srtp required" : "plain";
}

describe("media/srtp-policy: SRTP offer/answer decisions", () => {
  describe("an incoming offer, every mode × transport × offer kind", () => {
    for (const mode of MODES) {
      for (const [transport, overInsecure] of TRANSPORTS) {
        const policy = srtpPolicyFor(mode, transport, overInsecure);
        const keys = mode !== "off" && (transport === "tls" || transport === "wss" || overInsecure);
        for (const kind of Object.keys(OFFERS) as Kind[]) {
          const want = expected(mode, keys, kind);
          it(`${mode} over ${transport}${overInsecure ? " (srtpOverInsecure)" : ""}, ${kind} offer → ${want}`, () => {
            assert.equal(policy.keysAllowed, keys);
            const r = negotiate(OFFERS[kind], ["PCMU"], "sendrecv", "caller", { policy });
            const pre = precheckOffer(OFFERS[kind], ["PCMU"], policy);
            assert.equal(pre.ok, r.ok, "the 488 pre-check agrees");
            if (want === "plain" || want === "srtp") {
              assert.ok(r.ok, `refused: ${!r.ok ? `${r.reason}: ${r.detail}` : ""}`);
              if (want === "plain") {
                assert.equal(r.sdes, null);
                assert.equal(r.proto, "RTP/AVP");
              } else {
                assert.ok(r.sdes);
                // The offerer's first usable line wins (KEY32 is listed first in the AVP offer).
                assert.equal(r.sdes.remote.suite, kind === "avp+crypto" ? "AES_CM_128_HMAC_SHA1_32" : "AES_CM_128_HMAC_SHA1_80");
                assert.equal(r.proto, kind === "avp+crypto" ? "RTP/AVP" : "RTP/SAVP", "the answer keeps the offer's profile");
              }
            } else {
              assert.equal(r.ok, false);
              if (!r.ok) {
                assert.equal(r.reason, want);
                if (mode === "off") assert.match(r.detail ?? "", /only unsupported profile RTP\/SAVP/, "off refuses SAVP as before");
                assert.doesNotMatch(r.detail ?? "", /inline:/, "no key in the reason");
              }
            }
          });
        }
      }
    }
  });

  describe("our offer", () => {
    for (const mode of MODES) {
      for (const [transport, overInsecure] of TRANSPORTS) {
        const keys = mode !== "off" && (transport === "tls" || transport === "wss" || overInsecure);
        it(`${mode} over ${transport}${overInsecure ? " (srtpOverInsecure)" : ""}`, () => {
          const plan = planOffer(srtpPolicyFor(mode, transport, overInsecure));
          if (mode === "mandatory" && !keys) {
            assert.ok("refuse" in plan && plan.refuse === "srtp required" && /TLS/.test(plan.detail));
          } else if (mode === "off" || !keys) {
            assert.deepEqual(plan, { proto: "RTP/AVP", crypto: false });
          } else {
            assert.deepEqual(plan, { proto: mode === "mandatory" ? "RTP/SAVP" : "RTP/AVP", crypto: true });
          }
        });
      }
    }
  });

  describe("the answer to our offer", () => {
    const offered = createOfferCryptos();
    const tls = (mode: SrtpMode) => srtpPolicyFor(mode, "tls");
    const answerKey = `${offered[1].tag} ${offered[1].suite} inline:${Buffer.alloc(30, 7).toString("base64")}`;

    it("keys offered, one matching line answered: SRTP with our line of that tag and the peer's key", () => {
      for (const mode of ["optional", "mandatory"] as const) {
        for (const proto of ["RTP/AVP", "RTP/SAVP"]) {
          const v = judgeAnswer(tls(mode), offered, proto, [answerKey]);
          assert.ok("srtp" in v && v.srtp);
          assert.equal(v.srtp.local, offered[1]);
          assert.equal(v.srtp.remote.suite, "AES_CM_128_HMAC_SHA1_32");
        }
      }
    });

    it("keys offered, a plain answer: optional falls back to RTP, mandatory refuses (the call ends)", () => {
      assert.deepEqual(judgeAnswer(tls("optional"), offered, "RTP/AVP", []), { srtp: null });
      const m = judgeAnswer(tls("mandatory"), offered, "RTP/AVP", []);
      assert.ok("refuse" in m && m.refuse === "srtp required");
      const savp = judgeAnswer(tls("optional"), offered, "RTP/SAVP", []);
      assert.ok("refuse" in savp, "RTP/SAVP without keys cannot be plain");
    });

    it("keys offered, an answer line of another tag, several lines or a bad key: refused", () => {
      const otherTag = answerKey.replace(/^\d+/, "9");
      for (const bad of [[otherTag], [answerKey, answerKey], ["2 AES_CM_128_HMAC_SHA1_32 inline:AAAA"]]) {
        const v = judgeAnswer(tls("optional"), offered, "RTP/AVP", bad);
        assert.ok("refuse" in v && v.refuse === "srtp refused", JSON.stringify(v));
      }
    });

    it("no keys offered: a=crypto in the answer is ignored, an RTP/SAVP answer refused", () => {
      assert.deepEqual(judgeAnswer(tls("optional"), [], "RTP/AVP", [answerKey]), { srtp: null });
      assert.ok("refuse" in judgeAnswer(tls("optional"), [], "RTP/SAVP", [answerKey]));
    });
  });

  it("redacts every inline key of an SDP", () => {
    const text = OFFERS["avp+crypto"];
    const red = redactSdesKeys(text);
    assert.equal((red.match(/inline:\[redacted\]/g) ?? []).length, 2);
    for (const line of [KEY80, KEY32]) assert.ok(!red.includes(line.split("inline:")[1]));
  });
});

describe("media/session-description-handler: SRTP between two handlers", () => {
  const handlers: RtpSessionDescriptionHandler[] = [];
  const peers: RawPeer[] = [];
  function sdh(mode: SrtpMode, transport = "tls", extra: Partial<RtpSdhOptions> = {}): RtpSessionDescriptionHandler {
    const codecs: Codec[] = ["PCMU"];
    const policy = srtpPolicyFor(mode, transport);
    const h = new RtpSessionDescriptionHandler({
      codecs,
      portMin: 43000,
      portMax: 43999,
      bindAddress: "127.0.0.1",
      advertisedAddress: () => "127.0.0.1",
      pacer: manualPacer(),
      srtp: () => policy,
      ...extra,
    });
    h.confirm();
    handlers.push(h);
    return h;
  }
  afterEach(async () => {
    for (const h of handlers.splice(0)) h.close();
    for (const p of peers.splice(0)) await p.close();
  });

  async function exchange(caller: RtpSessionDescriptionHandler, callee: RtpSessionDescriptionHandler, hold?: boolean) {
    const o = await caller.getDescription(hold === undefined ? undefined : { hold });
    await callee.setDescription(o.body);
    const a = await callee.getDescription();
    await caller.setDescription(a.body);
    return { offer: o.body, answer: a.body };
  }

  function audioOf(sdp: string) {
    const sd = parseSdp(sdp);
    assert.ok(sd);
    return sd.media[0];
  }

  for (const [callerMode, calleeMode, proto] of [
    ["optional", "optional", "RTP/AVP"],
    ["mandatory", "optional", "RTP/SAVP"],
    ["optional", "mandatory", "RTP/AVP"],
  ] as const) {
    it(`${callerMode} calls ${calleeMode}: ${proto} with a=crypto, every packet SRTP both ways`, async () => {
      const caller = sdh(callerMode);
      const callee = sdh(calleeMode);
      const { offer: o, answer: a } = await exchange(caller, callee);
      assert.equal(audioOf(o).proto, proto);
      assert.equal(cryptoValues(audioOf(o)).length, 2, "both suites offered");
      assert.equal(audioOf(a).proto, proto);
      const answered = cryptoValues(audioOf(a));
      assert.equal(answered.length, 1);
      const ours = parseCryptoAttribute(cryptoValues(audioOf(o))[0]);
      const theirs = parseCryptoAttribute(answered[0]);
      assert.ok(ours.ok && theirs.ok);
      assert.equal(theirs.crypto.tag, ours.crypto.tag);
      assert.ok(!theirs.crypto.masterKey.equals(ours.crypto.masterKey), "the answerer's own key");
      assert.ok(caller.srtp && callee.srtp && caller.rtp?.secure && callee.rtp?.secure);

      // A constant level each way: what arrives must decrypt to it, not to noise.
      caller.setFrameSource({ nextFrame: () => ({ kind: "audio", pcm: new Int16Array(160).fill(4000) }) });
      callee.setFrameSource({ nextFrame: () => ({ kind: "audio", pcm: new Int16Array(160).fill(-4000) }) });
      let heardByCallee = 0;
      let heardByCaller = 0;
      const near = (pcm: Int16Array, level: number) => pcm.every((x) => Math.abs(x - level) < 200);
      callee.rtp.on("audio", (pcm) => near(pcm, 4000) && heardByCallee++);
      caller.rtp.on("audio", (pcm) => near(pcm, -4000) && heardByCaller++);
      for (let i = 0; i < 5; i++) {
        (caller.rtp as RtpSession).tick(0);
        (callee.rtp as RtpSession).tick(0);
      }
      await waitFor(() => heardByCallee === 5 && heardByCaller === 5, 3000, "SRTP both ways");
      assert.equal(callee.rtp.stats().srtpFailed, 0);
      assert.equal(caller.rtp.stats().srtpFailed, 0);
      assert.equal(callee.rtp.callStats().srtpFailed, 0);
    });
  }

  it("rtcpTransform: SRTCP under the call's keys once SRTP is on, the packet unchanged before; forgeries null", async () => {
    const caller = sdh("optional");
    const callee = sdh("optional");
    const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0x12, 0x34]); // an empty receiver report
    await caller.openRtp();
    assert.equal((caller.rtp as RtpSession).rtcpTransform.protect(rr), rr, "plain RTP: RTCP goes as it is");
    await exchange(caller, callee);
    const wire = (caller.rtp as RtpSession).rtcpTransform.protect(rr);
    assert.ok(wire && wire.length > rr.length, "SRTCP: index and tag appended");
    assert.deepEqual((callee.rtp as RtpSession).rtcpTransform.unprotect(wire), rr);
    assert.equal((callee.rtp as RtpSession).rtcpTransform.unprotect(wire), null, "a replay is refused");
    assert.equal((callee.rtp as RtpSession).rtcpTransform.unprotect(rr), null, "plain RTCP is refused under SRTP");
  });

  it("a hold re-INVITE keeps the keys and the SRTP state: audio still decrypts", async () => {
    const caller = sdh("optional");
    const callee = sdh("optional");
    const first = await exchange(caller, callee);
    const reoffer = await exchange(caller, callee, true);
    const key = (sdp: string) => cryptoValues(audioOf(sdp));
    assert.equal(key(reoffer.offer).length, 1, "only the agreed line is re-offered");
    assert.ok(key(first.offer).includes(key(reoffer.offer)[0]), "with the same key");
    assert.deepEqual(key(reoffer.answer), key(first.answer), "the answerer keeps its key too");
    let heard = 0;
    callee.rtp!.on("audio", () => heard++);
    for (let i = 0; i < 3; i++) (caller.rtp as RtpSession).tick(0);
    await waitFor(() => heard === 3, 3000, "audio after the re-INVITE");
    assert.equal(callee.rtp!.stats().srtpFailed, 0);
  });

  it("optional calls off: plain RTP, and the keys of the offer are ignored", async () => {
    const caller = sdh("optional");
    const callee = sdh("off");
    const { answer } = await exchange(caller, callee);
    assert.equal(cryptoValues(audioOf(answer)).length, 0);
    assert.equal(caller.srtp, false);
    assert.equal(callee.srtp, false);
    assert.equal(caller.rtp!.secure, false);
  });

  it("mandatory calls off: the plain answer is refused with a reason, and the refusal is reported", async () => {
    const caller = sdh("mandatory");
    const o = await caller.getDescription();
    // A plain peer that ignores the keys and answers RTP/AVP.
    const plainCallee = sdh("off");
    const plainOffer = o.body.replace("RTP/SAVP", "RTP/AVP");
    await plainCallee.setDescription(plainOffer);
    const a = await plainCallee.getDescription();
    const refused: Error[] = [];
    caller.on("refused", (e) => refused.push(e));
    await assert.rejects(caller.setDescription(a.body), /srtp required: the answer has no a=crypto/);
    assert.equal(refused.length, 1);
    assert.equal(caller.srtp, false);
  });

  it("mandatory over UDP: no offer at all (the call ends with the reason); a=crypto never leaves over UDP", async () => {
    await assert.rejects(sdh("mandatory", "udp").getDescription(), /srtp required: SRTP is mandatory, but SRTP keys .* only exchanged over TLS/);
    const o = await sdh("optional", "udp").getDescription();
    assert.doesNotMatch(o.body, /a=crypto/);
    assert.match(o.body, /RTP\/AVP/);
  });

  it("drops and counts what fails: plain RTP, a wrong key, a replay; none of it is heard or latched", async () => {
    const caller = sdh("optional");
    const callee = sdh("optional");
    await exchange(caller, callee);
    const rtp = callee.rtp!;
    let heard = 0;
    rtp.on("audio", () => heard++);
    // The real caller's packets arrive from its RTP socket, the SDP's address:port: send from a raw
    // socket on another port so they are the SDP's IP (latch mode would take them) but not its port.
    const peer = await RawPeer.open();
    peers.push(peer);
    const plain = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0x51, marker: true }, Buffer.alloc(160, 0xff));
    await peer.send(plain, rtp.localPort);
    const forged = Buffer.concat([plain, Buffer.alloc(10, 0x42)]); // an 80-bit tag of garbage
    await peer.send(forged, rtp.localPort);
    await waitFor(() => rtp.stats().srtpFailed === 2, 3000, "two failures counted");
    assert.equal(heard, 0);
    assert.equal(rtp.latched, null, "nothing latched on a packet that failed authentication");
    // A replay of a real packet: heard once, dropped the second time.
    const captured: Buffer[] = [];
    const sniff = await RawPeer.open();
    peers.push(sniff);
    // Point the caller at the sniffer for one packet and replay it to the callee from there.
    caller.rtp!.setRemote({ ...caller.rtp!.remote!, port: sniff.port });
    (caller.rtp as RtpSession).tick(0);
    await waitFor(() => sniff.raw.length === 1, 3000, "one SRTP packet captured");
    captured.push(sniff.raw[0]);
    assert.doesNotMatch(captured[0].subarray(12, 172).toString("hex"), /^(ff)+$/, "payload on the wire is not plain G.711 silence");
    await sniff.send(captured[0], rtp.localPort);
    await sniff.send(captured[0], rtp.localPort);
    await waitFor(() => rtp.stats().srtpFailed === 3, 3000, "the replay counted");
    assert.equal(rtp.stats().ignoredFromOtherSources, 0);
  });
});
