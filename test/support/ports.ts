// Free-port helpers for the SIP test harness.
//
// Every helper only ever binds 127.0.0.1. Ports are picked at random from a
// window *below* the kernel's ephemeral range (ip_local_port_range), so a
// port we hand out is never also handed out by the kernel to some outgoing
// connection, and concurrent test runs rarely pick the same one. A port is
// only "probably free": between the probe and the real bind another process
// may take it, so starters that spawn servers retry with fresh ports when the
// bind fails.

import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";

export const LOOPBACK = "127.0.0.1";

export type PortKind = "udp" | "tcp" | "both";

/** Ports handed out by this process recently; never handed out twice. */
const handedOut = new Set<number>();

function portWindow(): [number, number] {
  let low = 32768;
  try {
    const txt = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim();
    const first = Number(txt.split(/\s+/)[0]);
    if (Number.isFinite(first) && first > 0) low = first;
  } catch {
    /* not Linux: keep the default */
  }
  if (low > 12000) return [10000, Math.min(low, 65535)];
  // Unusually low ephemeral range: use the space above it instead.
  return [50000, 65000];
}

function randomInt(min: number, maxExclusive: number): number {
  return min + Math.floor(Math.random() * (maxExclusive - min));
}

/** Resolves true when `port` can be bound on 127.0.0.1 over UDP. */
export function isUdpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: false });
    sock.once("error", () => {
      try {
        sock.close();
      } catch {
        /* never bound */
      }
      resolve(false);
    });
    sock.bind(port, LOOPBACK, () => {
      sock.close(() => resolve(true));
    });
  });
}

/** Resolves true when `port` can be listened on at 127.0.0.1 over TCP. */
export function isTcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: LOOPBACK, exclusive: true }, () => {
      srv.close(() => resolve(true));
    });
  });
}

async function isFree(port: number, kind: PortKind): Promise<boolean> {
  if (handedOut.has(port)) return false;
  if ((kind === "udp" || kind === "both") && !(await isUdpPortFree(port))) return false;
  if ((kind === "tcp" || kind === "both") && !(await isTcpPortFree(port))) return false;
  return true;
}

/**
 * A port on 127.0.0.1 that is currently free for `kind` ("both" = the same
 * number is free for UDP and TCP, as SIP likes it).
 */
export async function freePort(kind: PortKind = "both"): Promise<number> {
  const [lo, hi] = portWindow();
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = randomInt(lo, hi);
    if (await isFree(port, kind)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`ports: no free ${kind} port found in ${lo}-${hi}`);
}

export const freeUdpPort = (): Promise<number> => freePort("udp");
export const freeTcpPort = (): Promise<number> => freePort("tcp");

/** `count` distinct free ports (not necessarily adjacent). */
export async function freePorts(count: number, kind: PortKind = "both"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(await freePort(kind));
  return out;
}

/**
 * The first port of `count` adjacent free ports (e.g. an RTP port range).
 * `align` makes the first port a multiple of it (RTP likes even ports).
 */
export async function freePortRange(count: number, kind: PortKind = "udp", align = 2): Promise<number> {
  const [lo, hi] = portWindow();
  for (let attempt = 0; attempt < 300; attempt++) {
    let base = randomInt(lo, hi - count);
    base -= base % align;
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await isFree(p, kind);
    if (ok) {
      for (let p = base; p < base + count; p++) handedOut.add(p);
      return base;
    }
  }
  throw new Error(`ports: no range of ${count} free ${kind} ports found in ${lo}-${hi}`);
}

/** Lets a port handed out earlier be handed out again (after its user closed it). */
export function releasePort(...ports: number[]): void {
  for (const p of ports) handedOut.delete(p);
}
