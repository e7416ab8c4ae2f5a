// sip-client editor properties → core options. The property names are the user-facing contract.
import type { AccountOptions } from "../../src/phone/account";
import type { TransportKind } from "../../src/types";

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
  wsPath?: string;
  logSip?: boolean;
  userAgent?: string;
  codecs?: string;
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

export interface SipClientCredentials { password?: string }

const num = (v: unknown, fallback: number): number => {
  const n = Number(v);
  return v === "" || v === undefined || v === null || Number.isNaN(n) ? fallback : n;
};

export function accountFromConfig(c: SipClientConfig, cred: SipClientCredentials | undefined): AccountOptions {
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
    wsPath: c.wsPath || undefined,
    userAgent: c.userAgent || undefined,
    // Stable per config node: a restart replaces its own binding.
    contactUser: "nr-" + c.id.replace(/[^A-Za-z0-9]/g, "").slice(0, 16),
  };
}

export { num };
