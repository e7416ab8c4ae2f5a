// RFC 3263 benchmark (prints figures, asserts nothing):
//   node dist/bench/dns.js [rounds=20]
// Against dnsmasq (127.0.0.1, no upstream: no query leaves the machine) and Kamailio on 127.0.0.1:
// - time from start() to REGISTERED through NAPTR → SRV → A, next to the same with an IP and port;
// - fail-over time when the first SRV target is dead: TCP (connection refused) and UDP
//   (no answer: the REGISTER transaction times out after 64·T1 = 32 s, RFC 3261 §17.1.2.2);
// - baresip (libre's own DNS client) registering through the same NAPTR/SRV, as a reference.
import * as fs from "node:fs";
import * as path from "node:path";
import { startKamailio, Kamailio } from "../test/support/kamailio";
import { startDnsmasq, Dnsmasq } from "../test/support/dnsmasq";
import { freePort, LOOPBACK } from "../test/support/ports";
import { makeTempDir, spawnManaged } from "../test/support/process";
import { waitFor } from "../test/support/wait";
import { Phone } from "../src/phone/phone";
import type { AccountOptions } from "../src/phone/account";

const ROUNDS = Number(process.argv[2] ?? 20);

async function timeToRegistered(account: AccountOptions, timeoutMs = 10_000): Promise<number> {
  const p = new Phone(account);
  const t0 = performance.now();
  try {
    await p.start();
    await waitFor(() => p.registrationState === "REGISTERED", timeoutMs, "REGISTERED", { interval: 1 });
    return performance.now() - t0;
  } finally {
    await p.stop();
  }
}

function summary(times: number[]): string {
  const s = [...times].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(1)} ms, min ${s[0].toFixed(1)}, max ${s[s.length - 1].toFixed(1)} (${s.length} rounds)`;
}

/** baresip 1.0.0 registering as alice@example.test with only the DNS server given: ms to its 200 OK. */
async function baresipReference(dns: Dnsmasq): Promise<string> {
  const dir = makeTempDir("baresip-dns");
  const sipPort = await freePort("both");
  fs.writeFileSync(
    path.join(dir, "config"),
    [
      `sip_listen\t${LOOPBACK}:${sipPort}`,
      `net_interface\t${LOOPBACK}`,
      `dns_server\t${dns.server}`,
      "module_path\t/usr/lib/baresip/modules",
      "module_tmp\taccount.so",
      "module_app\tmenu.so",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(path.join(dir, "accounts"), "<sip:alice@example.test>;auth_pass=secret;regint=600\n");
  fs.writeFileSync(path.join(dir, "contacts"), "");
  const before = dns.queries().length;
  const t0 = performance.now();
  const proc = spawnManaged("baresip", ["-f", dir], { name: "baresip-dns" });
  try {
    await waitFor(() => /200 OK/.test(proc.output()) || !proc.running, 10_000, "baresip 200 OK");
    if (!proc.running) return `baresip exited: ${proc.output().slice(-500)}`;
    const took = performance.now() - t0;
    const line = proc
      .output()
      .split("\n")
      .find((l) => /200 OK/.test(l))
      ?.trim();
    const asked = dns
      .queries()
      .slice(before)
      .filter((q) => /example\.test/.test(q)).length;
    return `${took.toFixed(1)} ms from process start (includes baresip's own start-up); "${line}"; dnsmasq saw ${asked} queries from baresip for example.test names`;
  } catch (e) {
    return `not registered: ${(e as Error).message}; ${proc.output().slice(-500)}`;
  } finally {
    await proc.stop(1000);
  }
}

async function main(): Promise<void> {
  const kam: Kamailio = await startKamailio({ users: { alice: "secret" } });
  const deadTcp = await freePort("tcp");
  const deadUdp = await freePort("udp");
  const dns = await startDnsmasq({
    naptr: [{ name: "example.test", order: 10, preference: 10, flags: "S", service: "SIP+D2U", replacement: "_sip._udp.example.test" }],
    srv: [
      { name: "_sip._udp.example.test", target: "sip.example.test", port: kam.ports.udp, priority: 10, weight: 10 },
      { name: "_sip._tcp.dead.test", target: "a.dead.test", port: deadTcp, priority: 10, weight: 10 },
      { name: "_sip._tcp.dead.test", target: "b.dead.test", port: kam.ports.tcp, priority: 20, weight: 10 },
      { name: "_sip._udp.dead.test", target: "a.dead.test", port: deadUdp, priority: 10, weight: 10 },
      { name: "_sip._udp.dead.test", target: "b.dead.test", port: kam.ports.udp, priority: 20, weight: 10 },
    ],
    hosts: [
      { name: "sip.example.test", address: "127.0.0.1" },
      { name: "a.dead.test", address: "127.0.0.1" },
      { name: "b.dead.test", address: "127.0.0.1" },
    ],
  });
  const base = { username: "alice", password: "secret", dnsServers: [dns.server] };
  try {
    console.log(`# time to REGISTERED (start → 200 OK after the 401 challenge), ${ROUNDS} rounds each`);
    const ip: number[] = [];
    const srv: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      ip.push(await timeToRegistered({ ...base, server: "127.0.0.1", port: kam.ports.udp }));
      srv.push(await timeToRegistered({ ...base, server: "example.test" }));
    }
    console.log(`IP and port       ${summary(ip)}`);
    console.log(`NAPTR → SRV → A   ${summary(srv)}`);
    const tcp: number[] = [];
    for (let i = 0; i < ROUNDS; i++) tcp.push(await timeToRegistered({ ...base, server: "dead.test", transport: "tcp" }));
    console.log(`# fail-over, first SRV target dead`);
    console.log(`TCP (refused)     ${summary(tcp)}`);
    const udp = await timeToRegistered({ ...base, server: "dead.test", transport: "udp" }, 60_000);
    console.log(`UDP (no answer)   ${udp.toFixed(0)} ms (1 round: the 64·T1 transaction timeout, then the second target)`);
    console.log(`# baresip reference, NAPTR → SRV → A: ${await baresipReference(dns)}`);
  } finally {
    await dns.stop();
    await kam.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
