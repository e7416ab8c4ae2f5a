// RFC 3263 / RFC 2782 ordering and the ServerLocator, against a scripted DNS client.
import assert from "assert";
import {
  AddressRecord,
  DnsClient,
  MAX_DNS_TTL_SECONDS,
  MAX_SERVER_TARGETS,
  MIN_DNS_TTL_SECONDS,
  NaptrRecord,
  ServerLocator,
  SrvRecord,
  boundTtl,
  naptrSrvNames,
  orderSrv,
  srvName,
} from "../../../src/sip/server-location";
import { hasPort } from "../../../src/sip/dns-resolve";
import { SipTransport } from "../../../src/sip/sip-transport";
import { waitFor } from "../../support/wait";

/** A DNS client answering from tables; every question is recorded. */
function fakeDns(zone: { naptr?: Record<string, NaptrRecord[]>; srv?: Record<string, SrvRecord[]>; a?: Record<string, AddressRecord[]> }) {
  const asked: string[] = [];
  const answer = <T>(kind: string, table: Record<string, T[]> | undefined, name: string): Promise<T[]> => {
    asked.push(`${kind} ${name}`);
    const r = table?.[name];
    return r ? Promise.resolve(r) : Promise.reject(Object.assign(new Error(`queryX ENOTFOUND ${name}`), { code: "ENOTFOUND" }));
  };
  const dns: DnsClient = {
    naptr: (n) => answer("NAPTR", zone.naptr, n),
    srv: (n) => answer("SRV", zone.srv, n),
    addresses: (n) => answer("A", zone.a, n),
  };
  return { dns, asked, zone };
}

const srv = (name: string, port: number, priority: number, weight: number): SrvRecord => ({ name, port, priority, weight });
/** Random numbers from a list, in turn. */
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

describe("RFC 3263 server location", () => {
  describe("orderSrv (RFC 2782)", () => {
    it("lowest priority first, whatever the weights", () => {
      const out = orderSrv([srv("c", 1, 30, 100), srv("a", 1, 10, 0), srv("b", 1, 20, 50)], draws(0.99));
      assert.deepStrictEqual(
        out.map((r) => r.name),
        ["a", "b", "c"],
      );
    });

    it("within a priority, a weighted draw: the running sum picks the first record at or above it", () => {
      const group = [srv("w10", 1, 5, 10), srv("w30", 1, 5, 30), srv("w60", 1, 5, 60)];
      // total 100: draw 5 → w10 (sum 10); then total 90 over [w30, w60]: draw 0.5·90 = 45 → w60 (30, 90)
      assert.deepStrictEqual(
        orderSrv(group, draws(0.05, 0.5)).map((r) => r.name),
        ["w10", "w60", "w30"],
      );
      // draw 0.95·100 = 95 → w60; then 0.2·40 = 8 → w10
      assert.deepStrictEqual(
        orderSrv(group, draws(0.95, 0.2)).map((r) => r.name),
        ["w60", "w10", "w30"],
      );
    });

    it("weights steer the draw in proportion (many draws with a seeded generator)", () => {
      let seed = 42;
      const lcg = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const first: Record<string, number> = { heavy: 0, light: 0 };
      for (let i = 0; i < 4000; i++) first[orderSrv([srv("light", 1, 1, 1), srv("heavy", 1, 1, 3)], lcg)[0].name]++;
      const share = first.heavy / 4000;
      assert.ok(share > 0.7 && share < 0.8, `heavy first in ${share} of draws (expected ≈ 0.75)`);
    });

    it("a weight-0 record is picked first only on a draw of 0", () => {
      const group = [srv("heavy", 1, 1, 10), srv("zero", 1, 1, 0)];
      assert.deepStrictEqual(
        orderSrv(group, draws(0)).map((r) => r.name),
        ["zero", "heavy"],
      );
      assert.deepStrictEqual(
        orderSrv(group, draws(0.01)).map((r) => r.name),
        ["heavy", "zero"],
      );
    });

    it('drops records that cannot be used: target ".", bad ports; bounds the count', () => {
      const out = orderSrv([srv(".", 5060, 1, 1), srv("ok", 5060, 1, 1), srv("zero", 0, 1, 1), srv("big", 70000, 1, 1), srv("frac", 50.5, 1, 1)]);
      assert.deepStrictEqual(
        out.map((r) => r.name),
        ["ok"],
      );
      const many = Array.from({ length: 100 }, (_, i) => srv(`h${i}`, 5060, i, 1));
      assert.strictEqual(orderSrv(many).length, 16);
    });
  });

  it("NAPTR: only the configured transport's records, in order then preference", () => {
    const n = (service: string, order: number, preference: number, replacement: string, flags = "S"): NaptrRecord => ({
      flags,
      service,
      regexp: "",
      replacement,
      order,
      preference,
    });
    const records = [
      n("SIP+D2U", 20, 10, "_sip._udp.b"),
      n("SIP+D2T", 10, 10, "_sip._tcp.x"),
      n("SIP+D2U", 10, 20, "_sip._udp.a"),
      n("SIP+D2U", 5, 1, "u", "U"),
      n("SIP+D2U", 30, 1, ""),
    ];
    assert.deepStrictEqual(naptrSrvNames(records, "udp"), ["_sip._udp.a", "_sip._udp.b"]);
    assert.deepStrictEqual(naptrSrvNames(records, "tcp"), ["_sip._tcp.x"]);
    assert.deepStrictEqual(naptrSrvNames(records, "ws"), []);
    assert.strictEqual(srvName("tls", "example.org"), "_sips._tcp.example.org");
    assert.strictEqual(srvName("wss", "example.org"), undefined);
  });

  it("a port is given when the text carries one (then no SRV)", () => {
    assert.strictEqual(hasPort("proxy.example.org"), false);
    assert.strictEqual(hasPort("proxy.example.org:5080"), true);
    assert.strictEqual(hasPort("sip:proxy.example.org;lr"), false);
    assert.strictEqual(hasPort("[2001:db8::1]"), false);
    assert.strictEqual(hasPort("[2001:db8::1]:5062"), true);
    assert.strictEqual(hasPort("2001:db8::1"), false);
  });

  it("TTL bounds", () => {
    assert.strictEqual(boundTtl([]), MIN_DNS_TTL_SECONDS);
    assert.strictEqual(boundTtl([0, 500]), MIN_DNS_TTL_SECONDS);
    assert.strictEqual(boundTtl([600, 300]), 300);
    assert.strictEqual(boundTtl([10 ** 9]), MAX_DNS_TTL_SECONDS);
  });

  describe("ServerLocator", () => {
    const zone = () =>
      fakeDns({
        naptr: { "example.org": [{ flags: "s", service: "SIP+D2U", regexp: "", replacement: "_sip._udp.pbx.example.org", order: 1, preference: 1 }] },
        srv: { "_sip._udp.pbx.example.org": [srv("b.example.org", 5080, 20, 0), srv("a.example.org", 5070, 10, 0)] },
        a: {
          "a.example.org": [
            { address: "192.0.2.1", ttl: 300 },
            { address: "2001:db8::1", ttl: 600 },
          ],
          "b.example.org": [{ address: "192.0.2.2", ttl: 120 }],
          "example.org": [{ address: "192.0.2.9", ttl: 60 }],
        },
      });

    it("no port: NAPTR → SRV → every address of every target, in SRV order", async () => {
      const { dns, asked } = zone();
      const loc = new ServerLocator({ host: "example.org", transport: "udp", defaultPort: 5060, dns });
      assert.deepStrictEqual(await loc.current(), { name: "a.example.org", address: "192.0.2.1", port: 5070 });
      assert.deepStrictEqual(
        loc.all.map((t) => `${t.address}:${t.port}`),
        ["192.0.2.1:5070", "2001:db8::1:5070", "192.0.2.2:5080"],
      );
      assert.deepStrictEqual(asked, ["NAPTR example.org", "SRV _sip._udp.pbx.example.org", "A a.example.org", "A b.example.org"]);
    });

    it("no NAPTR: the transport's usual SRV name; no SRV: A on the default port", async () => {
      const f = fakeDns({
        srv: { "_sips._tcp.example.org": [srv("t.example.org", 5071, 1, 0)] },
        a: { "t.example.org": [{ address: "192.0.2.7" }], "example.org": [{ address: "192.0.2.9" }] },
      });
      const tls = new ServerLocator({ host: "example.org", transport: "tls", defaultPort: 5061, dns: f.dns });
      assert.deepStrictEqual(await tls.current(), { name: "t.example.org", address: "192.0.2.7", port: 5071 });
      const tcp = new ServerLocator({ host: "example.org", transport: "tcp", defaultPort: 5060, dns: f.dns });
      assert.deepStrictEqual(await tcp.current(), { name: "example.org", address: "192.0.2.9", port: 5060 });
      assert.ok(f.asked.includes("SRV _sip._tcp.example.org"));
    });

    it("a port given, an IP literal, or ws/wss: no NAPTR/SRV question", async () => {
      const { dns, asked } = zone();
      assert.deepStrictEqual(await new ServerLocator({ host: "example.org", port: 5090, transport: "udp", defaultPort: 5090, dns }).current(), {
        name: "example.org",
        address: "192.0.2.9",
        port: 5090,
      });
      assert.deepStrictEqual(await new ServerLocator({ host: "[2001:db8::5]", transport: "udp", defaultPort: 5060, dns }).current(), {
        name: "2001:db8::5",
        address: "2001:db8::5",
        port: 5060,
      });
      assert.deepStrictEqual(await new ServerLocator({ host: "example.org", transport: "wss", defaultPort: 443, dns }).current(), {
        name: "example.org",
        address: "192.0.2.9",
        port: 443,
      });
      assert.deepStrictEqual(asked, ["A example.org", "A example.org"]);
    });

    it("nothing resolves: a readable error", async () => {
      const { dns } = fakeDns({});
      await assert.rejects(
        new ServerLocator({ host: "nowhere.example", transport: "udp", defaultPort: 5060, dns }).current(),
        /^SipError: DNS: no SRV\/A record for nowhere\.example$/,
      );
      await assert.rejects(
        new ServerLocator({ host: "nowhere.example", port: 5060, transport: "udp", defaultPort: 5060, dns }).current(),
        /DNS: no A\/AAAA record for nowhere\.example/,
      );
    });

    it("fail-over: next target at once, then the round ends with one reason and starts over", async () => {
      const { dns } = zone();
      const loc = new ServerLocator({ host: "example.org", transport: "udp", defaultPort: 5060, dns });
      await loc.current();
      const v1 = loc.failed("timeout");
      assert.deepStrictEqual(v1, {
        retryNow: true,
        reason: "a.example.org (192.0.2.1:5070) failed (timeout), trying a.example.org ([2001:db8::1]:5070)",
      });
      assert.strictEqual((await loc.current()).address, "2001:db8::1");
      assert.strictEqual(loc.failed("timeout").retryNow, true);
      assert.strictEqual((await loc.current()).address, "192.0.2.2");
      assert.deepStrictEqual(loc.failed("timeout"), { retryNow: false, reason: "all 3 servers of example.org failed: timeout" });
      assert.strictEqual(loc.stale, true, "a failed round is resolved again");
      assert.strictEqual((await loc.current()).address, "192.0.2.1", "the next round starts at the best target");
    });

    it("an answer resets the round: a later failure moves on without ending it", async () => {
      const { dns } = zone();
      const loc = new ServerLocator({ host: "example.org", transport: "udp", defaultPort: 5060, dns });
      await loc.current();
      loc.failed("timeout");
      loc.failed("timeout");
      loc.answered(); // the third target answered; later it fails: two more tries in this round
      assert.strictEqual(loc.failed("timeout").retryNow, true);
      assert.strictEqual(loc.failed("timeout").retryNow, true);
      assert.strictEqual(loc.failed("timeout").retryNow, false);
    });

    it("a single address: the reason is left as it was (no fail-over wording)", async () => {
      const { dns } = zone();
      const loc = new ServerLocator({ host: "192.0.2.50", port: 5060, transport: "udp", defaultPort: 5060, dns });
      await loc.current();
      assert.deepStrictEqual(loc.failed("connection refused"), { retryNow: false, reason: "connection refused" });
    });

    it("re-resolves after the smallest TTL (bounded); keeps a target still listed, moves when it is gone", async () => {
      const f = zone();
      let now = 1_000_000;
      const loc = new ServerLocator({ host: "example.org", transport: "udp", defaultPort: 5060, dns: f.dns, now: () => now });
      await loc.current();
      loc.failed("timeout"); // on the second target now
      const asked = f.asked.length;
      now += 119_000;
      assert.strictEqual(loc.stale, false, "smallest TTL is 120 s");
      await loc.current();
      assert.strictEqual(f.asked.length, asked, "no question before the TTL ran out");
      now += 1000;
      assert.strictEqual(loc.stale, true);
      assert.strictEqual(await loc.refresh(), false, "its target is still listed: it stays");
      assert.strictEqual((await loc.current()).address, "2001:db8::1");
      f.zone.srv!["_sip._udp.pbx.example.org"] = [srv("b.example.org", 5080, 1, 0)];
      now += 121_000;
      assert.strictEqual(await loc.refresh(), true, "its target left the records: it moves");
      assert.deepStrictEqual(await loc.current(), { name: "b.example.org", address: "192.0.2.2", port: 5080 });
    });

    it("a DNS outage keeps the list it has, and asks again after MIN_DNS_TTL_SECONDS", async () => {
      const f = zone();
      let now = 0;
      const loc = new ServerLocator({ host: "example.org", transport: "udp", defaultPort: 5060, dns: f.dns, now: () => now });
      await loc.current();
      f.zone.srv = {};
      f.zone.a = {};
      now += 3600_000;
      assert.strictEqual(await loc.refresh(), false);
      assert.strictEqual((await loc.current()).address, "192.0.2.1");
      now += MIN_DNS_TTL_SECONDS * 1000 - 1;
      assert.strictEqual(loc.stale, false);
    });

    it("remote-controlled answers are bounded: targets, addresses per target", async () => {
      const names = Array.from({ length: 16 }, (_, i) => `h${i}.example.org`);
      const a: Record<string, AddressRecord[]> = {};
      for (const n of names) a[n] = Array.from({ length: 10 }, (_, i) => ({ address: `192.0.2.${i + 1}` }));
      const f = fakeDns({ srv: { "_sip._udp.example.org": names.map((n, i) => srv(n, 5060, i, 0)) }, a });
      const loc = new ServerLocator({ host: "example.org", transport: "udp", defaultPort: 5060, dns: f.dns });
      await loc.current();
      assert.strictEqual(loc.all.length, MAX_SERVER_TARGETS);
      assert.strictEqual(loc.all.filter((t) => t.name === "h0.example.org").length, 4);
    });

    it("garbage from the DNS client does not throw past the locator", async () => {
      const dns = {
        naptr: () =>
          Promise.resolve([
            null,
            { flags: null, service: 7 },
            { flags: "S", service: "SIP+D2U", replacement: "_sip._udp.y", order: "x" },
          ] as unknown as NaptrRecord[]),
        srv: () =>
          Promise.resolve([
            null,
            { name: "x.example.org", port: "5060", priority: 1, weight: 1 },
            { name: "y", port: 5060, priority: NaN, weight: 1 },
          ] as unknown as SrvRecord[]),
        addresses: () => Promise.resolve([{ address: "not an ip" }, null] as unknown as AddressRecord[]),
      } as DnsClient;
      await assert.rejects(new ServerLocator({ host: "example.org", transport: "udp", defaultPort: 5060, dns }).current(), /DNS: no SRV\/A record/);
    });
  });

  it("SipTransport: connects once when a fail-over retry and a reconnect ask at the same time (no leaked socket)", async () => {
    const t = new SipTransport({
      kind: "udp",
      nextHop: { host: "127.0.0.1", port: 9 },
      placeholder: "ph.invalid",
      keepAliveSeconds: 0,
      localAddress: "127.0.0.1",
    });
    const udpSockets = () => process.getActiveResourcesInfo().filter((r) => r === "UDPWrap").length;
    const before = udpSockets();
    try {
      await Promise.all([t.ensureConnected(), t.ensureConnected(), t.connect()]);
      assert.strictEqual(udpSockets() - before, 1, "one socket for three concurrent requests");
    } finally {
      await t.disconnect();
    }
    await waitFor(() => udpSockets() === before, 2000, "the socket closed"); // handles close on a later tick
  });
});
