// Preloaded into the Node-RED under fuzz (node --require .../net-guard.js):
// whatever a mutated message makes the phone do, nothing leaves loopback. DNS
// look-ups of names (not loopback literals) fail as if the name did not exist;
// UDP datagrams and TCP connections to any other address are dropped. Every
// block is counted and printed as "[fuzz-guard] blocked ..." (the first
// GUARD_LOG_LINES of them), so the run can report them as findings.

import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";

const GUARD_LOG_LINES = 50;
let logged = 0;
let blocked = 0;

function isLoopback(host: unknown): boolean {
  if (typeof host !== "string") return true; // default host = localhost
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    h === "localhost" ||
    h === "::1" ||
    h === "0.0.0.0" ||
    h === "::" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\./.test(h) ||
    h === ""
  );
}

function report(what: string, host: unknown): void {
  blocked++;
  if (logged++ < GUARD_LOG_LINES)
    process.stderr.write(`[fuzz-guard] blocked ${what} ${JSON.stringify(String(host)).slice(0, 200)} (total ${blocked})\n`);
}

const notFound = (host: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`getaddrinfo ENOTFOUND ${host} (fuzz-guard)`), { code: "ENOTFOUND", hostname: host });

const origLookup = dns.lookup;
// An IP literal needs no DNS query; where it is sent is checked by the send/connect guards.
const noQuery = (host: unknown): boolean => isLoopback(host) || (typeof host === "string" && net.isIP(host) !== 0);
(dns as any).lookup = function (host: string, ...rest: any[]) {
  if (noQuery(host)) return (origLookup as any).call(dns, host, ...rest);
  report("dns.lookup", host);
  const cb = rest[rest.length - 1];
  if (typeof cb === "function") process.nextTick(() => cb(notFound(host)));
};
const origPLookup = dns.promises.lookup;
(dns.promises as any).lookup = function (host: string, ...rest: any[]) {
  if (noQuery(host)) return (origPLookup as any).call(dns.promises, host, ...rest);
  report("dns.promises.lookup", host);
  return Promise.reject(notFound(host));
};
for (const name of ["resolve", "resolve4", "resolve6", "resolveSrv", "resolveNaptr", "resolveAny", "resolveCname", "reverse"] as const) {
  const orig = (dns as any)[name];
  if (typeof orig !== "function") continue;
  (dns as any)[name] = function (host: string, ...rest: any[]) {
    report(`dns.${name}`, host);
    const cb = rest[rest.length - 1];
    if (typeof cb === "function") process.nextTick(() => cb(notFound(host)));
  };
  const p = (dns.promises as any)[name];
  if (typeof p === "function")
    (dns.promises as any)[name] = (host: string) => {
      report(`dns.promises.${name}`, host);
      return Promise.reject(notFound(host));
    };
}
for (const R of [dns.Resolver, dns.promises.Resolver] as any[]) {
  for (const name of ["resolve", "resolve4", "resolve6", "resolveSrv", "resolveNaptr", "resolveAny", "reverse"]) {
    if (typeof R?.prototype?.[name] !== "function") continue;
    R.prototype[name] = function (host: string, ...rest: any[]) {
      report(`Resolver.${name}`, host);
      const cb = rest[rest.length - 1];
      if (typeof cb === "function") {
        process.nextTick(() => cb(notFound(host)));
        return undefined;
      }
      return Promise.reject(notFound(host));
    };
  }
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .apply(this)
const origSend = dgram.Socket.prototype.send;
(dgram.Socket.prototype as any).send = function (this: dgram.Socket, ...args: any[]) {
  // send(msg[, offset, length], port[, address][, cb]): the address is the first string after the message.
  const address = args.slice(1).find((a) => typeof a === "string");
  if (!isLoopback(address)) {
    report("udp send to", address);
    const cb = args[args.length - 1];
    if (typeof cb === "function") process.nextTick(() => cb(null, 0));
    return;
  }
  return (origSend as any).apply(this, args);
};

// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .apply(this)
const origConnect = net.Socket.prototype.connect;
(net.Socket.prototype as any).connect = function (this: net.Socket, ...args: any[]) {
  const o = args[0];
  const host =
    typeof o === "object" && o !== null && !Array.isArray(o) ? (o.path ? "localhost" : o.host) : typeof args[1] === "string" ? args[1] : undefined;
  if (!isLoopback(host)) {
    report("tcp connect to", host);
    process.nextTick(() => this.destroy(Object.assign(new Error(`connect ECONNREFUSED ${String(host)} (fuzz-guard)`), { code: "ECONNREFUSED" })));
    return this;
  }
  return (origConnect as any).apply(this, args);
};
