// Keeps fuzzed traffic on loopback. A mutated Via, Contact, Route, Refer-To or
// SDP c= line could name a host on the real network (or a name that needs DNS);
// the phone might then answer, call or stream there. Every generated message
// goes through loopbackOnly() after mutation: any host that is not a 127/8 or
// ::1 literal is replaced by 127.0.0.1 (the message is otherwise unchanged, so
// the malformed rest still reaches the parser).

const V4_LOOPBACK = /^127\.(?:\d{1,3})\.(?:\d{1,3})\.(?:\d{1,3})$/;

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (V4_LOOPBACK.test(h)) return h.split(".").every((p) => Number(p) <= 255);
  return h === "::1" || h === "0:0:0:0:0:0:0:1";
}

// URI hosts: "sip:user@host", "sips:host", "tel:"-less forms; the host ends at ; : > ? , space or line end.
// (A "user@" part may be empty or garbled; the host is what the phone would route to.)
const URI_HOST = /(\b(?:sips?|tel|https?|wss?)\s*:\s*(?:[^@\s<>;,"]*@)?)(\[[^\]\r\n]*\]|[^\s;:>?,"\r\n]*)/gi;
// Via sent-by: "SIP/2.0/UDP host[:port]".
// (\s, not [ \t]: a folded line "SIP/2.0/U\r\n DP host" unfolds to transport "U" and host "DP".)
const VIA_HOST = /(SIP\s*\/\s*[^/\s]*\s*\/\s*[A-Za-z0-9-]*\s+)(\[[^\]\r\n]*\]|[^\s;:,\r\n]*)/gi;
// Via params that redirect responses: received=, maddr=.
const PARAM_HOST = /(;\s*(?:received|maddr)\s*=\s*)(\[[^\]\r\n]*\]|[^\s;:,>\r\n]*)/gi;
// SDP connection / origin / alt addresses: "c=IN IP4 x", "a=rtcp:port IN IP4 x".
const SDP_ADDR = /(\bIN\s+IP[46]\s+)([^\s/\r\n]*)/gi;
// Bare "@host" after a user part that a URI regex missed (e.g. "sip" itself was mutated).
const AT_HOST = /(@)(\[[^\]\r\n]*\]|[A-Za-z0-9._~%-]+)/g;

function fix(_m: string, lead: string, host: string): string {
  if (host === "" || isLoopbackHost(host)) return lead + host;
  return lead + (host.startsWith("[") ? "[::1]" : "127.0.0.1");
}

export function loopbackOnly(text: string): string {
  return text.replace(URI_HOST, fix).replace(VIA_HOST, fix).replace(PARAM_HOST, fix).replace(SDP_ADDR, fix).replace(AT_HOST, fix);
}
