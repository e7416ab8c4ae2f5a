// dnsmasq as a local DNS server for the RFC 3263 tests (NAPTR, SRV, A/AAAA on loopback).
//
//   const dns = await startDnsmasq({
//     srv: [{ name: "_sip._udp.example.test", target: "sip1.example.test", port: 5070, priority: 10, weight: 10 }],
//     naptr: [{ name: "example.test", order: 10, preference: 10, flags: "S", service: "SIP+D2U", replacement: "_sip._udp.example.test" }],
//     hosts: [{ name: "sip1.example.test", address: "127.0.0.1", ttl: 30 }],
//   });
//   dns.server            -> "127.0.0.1:<port>" (hand it to AccountOptions.dnsServers)
//   await dns.restart({...new records})   same port, new records
//   await dns.stop()
//
// Nothing leaves the machine: it listens on 127.0.0.1 only, has no upstream server
// (--no-resolv, --no-hosts, no config file) and answers every name under the zones it is
// given (default "test") from its own records only (--local): an unknown name is NXDOMAIN.
// It runs in the foreground (--keep-in-foreground) in its own process group, as the current user
// (no privilege drop), without a pid file.

import { spawnManaged, type ManagedProcess } from "./process";
import { freePort, LOOPBACK, releasePort } from "./ports";
import { sleep } from "./wait";

export interface SrvRecordSpec {
  name: string;
  target: string;
  port: number;
  priority: number;
  weight: number;
}
export interface NaptrRecordSpec {
  name: string;
  order: number;
  preference: number;
  flags: string;
  service: string;
  regexp?: string;
  replacement: string;
}
export interface HostRecordSpec {
  name: string;
  address: string;
  ttl?: number;
}

export interface DnsmasqRecords {
  srv?: SrvRecordSpec[];
  naptr?: NaptrRecordSpec[];
  hosts?: HostRecordSpec[];
}

export interface DnsmasqOptions extends DnsmasqRecords {
  /** Zones answered locally only (NXDOMAIN for unknown names). Default ["test"]. */
  zones?: string[];
  /** TTL of every local record without its own (SRV/NAPTR too). Default 60. */
  ttl?: number;
}

export interface Dnsmasq {
  readonly port: number;
  /** "127.0.0.1:<port>". */
  readonly server: string;
  /** Every query seen so far, e.g. "SRV _sip._udp.example.test". */
  queries(): string[];
  /** Stop and start again on the same port with other records. */
  restart(records: DnsmasqRecords): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

const SAFE = /^[A-Za-z0-9_.+:-]*$/;

function args(port: number, opts: DnsmasqOptions): string[] {
  const check = (v: string | number): string => {
    const s = String(v);
    if (!SAFE.test(s)) throw new Error(`dnsmasq harness: unsupported value ${JSON.stringify(s)}`);
    return s;
  };
  const out = [
    `--port=${port}`,
    `--listen-address=${LOOPBACK}`,
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--no-poll",
    "--keep-in-foreground",
    "--log-facility=-",
    "--log-queries",
    "--conf-file=/dev/null",
    "--pid-file=",
    "--user=",
    `--local-ttl=${check(opts.ttl ?? 60)}`,
    `--auth-ttl=${check(opts.ttl ?? 60)}`,
  ];
  for (const z of opts.zones ?? ["test"]) out.push(`--local=/${check(z)}/`);
  for (const r of opts.srv ?? []) out.push(`--srv-host=${[r.name, r.target, r.port, r.priority, r.weight].map(check).join(",")}`);
  for (const r of opts.naptr ?? []) {
    out.push(`--naptr-record=${[r.name, r.order, r.preference, r.flags, r.service, r.regexp ?? "", r.replacement].map(check).join(",")}`);
  }
  for (const h of opts.hosts ?? []) out.push(`--host-record=${[h.name, h.address, ...(h.ttl !== undefined ? [h.ttl] : [])].map(check).join(",")}`);
  return out;
}

export async function startDnsmasq(opts: DnsmasqOptions = {}): Promise<Dnsmasq> {
  const port = await freePort("udp");
  let current: DnsmasqOptions = opts;
  let proc: ManagedProcess | undefined;
  let logText = "";
  const seen: string[] = [];

  const launch = async (): Promise<void> => {
    const p = spawnManaged("dnsmasq", args(port, current), {
      name: "dnsmasq",
      onLine: (line) => {
        const m = /query\[(\w+)\] (\S+) from/.exec(line);
        if (m) seen.push(`${m[1]} ${m[2]}`);
      },
    });
    proc = p;
    // Ready when it logs "started"; a bind failure makes it exit at once.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (!p.running) break;
      if (/started, version/.test(p.output())) return;
      await sleep(25);
    }
    logText += p.output();
    await p.stop(500);
    throw new Error(`dnsmasq harness: did not start on ${LOOPBACK}:${port} (is dnsmasq-base installed?):\n${p.output().slice(-2000)}`);
  };

  const stopProc = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p) return;
    await p.stop(1000);
    logText += p.output();
  };

  await launch();
  return {
    port,
    server: `${LOOPBACK}:${port}`,
    queries: () => [...seen],
    async restart(records) {
      await stopProc();
      current = { ...opts, ...records };
      await launch();
    },
    log: () => logText + (proc?.output() ?? ""),
    async stop() {
      await stopProc();
      releasePort(port);
    },
  };
}
