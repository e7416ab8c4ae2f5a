import assert from "node:assert/strict";
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { serializeRtp } from "../../../src/media/rtp-packet.js";
import {
  AesCmKeystream,
  SRTP_MAX_STREAMS,
  SRTP_REPLAY_WINDOW,
  SrtpContext,
  deriveSessionKey,
  deriveSessionKeys,
  estimateSrtpIndex,
  type SrtpSuite,
} from "../../../src/media/srtp.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// RFC 3711 Appendix B.3 master key and salt (also the libsrtp reference packet's key).
const MASTER_KEY = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
const MASTER_SALT = hex("0EC675AD498AFEEBB6960B3AABE6");

function pair(suite: SrtpSuite = "AES_CM_128_HMAC_SHA1_80", mki?: Buffer) {
  const masterKey = randomBytes(16);
  const masterSalt = randomBytes(14);
  return {
    tx: new SrtpContext({ suite, masterKey, masterSalt, mki }),
    rx: new SrtpContext({ suite, masterKey, masterSalt, mki }),
    masterKey,
    masterSalt,
  };
}

function rtp(seq: number, ssrc = 0x11223344, payload: Buffer = Buffer.alloc(160, seq & 0xff)): Buffer {
  return serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc }, payload);
}

/** A receiver report (RFC 3550 6.4.2) with no report blocks plus an SDES CNAME, compound. */
function rtcp(ssrc = 0x11223344): Buffer {
  const rr = Buffer.alloc(8);
  rr[0] = 0x80;
  rr[1] = 201;
  rr.writeUInt16BE(1, 2);
  rr.writeUInt32BE(ssrc, 4);
  const sdes = Buffer.from([0x81, 202, 0x00, 0x03, 0, 0, 0, 0, 1, 2, 0x61, 0x62]);
  sdes.writeUInt32BE(ssrc, 4);
  return Buffer.concat([rr, sdes]);
}

describe("media/srtp", () => {
  describe("RFC 3711 Appendix B test vectors", () => {
    it("B.3: derives cipher key, cipher salt and auth key from the master key (kdr 0)", () => {
      assert.equal(deriveSessionKey(MASTER_KEY, MASTER_SALT, 0, 16).toString("hex"), "c61e7a93744f39ee10734afe3ff7a087");
      assert.equal(deriveSessionKey(MASTER_KEY, MASTER_SALT, 2, 14).toString("hex"), "30cbbc08863d8c85d49db34a9ae1");
      assert.equal(
        deriveSessionKey(MASTER_KEY, MASTER_SALT, 1, 94).toString("hex"),
        hex(`CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE E049646C43D9327AD175578EF7227098
             6371C10C9A369AC2F94A8C5FBCDDDC25 6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2`).toString("hex"),
      );
      const keys = deriveSessionKeys(MASTER_KEY, MASTER_SALT, false);
      assert.equal(keys.cipherKey.toString("hex"), "c61e7a93744f39ee10734afe3ff7a087");
      assert.equal(keys.cipherSalt.toString("hex"), "30cbbc08863d8c85d49db34a9ae1");
      assert.equal(keys.authKey.toString("hex"), "cebe321f6ff7716b6fd4ab49af256a156d38baa4");
    });

    it("B.2: produces the AES-CM keystream, first and last blocks of the 65282-block segment", () => {
      const cm = new AesCmKeystream(hex("2B7E151628AED2A6ABF7158809CF4F3C"));
      const ks = cm.keystream(hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), 65282 * 16);
      assert.equal(ks.length, 1044512);
      assert.equal(
        ks.subarray(0, 48).toString("hex"),
        hex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0").toString("hex"),
      );
      assert.equal(
        ks.subarray(ks.length - 48).toString("hex"),
        hex("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44").toString("hex"),
      );
    });
  });

  describe("reference packets (the libsrtp validation packet, same master key)", () => {
    const plainRtp = hex("800f1234decafbadcafebabe abababababababababababababababab");
    const srtp80 = hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb");

    it("protects and unprotects AES_CM_128_HMAC_SHA1_80 bit for bit", () => {
      const ctx = new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_80", masterKey: MASTER_KEY, masterSalt: MASTER_SALT });
      assert.equal(ctx.protectRtp(plainRtp).toString("hex"), srtp80.toString("hex"));
      const rx = new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_80", masterKey: MASTER_KEY, masterSalt: MASTER_SALT });
      assert.equal(rx.unprotectRtp(srtp80)?.toString("hex"), plainRtp.toString("hex"));
    });

    it("AES_CM_128_HMAC_SHA1_32: same cipher text, 32-bit tag", () => {
      const srtp32 = srtp80.subarray(0, srtp80.length - 6);
      const ctx = new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_32", masterKey: MASTER_KEY, masterSalt: MASTER_SALT });
      assert.equal(ctx.protectRtp(plainRtp).toString("hex"), srtp32.toString("hex"));
      const rx = new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_32", masterKey: MASTER_KEY, masterSalt: MASTER_SALT });
      assert.equal(rx.unprotectRtp(srtp32)?.toString("hex"), plainRtp.toString("hex"));
      // An 80-bit receiver does not take a 32-bit packet.
      const rx80 = new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_80", masterKey: MASTER_KEY, masterSalt: MASTER_SALT });
      assert.equal(rx80.unprotectRtp(srtp32), null);
    });

    it("SRTCP: index 0 then 1 with the E flag; index 1 is the reference packet", () => {
      const plain = hex("81c8000bcafebabe abababababababababababababababab");
      const expected = hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798");
      for (const suite of ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"] as const) {
        const ctx = new SrtpContext({ suite, masterKey: MASTER_KEY, masterSalt: MASTER_SALT });
        const first = ctx.protectRtcp(plain);
        assert.equal(first.readUInt32BE(plain.length), 0x80000000, "first SRTCP index is 0, E set");
        // SRTCP keeps an 80-bit tag under the _32 suite (RFC 4568 section 6.2).
        assert.equal(ctx.protectRtcp(plain).toString("hex"), expected.toString("hex"), suite);
        const rx = new SrtpContext({ suite, masterKey: MASTER_KEY, masterSalt: MASTER_SALT });
        assert.equal(rx.unprotectRtcp(expected)?.toString("hex"), plain.toString("hex"));
        assert.equal(rx.unprotectRtcp(first)?.toString("hex"), plain.toString("hex"));
      }
    });
  });

  it("round-trips packets with CSRCs, a header extension and padding (header in the clear, payload not)", () => {
    const { tx, rx } = pair();
    const payload = Buffer.from("the quick brown fox jumps over the lazy dog");
    const packet = serializeRtp(
      {
        payloadType: 8,
        sequenceNumber: 7,
        timestamp: 1,
        ssrc: 9,
        csrcs: [1, 2],
        headerExtension: { profile: 0xbede, data: Buffer.alloc(8, 3) },
        paddingBytes: 4,
      },
      payload,
    );
    const copy = Buffer.from(packet);
    const s = tx.protectRtp(packet);
    assert.deepEqual(packet, copy, "input untouched");
    assert.equal(s.length, packet.length + 10);
    const headerLen = 12 + 8 + 4 + 8;
    assert.deepEqual(s.subarray(0, headerLen), packet.subarray(0, headerLen));
    assert.ok(!s.subarray(headerLen, packet.length).equals(packet.subarray(headerLen)), "payload encrypted");
    assert.deepEqual(rx.unprotectRtp(s), packet);
  });

  it("rejects a packet with any single bit flipped (header, payload or tag)", () => {
    const { tx, rx } = pair();
    const s = tx.protectRtp(rtp(100, 5, Buffer.from("abcdefgh")));
    for (let bit = 0; bit < s.length * 8; bit++) {
      const t = Buffer.from(s);
      t[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(rx.unprotectRtp(t), null, `bit ${bit}`);
    }
    assert.equal(rx.rtpStreamCount, 0, "no state from forged packets");
    assert.ok(rx.unprotectRtp(s), "the genuine packet still passes");
  });

  it("rejects a packet under another key and truncated or junk input, without throwing", () => {
    const a = pair();
    const b = pair();
    assert.equal(b.rx.unprotectRtp(a.tx.protectRtp(rtp(1))), null);
    const s = a.tx.protectRtp(rtp(2));
    for (let n = 0; n < s.length; n++) assert.equal(a.rx.unprotectRtp(s.subarray(0, n)), null);
    for (let i = 0; i < 2000; i++) {
      const junk = randomBytes(i % 200);
      if (i % 2) junk[0] = 0x80 | (junk[0] & 0x3f);
      assert.equal(a.rx.unprotectRtp(junk), null);
      assert.equal(a.rx.unprotectRtcp(junk), null);
    }
    for (const v of [undefined, null, "x", 5, {}, [1, 2, 3]]) {
      assert.equal(a.rx.unprotectRtp(v as Buffer), null);
      assert.equal(a.rx.unprotectRtcp(v as Buffer), null);
    }
    assert.ok(a.rx.unprotectRtp(s));
  });

  it("rejects replays and packets older than the window, accepts reordering inside it once", () => {
    const { tx, rx } = pair();
    const sent = new Map<number, Buffer>();
    for (let seq = 1000; seq < 1000 + SRTP_REPLAY_WINDOW + 50; seq++) sent.set(seq, tx.protectRtp(rtp(seq)));
    const get = (seq: number) => sent.get(seq) as Buffer;
    assert.ok(rx.unprotectRtp(get(1000)));
    assert.equal(rx.unprotectRtp(get(1000)), null, "exact replay");
    assert.ok(rx.unprotectRtp(get(1005)));
    assert.ok(rx.unprotectRtp(get(1003)), "late but inside the window");
    assert.equal(rx.unprotectRtp(get(1003)), null, "late replay");
    const top = 1000 + SRTP_REPLAY_WINDOW + 10;
    assert.ok(rx.unprotectRtp(get(top)));
    assert.ok(rx.unprotectRtp(get(top - SRTP_REPLAY_WINDOW + 1)), "oldest slot still in the window");
    assert.equal(rx.unprotectRtp(get(top - SRTP_REPLAY_WINDOW)), null, "just out of the window");
    assert.equal(rx.unprotectRtp(get(1001)), null, "far too old");
    assert.equal(rx.unprotectRtp(get(top)), null);
  });

  it("estimates the packet index per RFC 3711 Appendix A", () => {
    assert.equal(estimateSrtpIndex(-1, 5), 5);
    assert.equal(estimateSrtpIndex(65535, 0), 65536, "wrap: ROC + 1");
    assert.equal(estimateSrtpIndex(65536 + 2, 65534), 65534, "late packet from before the wrap: ROC - 1");
    assert.equal(estimateSrtpIndex(3 * 65536 + 40000, 100), 4 * 65536 + 100);
    assert.equal(estimateSrtpIndex(3 * 65536 + 100, 60000), 2 * 65536 + 60000);
    assert.equal(estimateSrtpIndex(100, 60000), -1, "no cycle before ROC 0");
  });

  it("carries the rollover counter across 65535 -> 0 with packets reordered around the wrap", () => {
    const { tx, rx, masterKey, masterSalt } = pair();
    const seqs = [65528, 65529, 65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4, 5, 6, 7];
    const plain = seqs.map((s) => rtp(s));
    const prot = plain.map((p) => tx.protectRtp(p));
    // Receive out of order around the wrap.
    const order = [0, 1, 2, 3, 4, 6, 8, 5, 7, 10, 9, 11, 14, 12, 13, 15];
    for (const i of order) assert.deepEqual(rx.unprotectRtp(prot[i]), plain[i], `seq ${seqs[i]}`);

    // Independent check of the packet after the wrap: tag over packet||ROC=1,
    // payload under index 65536 (node's own AES-CTR and HMAC, not the module's).
    const k = deriveSessionKeys(masterKey, masterSalt, false);
    const afterWrap = prot[seqs.indexOf(2)];
    const body = afterWrap.subarray(0, afterWrap.length - 10);
    const roc = Buffer.from([0, 0, 0, 1]);
    const tag = createHmac("sha1", k.authKey).update(body).update(roc).digest().subarray(0, 10);
    assert.deepEqual(afterWrap.subarray(afterWrap.length - 10), tag);
    const iv = Buffer.alloc(16);
    k.cipherSalt.copy(iv);
    const ssrcIdx = Buffer.alloc(16);
    ssrcIdx.writeUInt32BE(0x11223344, 4);
    ssrcIdx.writeUInt32BE(1, 8); // index 65536 + 2 = 0x0000_0001_0002 at bytes 8..13
    ssrcIdx.writeUInt16BE(2, 12);
    for (let i = 0; i < 16; i++) iv[i] ^= ssrcIdx[i];
    const dec = createCipheriv("aes-128-ctr", k.cipherKey, iv).update(body.subarray(12));
    assert.deepEqual(dec, plain[seqs.indexOf(2)].subarray(12));

    // A receiver that never saw the wrap (ROC 0) cannot take it.
    const fresh = new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_80", masterKey, masterSalt });
    assert.equal(fresh.unprotectRtp(afterWrap), null);
    // Late packets from before the wrap still replay-protected after it.
    assert.equal(rx.unprotectRtp(prot[7]), null);
  });

  it("keeps receive state bounded, evicting the least recently used stream", () => {
    const { rx, masterKey, masterSalt } = pair();
    // One sending context per SSRC (a sender refuses more than SRTP_MAX_STREAMS, see below).
    const senders = new Map<number, SrtpContext>();
    const tx = (ssrc: number) => {
      let c = senders.get(ssrc);
      if (!c) senders.set(ssrc, (c = new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_80", masterKey, masterSalt })));
      return c;
    };
    const early = tx(1).protectRtp(rtp(5, 1));
    assert.ok(rx.unprotectRtp(early));
    for (let ssrc = 1; ssrc <= SRTP_MAX_STREAMS + 5; ssrc++) {
      assert.ok(rx.unprotectRtp(tx(ssrc).protectRtp(rtp(10, ssrc))));
      assert.ok(rx.unprotectRtcp(tx(ssrc).protectRtcp(rtcp(ssrc))));
      // Keep SSRC 1 busy so it is never the eviction victim.
      assert.ok(rx.unprotectRtp(tx(1).protectRtp(rtp(10 + ssrc, 1))));
    }
    assert.equal(rx.rtpStreamCount, SRTP_MAX_STREAMS);
    assert.equal(rx.rtcpStreamCount, SRTP_MAX_STREAMS);
    assert.ok(rx.unprotectRtp(tx(1).protectRtp(rtp(100, 1))), "the busy stream survived");
    // Its replay window too: an evicted stream would start afresh and take the old packet again.
    assert.equal(rx.unprotectRtp(early), null, "the busy stream kept its replay state");
  });

  it("a sending context refuses an SSRC past SRTP_MAX_STREAMS rather than forget a ROC or SRTCP index", () => {
    const { tx } = pair();
    for (let ssrc = 1; ssrc <= SRTP_MAX_STREAMS; ssrc++) {
      tx.protectRtp(rtp(10, ssrc));
      tx.protectRtcp(rtcp(ssrc));
    }
    assert.throws(() => tx.protectRtp(rtp(1, 999)), RangeError);
    assert.throws(() => tx.protectRtcp(rtcp(999)), RangeError);
    assert.equal(tx.rtpStreamCount, SRTP_MAX_STREAMS);
    assert.equal(tx.rtcpStreamCount, SRTP_MAX_STREAMS);
    // The first stream's state is intact: its next SRTCP index is 1.
    assert.equal(tx.protectRtcp(rtcp(1)).readUInt32BE(rtcp(1).length), 0x80000001);
  });

  it("SRTCP round trip: encrypted, authenticated, replay-protected, tamper-evident", () => {
    const { tx, rx } = pair("AES_CM_128_HMAC_SHA1_32");
    const plain = rtcp();
    const packets = [0, 1, 2, 3].map(() => tx.protectRtcp(plain));
    assert.equal(packets[0].length, plain.length + 4 + 10);
    assert.deepEqual(packets[0].subarray(0, 8), plain.subarray(0, 8), "first 8 octets in the clear");
    assert.ok(!packets[0].subarray(8, plain.length).equals(plain.subarray(8)), "rest encrypted");
    assert.deepEqual(
      packets.map((p) => p.readUInt32BE(plain.length)),
      [0x80000000, 0x80000001, 0x80000002, 0x80000003],
    );
    assert.deepEqual(rx.unprotectRtcp(packets[2]), plain);
    assert.deepEqual(rx.unprotectRtcp(packets[0]), plain, "reordered");
    assert.equal(rx.unprotectRtcp(packets[2]), null, "replay");
    for (let bit = 0; bit < packets[3].length * 8; bit++) {
      const t = Buffer.from(packets[3]);
      t[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(rx.unprotectRtcp(t), null, `bit ${bit}`);
    }
    assert.deepEqual(rx.unprotectRtcp(packets[3]), plain);
  });

  it("accepts an authenticated SRTCP packet sent unencrypted (E = 0)", () => {
    const { rx, masterKey, masterSalt } = pair();
    const k = deriveSessionKeys(masterKey, masterSalt, true);
    const plain = rtcp();
    const body = Buffer.concat([plain, Buffer.from([0, 0, 0, 7])]);
    const tag = createHmac("sha1", k.authKey).update(body).digest().subarray(0, 10);
    assert.deepEqual(rx.unprotectRtcp(Buffer.concat([body, tag])), plain);
  });

  it("SRTCP under _32: sends RFC 4568's 80-bit tag, also takes libre's 32-bit tag, and can send it", () => {
    const plain = hex("81c8000bcafebabe abababababababababababababababab");
    const short = hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd");
    const opts = { suite: "AES_CM_128_HMAC_SHA1_32", masterKey: MASTER_KEY, masterSalt: MASTER_SALT } as const;
    const libreLike = new SrtpContext({ ...opts, srtcpShortTag: true });
    libreLike.protectRtcp(plain);
    assert.equal(libreLike.protectRtcp(plain).toString("hex"), short.toString("hex"));
    const rx = new SrtpContext(opts);
    assert.equal(rx.shortSrtcpTagSeen, false);
    assert.deepEqual(rx.unprotectRtcp(short), plain);
    assert.equal(rx.shortSrtcpTagSeen, true);
    assert.equal(rx.unprotectRtcp(short), null, "replay under the short tag");
    for (let bit = 0; bit < short.length * 8; bit++) {
      const t = Buffer.from(short);
      t[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(new SrtpContext(opts).unprotectRtcp(t), null, `bit ${bit}`);
    }
    // Under _80 there is no short form: neither sent nor taken.
    const tx80 = new SrtpContext({ ...opts, suite: "AES_CM_128_HMAC_SHA1_80", srtcpShortTag: true });
    const full = tx80.protectRtcp(plain);
    assert.equal(full.length, plain.length + 4 + 10);
    const rx80 = new SrtpContext({ ...opts, suite: "AES_CM_128_HMAC_SHA1_80" });
    assert.equal(rx80.unprotectRtcp(full.subarray(0, full.length - 6)), null);
    assert.deepEqual(rx80.unprotectRtcp(full), plain);
  });

  it("carries and checks an MKI", () => {
    const mki = Buffer.from([0, 1]);
    const { tx, rx, masterKey, masterSalt } = pair("AES_CM_128_HMAC_SHA1_80", mki);
    const s = tx.protectRtp(rtp(1));
    assert.equal(s.length, rtp(1).length + 2 + 10);
    assert.deepEqual(s.subarray(s.length - 12, s.length - 10), mki);
    // Same key, other MKI: refused (the MKI names the key the packet was made with).
    const other = new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_80", masterKey, masterSalt, mki: Buffer.from([0, 2]) });
    assert.equal(other.unprotectRtp(s), null);
    assert.equal(other.unprotectRtcp(tx.protectRtcp(rtcp())), null);
    assert.deepEqual(rx.unprotectRtp(s), rtp(1));
    const c = tx.protectRtcp(rtcp());
    assert.deepEqual(rx.unprotectRtcp(c), rtcp());
  });

  it("a sender refuses a sequence number that does not advance (keystream reuse)", () => {
    const { tx, rx } = pair();
    assert.ok(rx.unprotectRtp(tx.protectRtp(rtp(10))));
    assert.throws(() => tx.protectRtp(rtp(10)), RangeError, "same seq again");
    assert.throws(() => tx.protectRtp(rtp(9)), RangeError, "backwards");
    assert.throws(() => tx.protectRtp(rtp(40000)), RangeError, "a jump the receiver would read as the previous cycle");
    assert.ok(rx.unprotectRtp(tx.protectRtp(rtp(11))), "the stream goes on");
  });

  it("refuses bad keys and malformed packets to protect with RangeError", () => {
    assert.throws(() => new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_80", masterKey: Buffer.alloc(15), masterSalt: Buffer.alloc(14) }), RangeError);
    assert.throws(() => new SrtpContext({ suite: "AES_CM_128_HMAC_SHA1_80", masterKey: Buffer.alloc(16), masterSalt: Buffer.alloc(12) }), RangeError);
    assert.throws(
      () => new SrtpContext({ suite: "F8_128_HMAC_SHA1_80" as SrtpSuite, masterKey: Buffer.alloc(16), masterSalt: Buffer.alloc(14) }),
      RangeError,
    );
    const { tx } = pair();
    assert.throws(() => tx.protectRtp(Buffer.alloc(5)), RangeError);
    // Header longer than the packet: 15 CSRCs announced, none present; an extension past the end.
    assert.throws(() => tx.protectRtp(Buffer.from([0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4])), RangeError);
    assert.throws(() => tx.protectRtp(Buffer.from([0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9])), RangeError);
    assert.throws(() => tx.protectRtcp(Buffer.alloc(5)), RangeError);
  });
});
