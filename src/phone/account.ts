// The SIP account as the core sees it (the Node-RED config node maps its properties onto this).
import { TransportKind } from "../types";

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
  wsPath?: string;
  userAgent?: string;
  /** Stable Contact user so a restart replaces its own binding instead of adding one. */
  contactUser?: string;
  /** false = stay INACTIVE (calls out only through the proxy). Default true. */
  register?: boolean;
}

export const DEFAULT_EXPIRES = 600;
export const DEFAULT_KEEPALIVE = 25;
