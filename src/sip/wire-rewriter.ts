// Makes sip.js's messages true to the wire and the wire acceptable to sip.js.
// sip.js writes a placeholder host (its viaHost) in Via and Contact and never a port;
// it also drops any response whose top Via carries a port. We give it a unique
// placeholder and swap it for our real address:port on the way out, and back on the way in.

import { headerName, headerValue, parseVia, rebuild, startLineOf, WireMessage } from "./wire-message";
import type { Endpoint } from "./endpoint";

/** "1.2.3.4:5060" or "[2001:db8::1]:5060": the host:port of a Via or Contact (RFC 3261 §25.1). */
export function formatHostPort(ep: Endpoint): string {
  return `${uriHost(ep.address)}:${ep.port}`;
}

/** A host as a SIP URI wants it: an IPv6 address in [brackets] (once), anything else as it is. */
export function uriHost(host: string): string {
  const h = bareHost(host);
  return h.includes(":") ? `[${h}]` : h;
}

/** A host without the [brackets] of an IPv6 reference: what sockets, TLS and DNS want. */
export function bareHost(host: string): string {
  return String(host)
    .trim()
    .replace(/^\[(.*)\]$/, "$1");
}

export class WireRewriter {
  constructor(readonly placeholder: string) {}

  /** Outgoing: placeholder → real address, and `rport` on our Via (RFC 3581). */
  outgoing(msg: WireMessage, local: Endpoint): string {
    return this.outgoingMessage(msg, local).raw;
  }

  /** The same, keeping the parsed view (only Via/Contact text changes; branch, method and routes do not). */
  outgoingMessage(msg: WireMessage, local: Endpoint): WireMessage {
    const real = formatHostPort(local);
    let viaDone = !msg.isRequest;
    const headers = msg.headers.map((line) => {
      const name = headerName(line);
      if (!line.includes(this.placeholder)) return line;
      let out = line.split(this.placeholder).join(real);
      if (name === "via" && !viaDone) {
        viaDone = true;
        if (!/;\s*rport\b/i.test(out)) out = out.replace(/(;\s*branch=[^;\s,]+)/i, "$1;rport");
      }
      return out;
    });
    return { ...msg, headers, raw: rebuild(startLineOf(msg.raw), headers, msg.body) };
  }

  /**
   * Incoming responses: our top Via back to the placeholder (sip.js checks it),
   * and, on 401/407, MD5 challenges first (sip.js reads only the first one and knows only MD5).
   */
  incoming(msg: WireMessage): string {
    if (msg.isRequest) return msg.raw;
    let seenVia = false;
    const headers = msg.headers.map((line) => {
      if (seenVia || headerName(line) !== "via") return line;
      seenVia = true;
      const via = parseVia(headerValue(line));
      if (!via) return line;
      const rest = headerValue(line).split(",").slice(1);
      const top = `SIP/2.0/${via.protocol} ${this.placeholder}${via.params ? (via.params.startsWith(";") ? via.params : " " + via.params) : ""}`;
      return "Via: " + [top, ...rest].join(",");
    });
    const code = msg.statusCode ?? 0;
    const ordered = code === 401 || code === 407 ? md5ChallengesFirst(headers) : headers;
    return rebuild(startLineOf(msg.raw), ordered, msg.body);
  }
}

function md5ChallengesFirst(headers: string[]): string[] {
  const isChallenge = (l: string) => ["www-authenticate", "proxy-authenticate"].includes(headerName(l));
  const challenges = headers.filter(isChallenge);
  if (challenges.length < 2) return headers;
  const md5 = challenges.filter((l) => !/algorithm\s*=\s*"?(?!MD5\b)[\w-]+/i.test(l));
  const others = challenges.filter((l) => !md5.includes(l));
  const sorted = [...md5, ...others];
  let i = 0;
  return headers.map((l) => (isChallenge(l) ? sorted[i++] : l));
}

/** The digest algorithm a 401/407 asks for, when it is one sip.js cannot answer. */
export function unsupportedDigestAlgorithm(msg: WireMessage): string | undefined {
  const algos = msg.headers
    .filter((l) => ["www-authenticate", "proxy-authenticate"].includes(headerName(l)))
    .map((l) => /algorithm\s*=\s*"?([\w-]+)/i.exec(l)?.[1]?.toUpperCase() ?? "MD5");
  if (algos.length === 0 || algos.includes("MD5")) return undefined;
  return algos[0];
}

/** Authorization values must never reach a log. */
export function maskCredentials(raw: string): string {
  return raw.replace(
    /^((?:proxy-)?authorization\s*:\s*)(.*)$/gim,
    (_m, name: string, value: string) => name + value.replace(/(response|cnonce|nonce)\s*=\s*"[^"]*"/gi, '$1="***"'),
  );
}
