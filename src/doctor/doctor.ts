// The SIP doctor: a guided self-test of an account that says in plain words what works, what
// does not, and what to change. It looks up the server, asks it OPTIONS over each transport, and
// reads the running registration. It never sends credentials of its own and never puts a secret
// into the report: the password and digest answers are not passed in, and a TLS client key only
// reaches the probe's TLS socket.
import { isIP } from "net";
import type { RegistrationDetail } from "../phone/registration";
import type { RegistrationState } from "../types";
import { srvName, systemDns, type DnsClient } from "../sip/server-location";
import { isPrivateAddress } from "../sip/cidr";
import { bareHost } from "../sip/wire-rewriter";
import { probeOptions, type ProbeResult, type ProbeTransport } from "./sip-probe";
import { renderFinding, renderReport, type DoctorLanguage } from "./texts";

export type FindingLevel = "ok" | "info" | "warn" | "fail";
export type FindingId =
  | "dns"
  | "transport"
  | "other-transports"
  | "nat"
  | "sdp-address"
  | "keepalive"
  | "credentials"
  | "expiry"
  | "methods"
  | "codecs"
  // the test call (test-call.ts)
  | "test-call"
  | "audio"
  | "round-trip"
  | "dtmf-rfc4733"
  | "dtmf-info"
  | "dtmf-inband";

export type Facts = Record<string, string | number | boolean | undefined>;

export interface DoctorFinding {
  id: FindingId;
  level: FindingLevel;
  /** The figures behind the finding (addresses, times, codes); never a secret. */
  facts: Facts;
  /** The finding in the report's language, and what to do about it (absent when all is well). */
  text: string;
  fix?: string;
}

export interface DoctorReport {
  /** When the test ran (ISO time) and how long it took. */
  at: string;
  durationMs: number;
  language: DoctorLanguage;
  /** The worst level of all findings: "ok" (information included), "warn" or "fail". */
  level: FindingLevel;
  account: { server: string; port?: number; transport: string; user: string };
  findings: DoctorFinding[];
  /** The whole report as plain text, for a support request. */
  text: string;
}

/** What the doctor reads of an account: addresses and settings, no password, no key. */
export interface DoctorInput {
  server: string;
  port?: number;
  transport: string;
  username: string;
  domain?: string;
  keepAlive?: number;
  expires?: number;
  register?: boolean;
  localAddress?: string;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; cert?: string | Buffer; key?: string | Buffer };
  dnsServers?: string[];
  registration: { state: RegistrationState; detail: RegistrationDetail };
  /** Realms the registrar challenged us with. */
  realms: string[];
  /** The address our SDP offers for audio. */
  sdpAddress: string;
  /** Our codecs, e.g. ["PCMU", "PCMA"], and whether telephone-event (RFC 4733) is offered. */
  codecs: string[];
}

export interface DoctorOptions {
  language?: DoctorLanguage;
  /** Also try the transports the account does not use (default true when no port is set). */
  otherTransports?: boolean;
  dns?: DnsClient;
  probe?: typeof probeOptions;
  now?: () => number;
  /** The test call (test-call.ts), run after the other checks; its findings end the report. */
  testCall?: () => Promise<Array<Omit<DoctorFinding, "text">>>;
}

/** Keep-alive interval above which a NAT may forget a UDP mapping (many routers: 30 s). */
export const NAT_SAFE_KEEPALIVE_SECONDS = 30;
/** Granted registration lifetime below which re-registering costs noticeably. */
export const SHORT_EXPIRY_SECONDS = 60;

const DEFAULT_PORT: Record<ProbeTransport, number> = { udp: 5060, tcp: 5060, tls: 5061 };
const LEVELS: FindingLevel[] = ["ok", "info", "warn", "fail"];
const worst = (levels: FindingLevel[]): FindingLevel => levels.reduce((a, b) => (LEVELS.indexOf(b) > LEVELS.indexOf(a) ? b : a), "ok");

/** Where to send the probes: the SRV target (no port set) or the name's addresses. */
async function locate(
  input: DoctorInput,
  transport: ProbeTransport | undefined,
  dns: DnsClient,
): Promise<{ finding: Omit<DoctorFinding, "text">; address?: string; port: number; host: string }> {
  const host = bareHost(input.server);
  const port = input.port || (transport ? DEFAULT_PORT[transport] : 0);
  if (isIP(host)) return { finding: { id: "dns", level: "ok", facts: { name: host, literal: true } }, address: host, port, host };
  try {
    const srv = !input.port && transport ? srvName(transport, host) : undefined;
    const records = srv ? await dns.srv(srv).catch(() => []) : [];
    const best = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
    const target = best ? best.name : host;
    const addresses = await dns.addresses(target).catch(() => []);
    if (!addresses.length) return { finding: { id: "dns", level: "fail", facts: { name: target } }, port, host };
    const facts: Facts = { name: host, addresses: addresses.map((a) => a.address).join(", ") };
    if (best) Object.assign(facts, { srv, target: best.name, targetPort: best.port });
    return { finding: { id: "dns", level: "ok", facts }, address: addresses[0].address, port: best ? best.port : port, host: target };
  } catch (e) {
    return { finding: { id: "dns", level: "fail", facts: { name: host, error: (e as Error).message } }, port, host };
  }
}

export async function runDoctor(input: DoctorInput, options: DoctorOptions = {}): Promise<DoctorReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const language = options.language ?? "en";
  const probe = options.probe ?? probeOptions;
  const dns = options.dns ?? systemDns(input.dnsServers);
  const kind = input.transport.toLowerCase();
  const transport: ProbeTransport | undefined = kind === "udp" || kind === "tcp" || kind === "tls" ? kind : undefined;
  const found: Array<Omit<DoctorFinding, "text">> = [];

  const where = await locate(input, transport, dns);
  found.push(where.finding);
  let main: ProbeResult | undefined;
  if (!transport) {
    found.push({ id: "transport", level: "info", facts: { transport: kind.toUpperCase() } });
  } else if (where.address) {
    const target = (t: ProbeTransport, address: string, port: number, host: string) => ({
      transport: t,
      address,
      port,
      host,
      user: input.username,
      tls: input.tls,
      localAddress: input.localAddress || undefined,
    });
    // Other transports only when no port was set: each found as the account's own would be (its SRV, else its default port).
    const others = (options.otherTransports ?? !input.port) ? (["udp", "tcp", "tls"] as const).filter((t) => t !== transport) : [];
    const [first, ...rest] = await Promise.all([
      probe(target(transport, where.address, where.port, where.host)),
      ...others.map(async (t): Promise<ProbeResult> => {
        const w = await locate(input, t, dns);
        return w.address ? probe(target(t, w.address, w.port, w.host)) : { transport: t, address: "", port: w.port, answered: false, error: "DNS" };
      }),
    ]);
    main = first;
    found.push({
      id: "transport",
      level: main.answered ? "ok" : "fail",
      facts: {
        transport: transport.toUpperCase(),
        address: where.address,
        port: where.port,
        rttMs: main.rttMs,
        status: main.statusCode,
        error: main.error,
      },
    });
    if (rest.length) {
      const list = (ok: boolean) =>
        rest
          .filter((r) => r.answered === ok)
          .map((r) => `${r.transport.toUpperCase()} ${r.port}${ok ? ` (${r.rttMs} ms)` : ""}`)
          .join(", ");
      found.push({ id: "other-transports", level: "info", facts: { answered: list(true) || "-", silent: list(false) || "-" } });
    }
  }
  if (main?.answered) found.push(...natFindings(input, main, transport!));
  found.push(...registrationFindings(input));
  if (main?.answered) found.push(...capabilityFindings(input, main));
  if (options.testCall) found.push(...(await options.testCall()));

  const findings = found.map((f) => ({ ...f, ...renderFinding(f, language) }));
  const report: DoctorReport = {
    at: new Date(started).toISOString(),
    durationMs: now() - started,
    language,
    level: worst(findings.map((f) => (f.level === "info" ? "ok" : f.level))), // information is no problem
    account: { server: input.server, port: input.port, transport: kind, user: input.username },
    findings,
    text: "",
  };
  report.text = renderReport(report);
  return report;
}

function natFindings(input: DoctorInput, probe: ProbeResult, transport: ProbeTransport): Array<Omit<DoctorFinding, "text">> {
  const out: Array<Omit<DoctorFinding, "text">> = [];
  const local = probe.local;
  const seen = probe.seenAs;
  let nat = false;
  if (!seen || !local) {
    out.push({ id: "nat", level: "info", facts: {} });
  } else {
    const addressChanged = !!seen.address && bareHost(seen.address) !== bareHost(local.address);
    const portChanged = transport === "udp" && !!seen.port && seen.port !== local.port;
    nat = addressChanged || portChanged;
    out.push({
      id: "nat",
      level: nat ? "warn" : "ok",
      facts: {
        local: `${local.address}:${local.port}`,
        seen: `${seen.address ?? local.address}:${seen.port ?? local.port}`,
        portOnly: portChanged && !addressChanged,
      },
    });
  }
  const sdpPrivate = isPrivateAddress(input.sdpAddress);
  const publicSeen = !!seen?.address && !isPrivateAddress(seen.address);
  out.push({
    id: "sdp-address",
    level: nat && sdpPrivate && publicSeen ? "warn" : "ok",
    facts: { sdp: input.sdpAddress, seen: seen?.address },
  });
  const keepAlive = input.keepAlive ?? 25;
  const keepLevel: FindingLevel = !nat ? "info" : keepAlive === 0 || (transport === "udp" && keepAlive > NAT_SAFE_KEEPALIVE_SECONDS) ? "warn" : "ok";
  out.push({ id: "keepalive", level: keepLevel, facts: { seconds: keepAlive, nat, limit: NAT_SAFE_KEEPALIVE_SECONDS } });
  return out;
}

function registrationFindings(input: DoctorInput): Array<Omit<DoctorFinding, "text">> {
  const { state, detail } = input.registration;
  const realm = input.realms.join(", ") || undefined;
  if (input.register === false) return [{ id: "credentials", level: "info", facts: { state, off: true } }];
  const facts: Facts = { state, realm, reason: detail.reason, status: detail.statusCode };
  const out: Array<Omit<DoctorFinding, "text">> = [];
  if (state === "REGISTERED") out.push({ id: "credentials", level: "ok", facts });
  else if (state === "FAILED" && [401, 403, 407].includes(detail.statusCode ?? 0)) out.push({ id: "credentials", level: "fail", facts });
  else if (state === "FAILED") out.push({ id: "credentials", level: "warn", facts });
  else out.push({ id: "credentials", level: "info", facts });
  if (state === "REGISTERED" && detail.expires !== undefined) {
    const requested = input.expires ?? 600;
    const granted = detail.expires;
    out.push({ id: "expiry", level: granted < SHORT_EXPIRY_SECONDS ? "warn" : granted < requested ? "info" : "ok", facts: { granted, requested } });
  }
  return out;
}

function capabilityFindings(input: DoctorInput, probe: ProbeResult): Array<Omit<DoctorFinding, "text">> {
  const out: Array<Omit<DoctorFinding, "text">> = [];
  if (!probe.allow) out.push({ id: "methods", level: "info", facts: { listed: false } });
  else {
    const missing = ["INFO", "MESSAGE", "REFER"].filter((m) => !probe.allow!.includes(m));
    out.push({
      id: "methods",
      level: probe.allow.includes("INFO") ? "ok" : "warn",
      facts: { listed: true, allow: probe.allow.join(", "), missing: missing.join(", ") || undefined },
    });
  }
  const ours = input.codecs.join(", ");
  if (!probe.sdpCodecs) out.push({ id: "codecs", level: "info", facts: { ours, listed: false } });
  else {
    const theirs = probe.sdpCodecs.map((c) => c.toUpperCase());
    const common = input.codecs.filter((c) => c !== "telephone-event" && theirs.includes(c.toUpperCase()));
    const events = theirs.includes("TELEPHONE-EVENT");
    out.push({
      id: "codecs",
      level: common.length === 0 ? "fail" : events ? "ok" : "warn",
      facts: { ours, theirs: probe.sdpCodecs.join(", "), common: common.join(", ") || "-", events, listed: true },
    });
  }
  return out;
}
