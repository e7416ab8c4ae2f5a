// RFC 3263 §4: where out-of-dialog requests go when the server is a name.
//
// A name WITHOUT a port: NAPTR → SRV → A/AAAA. Our configuration always names a transport (default
// udp), so the configured transport is authoritative: NAPTR records only pick the SRV name for that
// transport ("SIP+D2U" udp, "SIP+D2T" tcp, "SIPS+D2T" tls); records for other transports are ignored,
// and without a matching one the usual name is asked (_sip._udp., _sip._tcp., _sips._tcp.). ws/wss
// have no SRV names in RFC 3263: A/AAAA only. No SRV record → A/AAAA on the transport's default port.
// A name WITH a port, or an IP literal: A/AAAA only.
//
// Every address of every target becomes one entry of an ordered list (RFC 2782 order: priority,
// then weighted random). A target that does not answer is left for the next one (`failed()`); after
// the last the list starts over and the caller's back-off applies. The list is resolved again once
// its smallest TTL ran out (bounded by MIN/MAX_DNS_TTL_SECONDS), at the next connect or registration.

import { Resolver, lookup } from "dns/promises";
import { isIP } from "net";
import { TransportKind } from "../types";
import { SipError } from "./dns-resolve";

/** Shortest re-resolution interval: a TTL of 0 or 1 s from the DNS must not make us query on every REGISTER. */
export const MIN_DNS_TTL_SECONDS = 30;
/** Longest: a record is looked at again at least once a day, whatever its TTL. */
export const MAX_DNS_TTL_SECONDS = 86_400;
/** NAPTR and SRV records considered per name (answers are remote-controlled). */
export const MAX_DNS_RECORDS = 16;
/** Addresses used per SRV target (or per name on the A/AAAA path). */
export const MAX_ADDRESSES_PER_TARGET = 4;
/** Entries in the target list at most (targets × addresses). */
export const MAX_SERVER_TARGETS = 32;
/** Per DNS query: time before a retry, and tries (c-ares' defaults, 5 s × 4, would stall a connect for 20 s a query). */
export const DNS_TIMEOUT_MS = 2000;
export const DNS_TRIES = 2;

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}
export interface NaptrRecord {
  flags: string;
  service: string;
  regexp: string;
  replacement: string;
  order: number;
  preference: number;
}
/** An address with the TTL its answer carried (undefined when the system resolver gave none). */
export interface AddressRecord {
  address: string;
  ttl?: number;
}

/** The three DNS questions RFC 3263 asks; injectable so the ordering logic can be tested without a server. */
export interface DnsClient {
  naptr(name: string): Promise<NaptrRecord[]>;
  srv(name: string): Promise<SrvRecord[]>;
  /** A then AAAA records of a name; rejects or resolves [] when there are none. */
  addresses(name: string): Promise<AddressRecord[]>;
}

/** One place to send requests to: the SRV target (or the configured name), one of its addresses, a port. */
export interface ServerTarget {
  name: string;
  address: string;
  port: number;
}

/**
 * The DNS client. Production (no `servers`): NAPTR/SRV through the system's DNS servers, addresses
 * through the system resolver (dns.lookup: /etc/hosts and mDNS as before), with the TTL taken from a
 * parallel A/AAAA query when the DNS has one. `servers` ("127.0.0.1:5353") is FOR TESTS ONLY: every
 * query goes there and nowhere else (dns.lookup is never used).
 */
export function systemDns(servers?: string[]): DnsClient {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  const only = servers?.filter((s) => s.trim()) ?? [];
  if (only.length) resolver.setServers(only);
  const fromDns = async (name: string): Promise<AddressRecord[]> => {
    const [v4, v6] = await Promise.all([
      resolver.resolve4(name, { ttl: true }).catch(() => []),
      resolver.resolve6(name, { ttl: true }).catch(() => []),
    ]);
    return [...v4, ...v6];
  };
  return {
    naptr: (name) => resolver.resolveNaptr(name),
    srv: (name) => resolver.resolveSrv(name),
    addresses: async (name) => {
      if (only.length) return fromDns(name);
      const [system, dns] = await Promise.all([lookup(name, { all: true }).catch(() => []), fromDns(name).catch(() => [])]);
      if (!system.length) return dns;
      const ttl = dns.length ? Math.min(...dns.map((d) => d.ttl ?? MAX_DNS_TTL_SECONDS)) : undefined;
      // IPv4 first, as the single-address lookup did before.
      const sorted = [...system.filter((a) => a.family === 4), ...system.filter((a) => a.family !== 4)];
      return sorted.map((a) => ({ address: a.address, ttl }));
    },
  };
}

/** The SRV name RFC 3263 §4.1 asks for a transport; undefined for ws/wss (no SRV). */
export function srvName(transport: TransportKind, domain: string): string | undefined {
  if (transport === "udp") return `_sip._udp.${domain}`;
  if (transport === "tcp") return `_sip._tcp.${domain}`;
  if (transport === "tls") return `_sips._tcp.${domain}`;
  return undefined;
}

const NAPTR_SERVICE: Partial<Record<TransportKind, string>> = { udp: "SIP+D2U", tcp: "SIP+D2T", tls: "SIPS+D2T" };

/** The SRV names NAPTR records give for our transport, best first (RFC 3403 order, then preference). */
export function naptrSrvNames(records: NaptrRecord[], transport: TransportKind): string[] {
  const service = NAPTR_SERVICE[transport];
  if (!service) return [];
  return records
    .slice(0, MAX_DNS_RECORDS)
    .filter(
      (r) =>
        r &&
        typeof r.flags === "string" &&
        typeof r.service === "string" &&
        r.flags.toLowerCase() === "s" &&
        r.service.toUpperCase() === service &&
        typeof r.replacement === "string" &&
        r.replacement.length > 0 &&
        r.replacement !== ".",
    )
    .sort((a, b) => Number(a.order) - Number(b.order) || Number(a.preference) - Number(b.preference) || 0)
    .map((r) => r.replacement);
}

/**
 * RFC 2782 order: by priority, lowest first; within one priority a weighted random draw without
 * replacement (weight-0 records first in the running sum, so they are picked only rarely).
 * `random` returns [0, 1) (injectable for tests).
 */
export function orderSrv(records: SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const valid = records
    .slice(0, MAX_DNS_RECORDS)
    .filter(
      (r) =>
        r &&
        typeof r.name === "string" &&
        r.name.length > 0 &&
        r.name !== "." &&
        Number.isInteger(r.port) &&
        r.port > 0 &&
        r.port < 65536 &&
        Number.isFinite(r.priority) &&
        Number.isFinite(r.weight),
    );
  const priorities = [...new Set(valid.map((r) => r.priority))].sort((a, b) => a - b);
  const out: SrvRecord[] = [];
  for (const p of priorities) {
    const group = valid.filter((r) => r.priority === p).sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (group.length) {
      const total = group.reduce((s, r) => s + Math.max(0, r.weight), 0);
      const draw = total > 0 ? random() * total : 0;
      let running = 0;
      let pick = group.length - 1;
      for (let i = 0; i < group.length; i++) {
        running += Math.max(0, group[i].weight);
        // RFC 2782: the first record whose running sum is >= the draw (a weight-0 record only on a draw of 0).
        if (running >= draw) {
          pick = i;
          break;
        }
      }
      out.push(group.splice(pick, 1)[0]);
    }
  }
  return out;
}

export interface ServerLocatorOptions {
  /** The configured server or outbound proxy: a name or an IP literal (brackets allowed). */
  host: string;
  /** The configured port; undefined or 0 = none given (then SRV applies to a name). */
  port?: number;
  transport: TransportKind;
  /** The transport's default port (5060/5061/80/443). */
  defaultPort: number;
  dns?: DnsClient;
  random?: () => number;
  now?: () => number;
}

/** What `failed()` decided: try the next target now, or give up this round with a reason for the user. */
export interface FailoverVerdict {
  retryNow: boolean;
  reason: string;
}

/** The ordered targets of one configured server, with fail-over and TTL-bound re-resolution. */
export class ServerLocator {
  readonly host: string;
  private readonly dns: DnsClient;
  private readonly now: () => number;
  private targets: ServerTarget[] = [];
  private index = 0;
  /** Targets that failed in a row since the last answer. */
  private failures = 0;
  /** When the list must be resolved again (ms); 0 = at the next use. */
  private expiresAt = 0;

  constructor(private readonly opts: ServerLocatorOptions) {
    this.host = opts.host.trim().replace(/^\[|\]$/g, "");
    this.dns = opts.dns ?? systemDns();
    this.now = opts.now ?? Date.now;
  }

  /** Every target of the last resolution (for the trust policy). */
  get all(): readonly ServerTarget[] {
    return this.targets;
  }
  /** The list is due for re-resolution (never resolved, TTL ran out, or a round of failures ended). */
  get stale(): boolean {
    return !this.targets.length || this.now() >= this.expiresAt;
  }

  /** The target to use now; resolves the name first when the list is stale. Throws a SipError when nothing resolves. */
  async current(): Promise<ServerTarget> {
    if (this.stale) await this.refresh();
    return this.targets[this.index];
  }

  /**
   * Resolves the name again. The current target is kept when it is still in the new list (the
   * weighted draw must not move a working registration between equal servers); otherwise the
   * first of the new list is used. A failed resolution keeps an old list (a DNS outage must not
   * break a working server) and is tried again after MIN_DNS_TTL_SECONDS.
   * Returns true when the current target changed.
   */
  async refresh(): Promise<boolean> {
    const before = this.targets[this.index];
    let fresh: { targets: ServerTarget[]; ttl: number };
    try {
      fresh = await this.resolve();
    } catch (err) {
      if (!this.targets.length) throw err;
      this.expiresAt = this.now() + MIN_DNS_TTL_SECONDS * 1000;
      return false;
    }
    this.targets = fresh.targets;
    this.expiresAt = this.now() + fresh.ttl * 1000;
    const kept = before ? this.targets.findIndex((t) => t.address === before.address && t.port === before.port) : -1;
    this.index = kept >= 0 ? kept : 0;
    if (kept < 0) this.failures = 0;
    return !!before && kept < 0;
  }

  /** A response came from the server: the fail-over count starts again. */
  answered(): void {
    this.failures = 0;
  }

  /**
   * The current target did not answer (`reason`: a timeout, a refused connection…). With another
   * target left in this round: move on and say so (retryNow). After the last: back to the first,
   * re-resolve at the next use, and a reason naming the whole round.
   */
  failed(reason: string): FailoverVerdict {
    const n = this.targets.length;
    if (n === 0) return { retryNow: false, reason };
    const was = this.targets[this.index];
    this.failures++;
    if (this.failures >= n) {
      this.failures = 0;
      this.index = 0;
      this.expiresAt = 0;
      return { retryNow: false, reason: n > 1 ? `all ${n} servers of ${this.host} failed: ${reason}` : reason };
    }
    this.index = (this.index + 1) % n;
    const next = this.targets[this.index];
    return { retryNow: true, reason: `${describe(was)} failed (${reason}), trying ${describe(next)}` };
  }

  private async resolve(): Promise<{ targets: ServerTarget[]; ttl: number }> {
    const { transport } = this.opts;
    const givenPort = Number(this.opts.port) > 0 ? Number(this.opts.port) : undefined;
    const port = givenPort ?? this.opts.defaultPort;
    if (isIP(this.host)) return { targets: [{ name: this.host, address: this.host, port }], ttl: MAX_DNS_TTL_SECONDS };
    if (givenPort === undefined) {
      const records = await this.srvRecords(transport);
      if (records.length) {
        const targets: ServerTarget[] = [];
        const ttls: number[] = [];
        for (const r of orderSrv(records, this.opts.random)) {
          const addresses = await this.addresses(r.name);
          for (const a of addresses) {
            if (targets.length < MAX_SERVER_TARGETS) targets.push({ name: r.name, address: a.address, port: r.port });
            if (a.ttl !== undefined) ttls.push(a.ttl);
          }
        }
        if (targets.length) return { targets, ttl: boundTtl(ttls) };
      }
    }
    const addresses = await this.addresses(this.host);
    if (!addresses.length) {
      throw new SipError(
        `DNS: no ${givenPort === undefined && srvName(transport, this.host) ? "SRV/A" : "A/AAAA"} record for ${this.host}`,
        "DNS lookup failed",
      );
    }
    return {
      targets: addresses.slice(0, MAX_SERVER_TARGETS).map((a) => ({ name: this.host, address: a.address, port })),
      ttl: boundTtl(addresses.map((a) => a.ttl).filter((t): t is number => t !== undefined)),
    };
  }

  /** SRV records through the NAPTR names for our transport, else the usual SRV name; [] when none. */
  private async srvRecords(transport: TransportKind): Promise<SrvRecord[]> {
    const usual = srvName(transport, this.host);
    if (!usual) return [];
    const naptr = await this.dns.naptr(this.host).catch(() => [] as NaptrRecord[]);
    const names = [...new Set([...naptrSrvNames(Array.isArray(naptr) ? naptr : [], transport), usual])];
    for (const name of names) {
      const records = await this.dns.srv(name).catch(() => [] as SrvRecord[]);
      if (Array.isArray(records) && records.length) return records;
    }
    return [];
  }

  private async addresses(name: string): Promise<AddressRecord[]> {
    const all = await this.dns.addresses(name).catch(() => [] as AddressRecord[]);
    const valid = (Array.isArray(all) ? all : []).filter((a) => a && isIP(a.address));
    const seen = new Set<string>();
    return valid.filter((a) => !seen.has(a.address) && !!seen.add(a.address)).slice(0, MAX_ADDRESSES_PER_TARGET);
  }
}

/** The smallest TTL, bounded; unknown (no TTL anywhere) = the minimum, so a changed address is seen soon. */
export function boundTtl(ttls: number[]): number {
  const finite = ttls.filter((t) => Number.isFinite(t));
  const smallest = finite.length ? Math.min(...finite) : MIN_DNS_TTL_SECONDS;
  return Math.min(MAX_DNS_TTL_SECONDS, Math.max(MIN_DNS_TTL_SECONDS, smallest));
}

function describe(t: ServerTarget): string {
  const hostPort = t.address.includes(":") ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
  return t.name === t.address ? hostPort : `${t.name} (${hostPort})`;
}
