// The SIP account as the core sees it (the Node-RED config node maps its properties onto this).
import { SrtpMode, TransportKind } from "../types";
import type { ListenMode } from "../sip/transports/stream-listener";

/**
 * Who may send us out-of-dialog requests (INVITE, OPTIONS, MESSAGE…):
 * - "registrar": the registrar and outbound proxy only (every address their names resolve to,
 *   and the source of the registration's responses). The default.
 * - "networks": those, plus the CIDR blocks in `trustedNetworks`.
 * - "anyone": every source (a phone reachable directly, e.g. on a LAN without a PBX).
 * Anything else is dropped silently: no 404, no OPTIONS answer.
 */
export type AcceptFrom = "registrar" | "networks" | "anyone";

export interface AccountOptions {
  server: string;
  port?: number;
  transport?: TransportKind;
  username: string;
  /** AOR domain; default: server. */
  domain?: string;
  /** Digest user; default: username. */
  authUsername?: string;
  password?: string;
  displayName?: string;
  /** Requested registration lifetime in seconds. */
  expires?: number;
  /** `host[:port]`; every out-of-dialog request goes there. */
  outboundProxy?: string;
  localPort?: number;
  localAddress?: string;
  /** Seconds between keep-alives (CRLF on UDP, ping/pong on streams); 0 = off. */
  keepAlive?: number;
  tlsRejectUnauthorized?: boolean;
  tlsCa?: string | Buffer;
  /** PEM client certificate and private key for TLS/WSS (mutual TLS); both or neither. */
  tlsCert?: string | Buffer;
  tlsKey?: string | Buffer;
  /** Who may send out-of-dialog requests; default "registrar". */
  acceptFrom?: AcceptFrom;
  /** CIDR blocks ("192.168.1.0/24", "fd00::/8", "10.0.0.7") trusted when acceptFrom is "networks". */
  trustedNetworks?: string[];
  /** A digest realm answered besides the one the registrar used; nothing else is ever answered. */
  authRealm?: string;
  /**
   * SRTP with SDES keys (RFC 3711, RFC 4568): "off" (default; plain RTP, an RTP/SAVP offer gets 488),
   * "optional" (offer RTP/AVP with a=crypto, take SRTP when the peer does), "mandatory" (offer
   * RTP/SAVP, refuse plain offers and answers with 488 / an ended call).
   */
  srtp?: SrtpMode;
  /**
   * Send and accept SDES keys over plain UDP/TCP signalling. Default false: keys only over TLS/WSS,
   * because anyone who can read the SIP messages can then decrypt the call.
   */
  srtpOverInsecure?: boolean;
  wsPath?: string;
  userAgent?: string;
  /** Stable Contact user so a restart replaces its own binding instead of adding one. */
  contactUser?: string;
  /** DNS servers ("127.0.0.1:5353") FOR TESTS ONLY (not in the editor): unset = the system resolver. */
  dnsServers?: string[];
  /**
   * Listen for SIP over TCP and/or TLS from peers (a phone or PBX calling us directly); default "off".
   * Connections pass the acceptFrom/trustedNetworks check at accept (an untrusted source is closed
   * before any TLS handshake). TLS uses tlsCert/tlsKey as the server certificate.
   */
  listen?: ListenMode;
  /** TCP port of the listener (TLS too with listen "tls"; with "both" TLS uses listenPort + 1). Default 5060 (5061 for "tls"). */
  listenPort?: number;
  /** false = stay INACTIVE (calls out only through the proxy). Default true. */
  register?: boolean;
}

export const DEFAULT_EXPIRES = 600;
export const DEFAULT_KEEPALIVE = 25;
