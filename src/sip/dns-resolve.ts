// Host name → IP, with errors users can read ("DNS lookup failed: fritz.box").
import { lookup } from "dns/promises";
import { isIP } from "net";

export class SipError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = "SipError";
  }
}

export async function resolveHost(host: string): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare)) return bare;
  try {
    const result = await lookup(bare, { family: 4 }).catch(() => lookup(bare));
    return result.address;
  } catch (err) {
    throw new SipError(`DNS lookup failed for ${host}: ${(err as Error).message}`, "DNS lookup failed");
  }
}

/** Every address a name resolves to (IPv4 and IPv6); an IP literal is itself. */
export async function resolveAll(host: string): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare)) return [bare];
  const all = await lookup(bare, { all: true });
  return all.map((a) => a.address);
}

/** Splits "host", "host:port" or "[v6]:port". */
export function splitHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const v = value
    .trim()
    .replace(/^sips?:/i, "")
    .replace(/;.*$/, "");
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : defaultPort };
  const m = /^([^:]+)(?::(\d+))?$/.exec(v);
  if (!m) return { host: v, port: defaultPort };
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

/** Whether "host:port", "[v6]:port" or "sip:host:port;…" carries a port (RFC 3263: then no SRV). */
export function hasPort(value: string): boolean {
  const v = value
    .trim()
    .replace(/^sips?:/i, "")
    .replace(/;.*$/, "");
  return /^\[[^\]]+\]:\d+$/.test(v) || /^[^:[\]]+:\d+$/.test(v);
}
