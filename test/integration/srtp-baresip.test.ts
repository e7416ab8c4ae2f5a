// Interop of src/media/srtp.ts + sdes.ts with baresip's srtp module (libre's
// SRTP), on 127.0.0.1, in both offer directions:
//   - baresip calls a minimal SIP endpoint written here (baresip offers
//     RTP/SAVP with a=crypto, we answer with our own key);
//   - we call baresip (we offer, baresip answers).
// In each call both sides send a tone as SRTP (PCMU) and SRTCP: every packet
// baresip sends must authenticate and decrypt here, and baresip's recording
// of what it received from us must hold our tone.
//
// The SIP side is deliberately tiny (one dialog over UDP, no retransmissions:
// loopback does not lose packets); it exists only to carry the SDP. Keys go
// over plain UDP here because this tests the crypto, not the transport policy.

import { concatPcm } from "../support/pcm";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import { decodeFrame, encodeFrame } from "../../src/media/g711";
import { parseRtp, serializeRtp } from "../../src/media/rtp-packet";
import { acceptAnswerCryptos, answerCryptos, createOfferCryptos, type SdesAgreement } from "../../src/media/sdes";
import type { SrtpContext } from "../../src/media/srtp";
import { startBaresip, type Baresip } from "../support/baresip";
import { freePortRange, LOOPBACK } from "../support/ports";
import { sleep, waitFor } from "../support/wait";
import { analyze, analyzeWav, tone } from "../support/wav";

const OUR_TONE_HZ = 1000;
const BARESIP_TONE_HZ = 440;
const SEND_PACKETS = 150; // 3 s of 20 ms frames

interface SipMessage {
  startLine: string;
  headers: Map<string, string[]>;
  body: string;
}

const COMPACT: Record<string, string> = { v: "via", f: "from", t: "to", i: "call-id", m: "contact", l: "content-length", c: "content-type" };

function parseSip(buf: Buffer): SipMessage | null {
  const text = buf.toString("utf8");
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return null;
  const lines = text.slice(0, split).split("\r\n");
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    let name = line.slice(0, colon).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  return { startLine: lines[0], headers, body: text.slice(split + 4) };
}

const h = (m: SipMessage, name: string) => m.headers.get(name)?.[0] ?? "";

interface RemoteMedia {
  port: number;
  proto: string;
  cryptos: string[];
}

function audioOf(sdp: string): RemoteMedia {
  const lines = sdp.split(/\r?\n/);
  const m = lines.findIndex((l) => l.startsWith("m=audio "));
  assert.ok(m >= 0, `no audio in SDP:\n${sdp}`);
  const [, port, proto] = lines[m].split(" ");
  const cryptos: string[] = [];
  for (const l of lines.slice(m + 1)) {
    if (l.startsWith("m=")) break;
    if (l.startsWith("a=crypto:")) cryptos.push(l.slice("a=crypto:".length));
  }
  return { port: Number(port), proto, cryptos };
}

function sdp(rtpPort: number, crypto: string[]): string {
  return [
    "v=0",
    `o=- ${Date.now()} 1 IN IP4 ${LOOPBACK}`,
    "s=-",
    `c=IN IP4 ${LOOPBACK}`,
    "t=0 0",
    `m=audio ${rtpPort} RTP/SAVP 0`,
    "a=rtpmap:0 PCMU/8000",
    ...crypto.map((c) => `a=crypto:${c}`),
    "a=ptime:20",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

/** RFC 3550 receiver report with no blocks, plus SDES CNAME: a minimal compound RTCP packet. */
function rtcpReport(ssrc: number): Buffer {
  const cname = Buffer.from("srtp-test");
  const sdesLen = 4 + 4 + 2 + cname.length;
  const padded = Math.ceil((sdesLen + 1) / 4) * 4;
  const out = Buffer.alloc(8 + padded);
  out[0] = 0x80;
  out[1] = 201;
  out.writeUInt16BE(1, 2);
  out.writeUInt32BE(ssrc, 4);
  out[8] = 0x81;
  out[9] = 202;
  out.writeUInt16BE(padded / 4 - 1, 10);
  out.writeUInt32BE(ssrc, 12);
  out[16] = 1;
  out[17] = cname.length;
  cname.copy(out, 18);
  return out;
}

/** True when the compound packet's length fields add up to exactly its size: plain RTCP, no SRTCP trailer. */
function isPlainRtcp(b: Buffer): boolean {
  let o = 0;
  while (o + 4 <= b.length) {
    if (b[o] >> 6 !== 2) return false;
    o += 4 * (b.readUInt16BE(o + 2) + 1);
  }
  return o === b.length;
}

/** One SRTP media stream: RTP on `port`, RTCP on `port + 1`. */
class SecureMedia {
  rtpGood = 0;
  rtpBad = 0;
  rtcpGood = 0;
  rtcpBad = 0;
  rtcpPlain = 0;
  rtcpSent = 0;
  readonly received: Int16Array[] = [];
  private timer: NodeJS.Timeout | undefined;
  private rtcpTimer: NodeJS.Timeout | undefined;
  private inbound: SrtpContext | undefined;
  private outbound: SrtpContext | undefined;

  private constructor(
    readonly rtp: dgram.Socket,
    readonly rtcp: dgram.Socket,
    readonly port: number,
  ) {
    rtp.on("message", (msg) => {
      if (!this.inbound) return;
      const plain = this.inbound.unprotectRtp(msg);
      if (!plain) return void this.rtpBad++;
      this.rtpGood++;
      const p = parseRtp(plain);
      if (p && p.payloadType === 0) this.received.push(decodeFrame("PCMU", p.payload));
    });
    rtcp.on("message", (msg) => {
      if (!this.inbound) return;
      if (this.inbound.unprotectRtcp(msg)) this.rtcpGood++;
      // baresip sends an RTCP APP "PING" before SRTP is up and its final
      // RTCP BYE after tearing SRTP down, both in the clear: a strict SRTP
      // receiver drops them, and they are counted apart.
      else if (isPlainRtcp(msg)) this.rtcpPlain++;
      else this.rtcpBad++;
    });
  }

  static async open(): Promise<SecureMedia> {
    const port = await freePortRange(2, "udp", 2);
    const bind = (p: number) =>
      new Promise<dgram.Socket>((resolve, reject) => {
        const s = dgram.createSocket("udp4");
        s.once("error", reject);
        s.bind(p, LOOPBACK, () => resolve(s));
      });
    return new SecureMedia(await bind(port), await bind(port + 1), port);
  }

  start(agreement: SdesAgreement, remotePort: number): void {
    this.inbound = agreement.remote.createContext();
    this.outbound = agreement.local.createContext();
    const ssrc = randomBytes(4).readUInt32BE(0);
    const pcm = tone(OUR_TONE_HZ, (SEND_PACKETS * 160) / 8000, 8000, 0.4);
    let seq = randomBytes(2).readUInt16BE(0);
    let n = 0;
    this.timer = setInterval(() => {
      if (n >= SEND_PACKETS) return this.stopSending();
      const frame = encodeFrame("PCMU", pcm.subarray(n * 160, (n + 1) * 160));
      const pkt = serializeRtp({ payloadType: 0, sequenceNumber: seq++, timestamp: n * 160, ssrc, marker: n === 0 }, frame);
      this.rtp.send(this.outbound!.protectRtp(pkt), remotePort, LOOPBACK);
      n++;
    }, 20);
    // Reports every 500 ms until closed, after the peer's first one: a libre
    // peer tags SRTCP with 32 bits under _32, and we answer in kind once seen.
    this.rtcpTimer = setInterval(() => {
      if (this.rtcpGood === 0) return;
      this.rtcpSent++;
      this.outbound!.srtcpShortTag = this.inbound!.shortSrtcpTagSeen;
      this.rtcp.send(this.outbound!.protectRtcp(rtcpReport(ssrc)), remotePort + 1, LOOPBACK);
    }, 500);
  }

  stopSending(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stopSending();
    if (this.rtcpTimer) clearInterval(this.rtcpTimer);
    this.rtcpTimer = undefined;
    this.rtp.close();
    this.rtcp.close();
  }
}

/** A UDP SIP endpoint on 127.0.0.1 that handles one dialog at a time. */
class MiniUa {
  readonly messages: SipMessage[] = [];
  private listeners: ((m: SipMessage, from: dgram.RemoteInfo) => void)[] = [];

  private constructor(
    readonly socket: dgram.Socket,
    readonly port: number,
  ) {
    socket.on("message", (buf, from) => {
      const m = parseSip(buf);
      if (!m) return;
      this.messages.push(m);
      for (const l of this.listeners) l(m, from);
    });
  }

  static async open(): Promise<MiniUa> {
    const port = await freePortRange(1, "udp", 1);
    const s = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind(port, LOOPBACK, () => resolve());
    });
    return new MiniUa(s, port);
  }

  on(fn: (m: SipMessage, from: dgram.RemoteInfo) => void): void {
    this.listeners.push(fn);
  }

  next(match: (m: SipMessage) => boolean, timeoutMs = 15000): Promise<SipMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for a SIP message")), timeoutMs);
      this.on((m) => {
        if (match(m)) {
          clearTimeout(timer);
          resolve(m);
        }
      });
    });
  }

  send(text: string, port: number): void {
    this.socket.send(Buffer.from(text), port, LOOPBACK);
  }

  /** A response to `req` (headers copied as RFC 3261 section 8.2.6 says). */
  respond(req: SipMessage, port: number, status: string, toTag: string, body = ""): void {
    const lines = [`SIP/2.0 ${status}`];
    for (const v of req.headers.get("via") ?? []) lines.push(`Via: ${v}`);
    lines.push(`From: ${h(req, "from")}`);
    const to = h(req, "to");
    lines.push(`To: ${/;tag=/.test(to) ? to : `${to};tag=${toTag}`}`);
    lines.push(`Call-ID: ${h(req, "call-id")}`, `CSeq: ${h(req, "cseq")}`);
    lines.push(`Contact: <sip:srtp@${LOOPBACK}:${this.port}>`);
    if (body) lines.push("Content-Type: application/sdp");
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`, "", body);
    this.send(lines.join("\r\n"), port);
  }

  close(): void {
    this.socket.close();
  }
}

function goertzelRatio(samples: Int16Array, hz: number): number {
  // Energy at `hz` against total energy (1 = a pure tone at hz).
  const w = (2 * Math.PI * hz) / 8000;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let total = 0;
  for (const x of samples) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    total += x * x;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return total > 0 ? (2 * power) / (samples.length * total) : 0;
}

describe("SRTP interop with baresip (srtp module, SDES)", function () {
  this.timeout(60000);

  let peer: Baresip | undefined;
  let ua: MiniUa | undefined;
  let media: SecureMedia | undefined;

  afterEach(async function () {
    media?.close();
    ua?.close();
    await peer?.stop();
    media = undefined;
    ua = undefined;
    peer = undefined;
  });

  async function startPeer(answerMode: "manual" | "auto"): Promise<Baresip> {
    return startBaresip({
      user: "bsrtp",
      answerMode,
      codecs: ["PCMU"],
      toneHz: BARESIP_TONE_HZ,
      accountParams: ";mediaenc=srtp-mand",
      extraConfig: "module\t\t\tsrtp.so",
    });
  }

  /** What both directions must show once the call has run. */
  async function checkAudio(p: Baresip, m: SecureMedia, suite: string): Promise<void> {
    if (process.env.SRTP_DEBUG) {
      console.log(
        p
          .log()
          .split(/[\r\n]+/)
          .filter((l) => /srtp|rtcp|decrypt|auth/i.test(l) && !/audio=/.test(l))
          .join("\n"),
      );
      console.log({ rtpGood: m.rtpGood, rtpBad: m.rtpBad, rtcpGood: m.rtcpGood, rtcpBad: m.rtcpBad, rtcpPlain: m.rtcpPlain });
    }
    // baresip -> us: every SRTP/SRTCP packet authenticated and decrypted to its tone.
    assert.ok(m.rtpGood >= 50, `SRTP from baresip accepted: ${m.rtpGood} (${suite})`);
    assert.equal(m.rtpBad, 0, "SRTP packets from baresip refused");
    assert.ok(m.rtcpGood >= 1, `SRTCP from baresip accepted: ${m.rtcpGood}`);
    assert.equal(m.rtcpBad, 0, "SRTCP packets from baresip refused");
    const heard = concatPcm(m.received);
    const stats = analyze(heard);
    assert.ok(stats.activeFraction > 0.8, `baresip's audio audible here: ${JSON.stringify(stats)}`);
    assert.ok(goertzelRatio(heard, BARESIP_TONE_HZ) > 0.8, "baresip's tone decrypted intact");

    // us -> baresip: it decrypted every SRTP and SRTCP packet we sent
    // (libre logs "srtp: failed to decrypt RTP/RTCP packet ..." otherwise) ...
    assert.ok(m.rtcpSent >= 1, "we sent SRTCP");
    const failures = p
      .log()
      .split(/[\r\n]+/)
      .filter((l) => /failed to decrypt/i.test(l));
    assert.deepEqual(failures, [], "baresip refused packets of ours");
    // ... and its recording of what it received holds our tone.
    await waitFor(() => p.recordings().some((r) => r.direction === "rx"), 10000, "baresip recording");
    const rec = p.recordings().find((r) => r.direction === "rx")!;
    await sleep(300); // the WAV header is finalised when the call ends
    const got = analyzeWav(rec.path);
    assert.ok(got.activeFraction > 0.3, `our audio heard by baresip: ${JSON.stringify(got)}`);
    assert.ok(Math.abs(got.zeroCrossingHz - OUR_TONE_HZ) < 100, `our ${OUR_TONE_HZ} Hz tone at baresip: ${got.zeroCrossingHz} Hz`);
  }

  it("baresip offers RTP/SAVP with a=crypto, we answer: audio and RTCP both ways", async function () {
    peer = await startPeer("manual");
    ua = await MiniUa.open();
    media = await SecureMedia.open();
    const p = peer;
    const u = ua;
    const m = media;
    const toTag = randomBytes(4).toString("hex");
    let suite = "";
    u.on((msg, from) => {
      if (msg.startLine.startsWith("INVITE ")) {
        const offer = audioOf(msg.body);
        assert.equal(offer.proto, "RTP/SAVP");
        const agreement = answerCryptos(offer.cryptos);
        if (!agreement) {
          u.respond(msg, from.port, "488 Not Acceptable Here", toTag);
          return;
        }
        suite = agreement.local.suite;
        u.respond(msg, from.port, "200 OK", toTag, sdp(m.port, [agreement.local.toAttributeValue()]));
        m.start(agreement, offer.port);
      } else if (msg.startLine.startsWith("BYE ")) {
        u.respond(msg, from.port, "200 OK", toTag);
      }
    });
    await p.dial(`sip:srtp@${LOOPBACK}:${u.port}`);
    await p.waitEvent("CALL_ESTABLISHED", 15000);
    await waitFor(() => m.rtpGood >= 140 && m.rtcpGood >= 1 && m.rtcpSent >= 2, 15000, "SRTP and SRTCP both ways");
    await sleep(3200); // let our 3 s of tone play out
    await p.hangup();
    await p.waitEvent("CALL_CLOSED", 10000);
    assert.ok(suite, "a suite was agreed");
    await checkAudio(p, m, suite);
  });

  for (const suites of [["AES_CM_128_HMAC_SHA1_80"], ["AES_CM_128_HMAC_SHA1_32"]] as const) {
    it(`we offer ${suites[0]}, baresip answers: audio and RTCP both ways`, async function () {
      peer = await startPeer("auto");
      ua = await MiniUa.open();
      media = await SecureMedia.open();
      const p = peer;
      const u = ua;
      const m = media;
      const offered = createOfferCryptos(suites);
      const callId = `${randomBytes(8).toString("hex")}@srtp-test`;
      const fromTag = randomBytes(4).toString("hex");
      const branch = () => `z9hG4bK${randomBytes(6).toString("hex")}`;
      const target = `sip:${p.user}@${LOOPBACK}:${p.sipPort}`;
      const request = (method: string, cseq: number, toTag: string, body = "") =>
        [
          `${method} ${target} SIP/2.0`,
          `Via: SIP/2.0/UDP ${LOOPBACK}:${u.port};branch=${branch()};rport`,
          "Max-Forwards: 70",
          `From: <sip:srtp@${LOOPBACK}:${u.port}>;tag=${fromTag}`,
          `To: <${target}>${toTag ? `;tag=${toTag}` : ""}`,
          `Call-ID: ${callId}`,
          `CSeq: ${cseq} ${method}`,
          `Contact: <sip:srtp@${LOOPBACK}:${u.port}>`,
          ...(body ? ["Content-Type: application/sdp"] : []),
          `Content-Length: ${Buffer.byteLength(body)}`,
          "",
          body,
        ].join("\r\n");

      u.send(
        request(
          "INVITE",
          1,
          "",
          sdp(
            m.port,
            offered.map((c) => c.toAttributeValue()),
          ),
        ),
        p.sipPort,
      );
      const ok = await u.next((msg) => /^SIP\/2\.0 [2-6]\d\d/.test(msg.startLine) && / INVITE$/.test(h(msg, "cseq")));
      assert.match(ok.startLine, /^SIP\/2\.0 200/, `baresip answered ${ok.startLine}\n${ok.body}`);
      const answer = audioOf(ok.body);
      assert.equal(answer.proto, "RTP/SAVP");
      const agreement = acceptAnswerCryptos(offered, answer.cryptos);
      assert.ok(agreement, `answer crypto accepted: ${answer.cryptos.length} line(s)`);
      assert.equal(agreement.local.suite, suites[0]);
      const toTag = /;tag=([^;\s]+)/.exec(h(ok, "to"))?.[1] ?? "";
      u.send(request("ACK", 1, toTag), p.sipPort);
      m.start(agreement, answer.port);
      await p.waitEvent("CALL_ESTABLISHED", 15000);
      await waitFor(() => m.rtpGood >= 140 && m.rtcpGood >= 1 && m.rtcpSent >= 2, 15000, "SRTP and SRTCP both ways");
      await sleep(3200);
      u.send(request("BYE", 2, toTag), p.sipPort);
      await u.next((msg) => / BYE$/.test(h(msg, "cseq")) && msg.startLine.startsWith("SIP/2.0 "));
      await p.waitEvent("CALL_CLOSED", 10000);
      await checkAudio(p, m, suites[0]);
    });
  }
});
