import assert from "node:assert/strict";
import { parseRtp, serializeRtp } from "../../../src/media/rtp-packet.js";

describe("media/rtp-packet", () => {
  it("parses a hand-made header", () => {
    const buf = Buffer.from([0x80, 0xe5, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb]);
    const p = parseRtp(buf);
    assert.ok(p);
    assert.equal(p.version, 2);
    assert.equal(p.padding, false);
    assert.equal(p.extension, false);
    assert.equal(p.csrcCount, 0);
    assert.equal(p.marker, true);
    assert.equal(p.payloadType, 101);
    assert.equal(p.sequenceNumber, 0x1234);
    assert.equal(p.timestamp, 0xdeadbeef);
    assert.equal(p.ssrc, 0x01020304);
    assert.deepEqual([...p.payload], [0xaa, 0xbb]);
  });

  it("serializes the fixed header bit for bit", () => {
    const out = serializeRtp({ marker: false, payloadType: 8, sequenceNumber: 1, timestamp: 160, ssrc: 0x11223344 }, Buffer.from([1, 2, 3]));
    assert.deepEqual([...out], [0x80, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44, 1, 2, 3]);
  });

  it("round-trips CSRCs, header extension and padding", () => {
    const payload = Buffer.from("hello");
    const ext = { profile: 0xbede, data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]) };
    const out = serializeRtp(
      { marker: true, payloadType: 0, sequenceNumber: 65535, timestamp: 0xffffffff, ssrc: 42, csrcs: [7, 8], headerExtension: ext, paddingBytes: 3 },
      payload,
    );
    assert.equal(out.length, 12 + 8 + 12 + 5 + 3);
    const p = parseRtp(out);
    assert.ok(p);
    assert.equal(p.padding, true);
    assert.equal(p.extension, true);
    assert.equal(p.csrcCount, 2);
    assert.deepEqual(p.csrcs, [7, 8]);
    assert.equal(p.headerExtension?.profile, 0xbede);
    assert.deepEqual([...(p.headerExtension?.data ?? [])], [...ext.data]);
    assert.equal(p.payload.toString(), "hello");
    assert.equal(p.sequenceNumber, 65535);
    assert.equal(p.timestamp, 0xffffffff);
    assert.equal(p.marker, true);
  });

  it("wraps sequence number and timestamp instead of failing", () => {
    const p = parseRtp(serializeRtp({ payloadType: 0, sequenceNumber: 65536 + 3, timestamp: 2 ** 32 + 5, ssrc: 2 ** 32 - 1 }, Buffer.alloc(0)));
    assert.ok(p);
    assert.equal(p.sequenceNumber, 3);
    assert.equal(p.timestamp, 5);
    assert.equal(p.ssrc, 2 ** 32 - 1);
    assert.equal(p.payload.length, 0);
  });

  it("rejects bad header values when serializing", () => {
    assert.throws(() => serializeRtp({ payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0 }, Buffer.alloc(0)), RangeError);
    assert.throws(
      () =>
        serializeRtp(
          { payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, headerExtension: { profile: 1, data: Buffer.alloc(3) } },
          Buffer.alloc(0),
        ),
      RangeError,
    );
  });

  describe("malformed input returns null", () => {
    const good = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3 }, Buffer.alloc(160, 0xff));
    const cases: [string, Buffer][] = [
      ["empty", Buffer.alloc(0)],
      ["shorter than the fixed header", good.subarray(0, 11)],
      ["version 1", Buffer.concat([Buffer.from([0x40]), good.subarray(1)])],
      ["version 0 (e.g. STUN)", Buffer.concat([Buffer.from([0x00]), good.subarray(1)])],
      ["CSRC count beyond the packet", Buffer.concat([Buffer.from([0x8f]), good.subarray(1, 20)])],
      ["extension header cut off", Buffer.concat([Buffer.from([0x90]), good.subarray(1, 14)])],
      ["extension length beyond the packet", Buffer.from([0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0x00, 0x09, 1, 2, 3, 4])],
      ["padding count 0", Buffer.concat([Buffer.from([0xa0]), good.subarray(1, 20), Buffer.from([0])])],
      ["padding count larger than payload", Buffer.concat([Buffer.from([0xa0]), good.subarray(1, 12), Buffer.from([1, 2, 9])])],
      ["padding bit without payload", Buffer.concat([Buffer.from([0xa0]), good.subarray(1, 12)])],
    ];
    for (const [name, buf] of cases) {
      it(name, () => assert.equal(parseRtp(buf), null));
    }
    it("non-Buffer input", () => assert.equal(parseRtp("nope" as unknown as Buffer), null));
  });

  it("never throws on random bytes and keeps the payload inside the packet", () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    let parsed = 0;
    for (let i = 0; i < 20000; i++) {
      const buf = Buffer.alloc(rand() % 64);
      for (let j = 0; j < buf.length; j++) buf[j] = rand() & 0xff;
      if (buf.length > 0 && i % 2 === 0) buf[0] = (buf[0] & 0x3f) | 0x80; // force version 2 half the time
      const p = parseRtp(buf);
      if (p) {
        parsed++;
        assert.ok(p.payload.byteOffset >= buf.byteOffset && p.payload.byteOffset + p.payload.length <= buf.byteOffset + buf.length);
      }
    }
    assert.ok(parsed > 0, "some random packets should be valid");
  });
});
