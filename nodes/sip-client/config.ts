// sip-client editor properties → core options. The property names are the user-facing contract.
import { DTMF_METHODS, isDtmfMethod } from "../../src";
import type { AcceptFrom, AccountOptions, CodecOrder, DtmfMethod, WireDtmfMethod, ListenMode, RtpSecurity, SrtpMode, TransportKind } from "../../src";
import { num } from "../shared/values";

export interface SipClientConfig {
  id: string;
  name?: string;
  server: string;
  port?: string | number;
  transport?: TransportKind;
  username: string;
  domain?: string;
  authUsername?: string;
  displayName?: string;
  expires?: string | number;
  outboundProxy?: string;
  localPort?: string | number;
  localAddress?: string;
  keepAlive?: string | number;
  tlsRejectUnauthorized?: boolean;
  /** PEM CA certificate(s) the server's certificate is checked against (empty = system CAs). */
  tlsCa?: string;
  /** PEM client certificate for mutual TLS; its key is the credential tlsKey. */
  tlsCert?: string;
  /** Who may send out-of-dialog requests: "registrar" (default), "networks", "anyone". */
  acceptFrom?: string;
  /** CIDR blocks, comma or newline separated, for acceptFrom "networks". */
  trustedNetworks?: string;
  /** An extra digest realm answered besides the registrar's. */
  authRealm?: string;
  /** Listen for SIP over TCP/TLS from peers: "off" (default), "tcp", "tls", "both". */
  listen?: string;
  /** Port of the listener (TLS on port + 1 with "both"); empty = 5060 (5061 for "tls"). */
  listenPort?: string | number;
  /** RTP source policy: "latch" (default) or "strict". */
  rtpSecurity?: string;
  /** SRTP: "off" (default), "optional", "mandatory". */
  srtp?: string;
  /** Send and accept SRTP keys over UDP/TCP signalling too (default false: TLS/WSS only). */
  srtpOverInsecure?: boolean;
  wsPath?: string;
  logSip?: boolean;
  userAgent?: string;
  codecs?: string;
  /** When answering: "caller" (default) follows the offer's codec order, "mine" follows `codecs`. */
  codecOrder?: string;
  rtpPortMin?: string | number;
  rtpPortMax?: string | number;
  ttsEngine?: string;
  ttsLanguage?: string;
  ttsCommand?: string;
  ttsEq?: boolean;
  dtmfRfc4733?: boolean;
  dtmfInfo?: boolean;
  dtmfInband?: boolean;
  dtmfSendMethod?: string;
  dtmfDuration?: string | number;
  dtmfGap?: string | number;
}

export interface SipClientCredentials {
  password?: string;
  tlsKey?: string;
}

const ACCEPT_FROM: readonly AcceptFrom[] = ["registrar", "networks", "anyone"];

/** Old flows have no acceptFrom: the safe default. An unknown value is refused, not widened. */
export function acceptFromConfig(c: Pick<SipClientConfig, "acceptFrom">): AcceptFrom {
  const v = (c.acceptFrom ?? "").trim();
  if (!v) return "registrar";
  if ((ACCEPT_FROM as readonly string[]).includes(v)) return v as AcceptFrom;
  throw new Error(`"Accept calls and requests from" has an unknown value "${v}" (use registrar, networks or anyone)`);
}

/** "10.0.0.0/8, 192.168.1.0/24\nfd00::/8" → the list; the core validates each block. */
export function splitNetworks(text: string | undefined): string[] {
  return (text ?? "")
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The editor's checkbox for receiving each DTMF method (all on unless unticked). */
const DTMF_RECEIVE_FIELD: Record<WireDtmfMethod, "dtmfRfc4733" | "dtmfInfo" | "dtmfInband"> = {
  rfc4733: "dtmfRfc4733",
  info: "dtmfInfo",
  inband: "dtmfInband",
};

/** The DTMF methods received and the one used to send (unknown names fall back to rfc4733, as before). */
export function dtmfMethodsFromConfig(c: Pick<SipClientConfig, "dtmfRfc4733" | "dtmfInfo" | "dtmfInband" | "dtmfSendMethod">): {
  receive: DtmfMethod[];
  send: DtmfMethod;
} {
  return {
    receive: DTMF_METHODS.filter((m) => c[DTMF_RECEIVE_FIELD[m]] !== false),
    send: isDtmfMethod(c.dtmfSendMethod) ? c.dtmfSendMethod : "rfc4733",
  };
}

export function codecOrderFromConfig(c: Pick<SipClientConfig, "codecOrder">): CodecOrder {
  return c.codecOrder === "mine" ? "mine" : "caller";
}

const LISTEN: readonly ListenMode[] = ["off", "tcp", "tls", "both"];

/** Old flows have no listen: off. An unknown value is refused. */
export function listenFromConfig(c: Pick<SipClientConfig, "listen" | "listenPort">): { listen: ListenMode; listenPort?: number } {
  const v = (c.listen ?? "").trim() || "off";
  if (!(LISTEN as readonly string[]).includes(v)) throw new Error(`"Listen for TCP/TLS" has an unknown value "${v}" (use off, tcp, tls or both)`);
  const text = String(c.listenPort ?? "").trim();
  const port = text === "" ? undefined : Number(text);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new Error(`"Listen port" must be a port number (0 to 65535)`);
  return { listen: v as ListenMode, listenPort: port };
}

export function rtpSecurityFromConfig(c: Pick<SipClientConfig, "rtpSecurity">): RtpSecurity {
  return c.rtpSecurity === "strict" ? "strict" : "latch";
}

const SRTP_MODES: readonly SrtpMode[] = ["off", "optional", "mandatory"];

/** Old flows have no srtp: off. An unknown value is refused rather than guessed. */
export function srtpModeFromConfig(c: Pick<SipClientConfig, "srtp">): SrtpMode {
  const v = (c.srtp ?? "").trim();
  if (!v) return "off";
  if ((SRTP_MODES as readonly string[]).includes(v)) return v as SrtpMode;
  throw new Error(`"SRTP" has an unknown value "${v}" (use off, optional or mandatory)`);
}

/** PEM text from the editor, or undefined when empty. `what` names the field in errors (never the content). */
function pem(text: string | undefined, what: string, kind: RegExp): string | undefined {
  const t = (text ?? "").trim();
  if (!t) return undefined;
  if (!kind.test(t)) throw new Error(`${what} is not in PEM format (expected a "-----BEGIN …-----" block)`);
  return normalizePem(t);
}

/**
 * Re-wraps every PEM block: a block pasted into a one-line field arrives with spaces instead of
 * line breaks, which OpenSSL refuses. Text outside the blocks (comments) is dropped.
 */
export function normalizePem(text: string): string {
  const blocks: string[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2].replace(/\s+/g, "");
    blocks.push(`-----BEGIN ${m[1]}-----\n${(body.match(/.{1,64}/g) ?? []).join("\n")}\n-----END ${m[1]}-----\n`);
  }
  return blocks.length ? blocks.join("") : text + "\n";
}

export function accountFromConfig(c: SipClientConfig, cred: SipClientCredentials | undefined): AccountOptions {
  const acceptFrom = acceptFromConfig(c);
  const trustedNetworks = splitNetworks(c.trustedNetworks);
  if (acceptFrom === "networks" && trustedNetworks.length === 0) {
    throw new Error(`"Accept calls and requests from" is set to networks, but no network is listed (e.g. 192.168.1.0/24)`);
  }
  const tlsCa = pem(c.tlsCa, "TLS CA certificate", /-----BEGIN [A-Z0-9 ]*CERTIFICATE-----/);
  const tlsCert = pem(c.tlsCert, "TLS client certificate", /-----BEGIN [A-Z0-9 ]*CERTIFICATE-----/);
  const tlsKey = pem(cred?.tlsKey, "TLS client key", /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/);
  if (!!tlsCert !== !!tlsKey) {
    throw new Error(tlsCert ? "TLS client certificate given without its key" : "TLS client key given without its certificate");
  }
  const listen = listenFromConfig(c);
  if ((listen.listen === "tls" || listen.listen === "both") && !tlsCert)
    throw new Error(
      `"Listen for TCP/TLS" with TLS needs a certificate and its key (Security tab: client cert. / client key serve as the server certificate)`,
    );
  return {
    server: (c.server ?? "").trim(),
    port: num(c.port, 0) || undefined,
    transport: c.transport || "udp",
    username: (c.username ?? "").trim(),
    domain: c.domain?.trim() || undefined,
    authUsername: c.authUsername?.trim() || undefined,
    password: cred?.password ?? "",
    displayName: c.displayName || undefined,
    expires: num(c.expires, 600),
    outboundProxy: c.outboundProxy?.trim() || undefined,
    localPort: num(c.localPort, 0) || undefined,
    localAddress: c.localAddress?.trim() || undefined,
    keepAlive: num(c.keepAlive, 25),
    tlsRejectUnauthorized: c.tlsRejectUnauthorized !== false,
    tlsCa,
    tlsCert,
    tlsKey,
    acceptFrom,
    trustedNetworks: trustedNetworks.length ? trustedNetworks : undefined,
    authRealm: c.authRealm?.trim() || undefined,
    ...listen,
    srtp: srtpModeFromConfig(c),
    srtpOverInsecure: c.srtpOverInsecure === true,
    wsPath: c.wsPath || undefined,
    userAgent: c.userAgent || undefined,
    // Stable per config node: a restart replaces its own binding.
    contactUser: "nr-" + c.id.replace(/[^A-Za-z0-9]/g, "").slice(0, 16),
  };
}

/** Kept for nodes that still import it from here; new code imports nodes/shared/values. */
export { num };
