// RFC 3263 server location against a real DNS server (dnsmasq on 127.0.0.1, no upstream) and a
// real Kamailio. Every name is under ".test" and answered by that dnsmasq only: no query leaves
// the machine (AccountOptions.dnsServers, a test-only option, points the client at it).
import assert from "assert";
import dgram from "dgram";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startDnsmasq, Dnsmasq, DnsmasqOptions } from "../support/dnsmasq";
import { createLossyRelay } from "../support/lossy-relay";
import { freePort, releasePort } from "../support/ports";
import { waitFor } from "../support/wait";
import { Phone } from "../../src/phone/phone";
import { AccountOptions } from "../../src/phone/account";
import { RegistrationState } from "../../src/types";

interface Watched {
  phone: Phone;
  states: Array<{ state: RegistrationState; reason?: string; at: number }>;
  logs: string[];
}

describe("RFC 3263: the server located through DNS (dnsmasq + Kamailio)", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  const phones: Phone[] = [];
  const servers: Dnsmasq[] = [];

  const dnsmasq = async (opts: DnsmasqOptions) => {
    const d = await startDnsmasq(opts);
    servers.push(d);
    return d;
  };
  const make = (dns: Dnsmasq, over: Partial<AccountOptions>): Watched => {
    const phone = new Phone({ server: "example.test", username: "alice", password: "secret", expires: 60, dnsServers: [dns.server], ...over });
    const w: Watched = { phone, states: [], logs: [] };
    phone.on("registration", (state, d) => w.states.push({ state, reason: d.reason, at: Date.now() }));
    phone.on("log", (level, text) => w.logs.push(`${level}: ${text}`));
    phones.push(phone);
    return w;
  };
  const registered = (w: Watched) => w.phone.registrationState === "REGISTERED";
  const binding = async () => (await kam.ulDump()).filter((b) => b.aor === "alice");

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret" } });
  });
  after(async () => {
    await kam?.stop();
  });
  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.stop()));
    await Promise.all(servers.splice(0).map((d) => d.stop()));
    await kam.removeBindings("alice").catch(() => undefined);
  });

  it("registers through NAPTR → SRV → A (no port configured), the binding is in Kamailio", async () => {
    const dns = await dnsmasq({
      naptr: [
        { name: "example.test", order: 10, preference: 10, flags: "S", service: "SIP+D2T", replacement: "_sip._tcp.elsewhere.test" },
        { name: "example.test", order: 20, preference: 10, flags: "S", service: "SIP+D2U", replacement: "_sip._udp.pbx.example.test" },
      ],
      srv: [{ name: "_sip._udp.pbx.example.test", target: "sip1.example.test", port: kam.ports.udp, priority: 10, weight: 10 }],
      hosts: [{ name: "sip1.example.test", address: "127.0.0.1" }],
    });
    const w = make(dns, { transport: "udp" });
    const t0 = Date.now();
    await w.phone.start();
    await waitFor(() => registered(w), 10_000, "REGISTERED");
    console.log(`      time to REGISTERED through NAPTR/SRV: ${Date.now() - t0} ms`);
    assert.deepStrictEqual(w.phone.transport.nextHop, { address: "127.0.0.1", port: kam.ports.udp });
    const q = dns.queries();
    assert.ok(q.includes("NAPTR example.test"), q.join(", "));
    assert.ok(q.includes("SRV _sip._udp.pbx.example.test"), `the NAPTR record for UDP named the SRV: ${q.join(", ")}`);
    assert.ok(!q.some((x) => x.includes("elsewhere")), "the NAPTR record of another transport is ignored");
    assert.ok(q.includes("A sip1.example.test"), q.join(", "));
    assert.strictEqual((await binding()).length, 1);
  });

  it("SRV over TCP: the higher-priority target refuses the connection → the second one, REGISTERED", async () => {
    const dead = await freePort("tcp");
    const dns = await dnsmasq({
      srv: [
        { name: "_sip._tcp.example.test", target: "dead.example.test", port: dead, priority: 10, weight: 10 },
        { name: "_sip._tcp.example.test", target: "live.example.test", port: kam.ports.tcp, priority: 20, weight: 10 },
      ],
      hosts: [
        { name: "dead.example.test", address: "127.0.0.1" },
        { name: "live.example.test", address: "127.0.0.1" },
      ],
    });
    const w = make(dns, { transport: "tcp" });
    const t0 = Date.now();
    await w.phone.start();
    await waitFor(() => registered(w), 10_000, "REGISTERED on the second target");
    console.log(`      TCP fail-over to the second SRV target: REGISTERED after ${Date.now() - t0} ms`);
    releasePort(dead);
    assert.strictEqual(w.phone.transport.nextHop?.port, kam.ports.tcp);
    assert.ok(
      w.logs.some((l) => /dead\.example\.test .*failed \(connection refused\), trying live\.example\.test/.test(l)),
      w.logs.join("\n"),
    );
    assert.ok(!w.states.some((s) => s.state === "FAILED"), "a fail-over inside the list is not a FAILED registration");
    assert.strictEqual((await binding()).length, 1);
  });

  it("every SRV target refuses: FAILED naming the whole round, then the back-off", async () => {
    const [dead1, dead2] = [await freePort("tcp"), await freePort("tcp")];
    const dns = await dnsmasq({
      srv: [
        { name: "_sip._tcp.example.test", target: "a.example.test", port: dead1, priority: 10, weight: 10 },
        { name: "_sip._tcp.example.test", target: "b.example.test", port: dead2, priority: 20, weight: 10 },
      ],
      hosts: [
        { name: "a.example.test", address: "127.0.0.1" },
        { name: "b.example.test", address: "127.0.0.1" },
      ],
    });
    const w = make(dns, { transport: "tcp" });
    await w.phone.start();
    await waitFor(() => w.phone.registrationState === "FAILED", 10_000, "FAILED");
    releasePort(dead1, dead2);
    assert.strictEqual(w.phone.registrationDetail.reason, "all 2 servers of example.test failed: connection refused");
    assert.ok((w.phone.registrationDetail.retryInMs ?? 0) > 0, "the usual back-off before the next round");
    assert.strictEqual(w.states.filter((s) => s.state === "FAILED").length, 1, "one FAILED for the round, not one per target");
  });

  it("SRV over UDP: the first target never answers (transaction timeout) → the second one, REGISTERED", async function () {
    this.timeout(90_000);
    const dead = await freePort("udp");
    const dns = await dnsmasq({
      srv: [
        { name: "_sip._udp.example.test", target: "dead.example.test", port: dead, priority: 1, weight: 0 },
        { name: "_sip._udp.example.test", target: "live.example.test", port: kam.ports.udp, priority: 2, weight: 0 },
      ],
      hosts: [
        { name: "dead.example.test", address: "127.0.0.1" },
        { name: "live.example.test", address: "127.0.0.1" },
      ],
    });
    const w = make(dns, { transport: "udp" });
    const t0 = Date.now();
    await w.phone.start();
    await waitFor(() => registered(w), 60_000, "REGISTERED on the second target");
    console.log(`      UDP fail-over to the second SRV target (64·T1 timeout): REGISTERED after ${Date.now() - t0} ms`);
    releasePort(dead);
    assert.strictEqual(w.phone.transport.nextHop?.port, kam.ports.udp);
    assert.ok(
      w.logs.some((l) => /failed \(timeout\), trying live\.example\.test/.test(l)),
      w.logs.join("\n"),
    );
    assert.strictEqual((await binding()).length, 1);
  });

  it("every address of every SRV target is trusted like the registrar; other sources are not", async () => {
    // Registered at Kamailio (first target); the second target (127.0.0.5) is a backup that sends an OPTIONS.
    const dns = await dnsmasq({
      srv: [
        { name: "_sip._udp.example.test", target: "live.example.test", port: kam.ports.udp, priority: 10, weight: 10 },
        { name: "_sip._udp.example.test", target: "backup.example.test", port: 5060, priority: 20, weight: 10 },
      ],
      hosts: [
        { name: "live.example.test", address: "127.0.0.1" },
        { name: "backup.example.test", address: "127.0.0.5" },
      ],
    });
    const w = make(dns, { transport: "udp" });
    await w.phone.start();
    await waitFor(() => registered(w), 10_000, "REGISTERED");
    const port = w.phone.transport.local!.port;
    const options = (from: string, callId: string) =>
      [
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${from}:5060;branch=z9hG4bK${callId};rport`,
        "Max-Forwards: 70",
        `From: <sip:qualify@${from}>;tag=t${callId}`,
        "To: <sip:alice@example.test>",
        `Call-ID: ${callId}`,
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
    const ask = async (from: string, callId: string, bindPort: number) => {
      const sock = dgram.createSocket("udp4");
      const got: string[] = [];
      sock.on("message", (m) => got.push(m.toString()));
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(bindPort, from, () => resolve());
      });
      try {
        await new Promise<void>((r) => sock.send(options(from, callId), port, "127.0.0.1", () => r()));
        await waitFor(() => got.some((m) => m.startsWith("SIP/2.0 200")), 3000, `an answer to ${from}`).catch(() => undefined);
        return got.some((m) => m.startsWith("SIP/2.0 200"));
      } finally {
        await new Promise<void>((r) => sock.close(() => r()));
      }
    };
    assert.strictEqual(await ask("127.0.0.5", "backup1", 0), true, "the backup server's address is a registrar address");
    assert.strictEqual(await ask("127.0.0.6", "stranger1", 0), false, "a stranger gets no answer");
  });

  it("a name with only an A record: the transport's default port (5060)", async () => {
    // Kamailio cannot take 5060 here; a socket on another loopback address sees where the REGISTER goes.
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(5060, "127.0.0.77", () => resolve());
    });
    try {
      const got: string[] = [];
      sock.on("message", (m) => got.push(m.toString()));
      const dns = await dnsmasq({ hosts: [{ name: "aonly.test", address: "127.0.0.77" }] });
      const w = make(dns, { server: "aonly.test", transport: "udp" });
      await w.phone.start();
      await waitFor(() => got.some((m) => m.startsWith("REGISTER ")), 10_000, "a REGISTER on 127.0.0.77:5060");
      const q = dns.queries();
      assert.ok(q.includes("SRV _sip._udp.aonly.test") && q.includes("A aonly.test"), `SRV asked first, then A: ${q.join(", ")}`);
      assert.deepStrictEqual(w.phone.transport.nextHop, { address: "127.0.0.77", port: 5060 });
    } finally {
      await new Promise<void>((r) => sock.close(() => r()));
    }
  });

  it("a port given: no NAPTR/SRV query, A only", async () => {
    const dns = await dnsmasq({
      srv: [{ name: "_sip._udp.example.test", target: "other.example.test", port: 9, priority: 1, weight: 0 }],
      hosts: [{ name: "example.test", address: "127.0.0.1" }],
    });
    const w = make(dns, { port: kam.ports.udp, transport: "udp" });
    await w.phone.start();
    await waitFor(() => registered(w), 10_000, "REGISTERED");
    assert.ok(!dns.queries().some((x) => /^(NAPTR|SRV) /.test(x)), dns.queries().join(", "));
  });

  it("a name that does not exist: FAILED with a readable reason", async () => {
    const dns = await dnsmasq({});
    const w = make(dns, { server: "nowhere.test", transport: "udp" });
    await w.phone.start();
    await waitFor(() => w.phone.registrationState === "FAILED", 10_000, "FAILED");
    assert.strictEqual(w.phone.registrationDetail.reason, "DNS: no SRV/A record for nowhere.test");
  });

  it("re-resolves after the TTL: records changed → the next refresh goes to the new target", async function () {
    this.timeout(90_000);
    // The new target: the same Kamailio behind a UDP relay on another port (its packets are counted).
    const relay = await createLossyRelay({ targetPort: kam.ports.udp });
    try {
      const records = (port: number): DnsmasqOptions => ({
        srv: [{ name: "_sip._udp.example.test", target: "sip.example.test", port, priority: 10, weight: 10 }],
        hosts: [{ name: "sip.example.test", address: "127.0.0.1", ttl: 1 }],
        ttl: 1,
      });
      const dns = await dnsmasq(records(kam.ports.udp));
      const w = make(dns, { transport: "udp", expires: 60 }); // refresh after 30 s = MIN_DNS_TTL_SECONDS
      await w.phone.start();
      await waitFor(() => registered(w), 10_000, "REGISTERED");
      assert.strictEqual(w.phone.transport.nextHop?.port, kam.ports.udp);
      await dns.restart(records(relay.port));
      await waitFor(
        () => relay.packets.some((p) => p.direction === "toServer" && p.firstLine.startsWith("REGISTER ")),
        45_000,
        "the refresh REGISTER through the new target",
      );
      await waitFor(() => registered(w) && w.phone.transport.nextHop?.port === relay.port, 10_000, "REGISTERED at the new target");
      assert.ok(
        w.logs.some((l) => /DNS records of example\.test changed: moving to sip\.example\.test/.test(l)),
        w.logs.join("\n"),
      );
    } finally {
      await relay.close();
    }
  });
});
