// CIDR blocks ("192.168.1.0/24", "fd00::/8", "10.0.0.7") and the test "is this
// source address inside one of them". IPv4-mapped IPv6 sources (::ffff:a.b.c.d, as a
// dual-stack socket reports them) are matched as IPv4.

import { isIPv4, isIPv6 } from "net";

interface Bytes {
  v6: boolean;
  bytes: number[];
}

/** An address as bytes (IPv4-mapped IPv6 folded to IPv4); undefined if it is not an IP. */
export function addressBytes(address: string): Bytes | undefined {
  const a = address
    .trim()
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "");
  if (isIPv4(a)) return { v6: false, bytes: a.split(".").map(Number) };
  if (!isIPv6(a)) return undefined;
  // A dotted IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups.
  const text = a.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_m, w, x, y, z) => ((Number(w) << 8) | Number(x)).toString(16) + ":" + ((Number(y) << 8) | Number(z)).toString(16),
  );
  const [head, rest] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (s: string) =>
    s
      ? s
          .split(":")
          .filter((x) => x !== "")
          .map((x) => parseInt(x, 16))
      : [];
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...new Array<number>(Math.max(0, fill)).fill(0), ...right];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  // ::ffff:a.b.c.d is an IPv4 source seen through a dual-stack socket.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return { v6: false, bytes: bytes.slice(12) };
  }
  return { v6: true, bytes };
}

export interface Cidr {
  v6: boolean;
  bytes: number[];
  prefix: number;
  text: string;
}

/** Parses "addr/prefix" or a bare address (= a /32 or /128). Throws a readable Error when invalid. */
export function parseCidr(text: string): Cidr {
  const t = String(text ?? "").trim();
  const slash = t.lastIndexOf("/");
  const addr = slash < 0 ? t : t.slice(0, slash);
  const parsed = addressBytes(addr);
  if (!parsed) throw new Error(`invalid network "${t}": not an IPv4 or IPv6 address`);
  let prefix = parsed.bytes.length * 8;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    const v6Text = isIPv6(addr.trim().replace(/^\[|\]$/g, ""));
    const limit = v6Text ? 128 : 32;
    if (!/^\d{1,3}$/.test(p) || Number(p) > limit) throw new Error(`invalid network "${t}": prefix length must be 0..${limit}`);
    prefix = Number(p);
    // "::ffff:10.0.0.0/104" folds to IPv4: shift the prefix accordingly.
    if (!parsed.v6 && v6Text) {
      if (prefix < 96) throw new Error(`invalid network "${t}": an IPv4-mapped prefix must be at least /96`);
      prefix -= 96;
    }
  }
  return { ...parsed, prefix, text: t };
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const a = addressBytes(address);
  if (!a || a.v6 !== cidr.v6) return false;
  let bits = cidr.prefix;
  for (let i = 0; i < a.bytes.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a.bytes[i] & mask) !== (cidr.bytes[i] & mask)) return false;
  }
  return true;
}

/** A list of CIDR blocks; the constructor throws on the first invalid entry. */
export class CidrList {
  readonly blocks: Cidr[];
  /** An array, or the editor's text (comma, space or newline separated). */
  constructor(list: Iterable<string> | string = []) {
    const items = typeof list === "string" ? list.split(/[\s,;]+/) : [...list];
    this.blocks = items
      .map((s) => String(s).trim())
      .filter(Boolean)
      .map(parseCidr);
  }
  contains(address: string): boolean {
    return this.blocks.some((b) => cidrContains(b, address));
  }
}

/** The canonical text of an address, so "::ffff:127.0.0.1" and "127.0.0.1" compare equal. */
export function canonicalAddress(address: string): string {
  const b = addressBytes(address);
  if (!b) return address.trim().toLowerCase();
  if (!b.v6) return b.bytes.join(".");
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b.bytes[i] << 8) | b.bytes[i + 1]).toString(16));
  return words.join(":");
}

/** Addresses that are not reachable from the internet: RFC 1918, shared (CGNAT), loopback, link-local, ULA. */
export const PRIVATE_NETWORKS = new CidrList([
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "::1/128",
  "fc00::/7",
  "fe80::/10",
]);

export function isPrivateAddress(address: string): boolean {
  return PRIVATE_NETWORKS.contains(address);
}
