import assert from "assert";
import { CidrList, parseCidr, cidrContains, canonicalAddress, addressBytes } from "../../../src/sip/cidr";

describe("CIDR matcher", () => {
  it("IPv4 blocks, bare addresses and /0", () => {
    const list = new CidrList(["192.168.1.0/24", "10.0.0.7", "172.16.0.0/12"]);
    assert.ok(list.contains("192.168.1.200"));
    assert.ok(!list.contains("192.168.2.1"));
    assert.ok(list.contains("10.0.0.7"));
    assert.ok(!list.contains("10.0.0.8"));
    assert.ok(list.contains("172.31.255.255"));
    assert.ok(!list.contains("172.32.0.0"));
    assert.ok(cidrContains(parseCidr("0.0.0.0/0"), "8.8.8.8"));
    assert.ok(cidrContains(parseCidr("127.0.0.2/32"), "127.0.0.2"));
    assert.ok(!cidrContains(parseCidr("127.0.0.2/32"), "127.0.0.3"));
    assert.ok(cidrContains(parseCidr("127.0.0.0/30"), "127.0.0.3"));
    assert.ok(!cidrContains(parseCidr("127.0.0.0/30"), "127.0.0.4"));
  });

  it("IPv6 blocks, compressed forms, and IPv4-mapped sources match IPv4 blocks", () => {
    const list = new CidrList(["fd00::/8", "2001:db8:1::/48", "::1"]);
    assert.ok(list.contains("fd12:3456::1"));
    assert.ok(!list.contains("fe80::1"));
    assert.ok(list.contains("2001:db8:1:ffff::2"));
    assert.ok(!list.contains("2001:db8:2::2"));
    assert.ok(list.contains("::1"));
    assert.ok(list.contains("[::1]"));
    assert.ok(!list.contains("127.0.0.1"), "an IPv6 block never matches IPv4");
    const v4 = new CidrList(["192.168.0.0/16"]);
    assert.ok(v4.contains("::ffff:192.168.3.4"));
    assert.ok(!v4.contains("::ffff:10.0.0.1"));
    assert.ok(new CidrList(["::ffff:10.0.0.0/104"]).contains("10.1.2.3"));
  });

  it("garbage never matches and never throws", () => {
    const list = new CidrList(["0.0.0.0/0", "::/0"]);
    for (const bad of ["", "x", "1.2.3", "999.1.1.1", "::g", "1:2:3:4:5:6:7:8:9", "%%%", "127.0.0.1\0"]) {
      assert.strictEqual(list.contains(bad), false, bad);
    }
  });

  it("an invalid block is a clear error at construction", () => {
    for (const bad of ["192.168.1.0/33", "fd00::/129", "192.168.1/24", "hello", "10.0.0.0/-1", "10.0.0.0/", "::ffff:10.0.0.0/64"]) {
      assert.throws(() => new CidrList([bad]), /invalid network/, bad);
    }
    assert.doesNotThrow(() => new CidrList(["", "  "]), "empty entries are ignored");
    assert.ok(new CidrList("10.0.0.0/8,\n 192.168.1.0/24").contains("192.168.1.9"), "the editor's text form");
  });

  it("canonical address text", () => {
    assert.strictEqual(canonicalAddress("::ffff:127.0.0.1"), "127.0.0.1");
    assert.strictEqual(canonicalAddress("0:0:0:0:0:0:0:1"), canonicalAddress("::1"));
    assert.deepStrictEqual(addressBytes("::ffff:1.2.3.4"), { v6: false, bytes: [1, 2, 3, 4] });
    assert.deepStrictEqual(addressBytes("1::")?.bytes.slice(0, 2), [0, 1]);
  });
});
