// What the SIP transport needs from a network connection, whatever the protocol.
import { EventEmitter } from "events";
import type { Endpoint } from "../endpoint";
import { TransportKind } from "../../types";

export interface ConnectionOptions {
  kind: TransportKind;
  /** Next hop: the outbound proxy or the server, already resolved to an IP. */
  remote: Endpoint;
  /** Host name for TLS SNI / certificate check and the WebSocket URL. */
  remoteHost: string;
  localAddress?: string;
  localPort?: number;
  keepAliveSeconds: number;
  tlsRejectUnauthorized?: boolean;
  tlsCa?: string | Buffer;
  /** PEM client certificate and key for mutual TLS (TLS and WSS); both or neither. Never logged. */
  tlsCert?: string | Buffer;
  tlsKey?: string | Buffer;
  wsPath?: string;
}

export interface ConnectionEvents {
  message: [raw: string, source: Endpoint];
  close: [error?: Error];
  /** A keep-alive went unanswered: the connection is considered dead. */
  dead: [];
}

export abstract class Connection extends EventEmitter<ConnectionEvents> {
  /** Our address as seen on this connection (for Via/Contact). */
  abstract readonly local: Endpoint;
  abstract readonly reliable: boolean;
  /** Keep-alives sent and answered, where the transport has answers (RFC 5626 pong). */
  readonly keepAliveStats?: { pingsSent: number; pongsReceived: number };
  abstract open(): Promise<void>;
  abstract send(raw: string, dest?: Endpoint): Promise<void>;
  abstract close(): Promise<void>;
}

/** OpenSSL's "8000…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:…" → "TLS: tlsv13 alert certificate required". */
export function readableTlsError(err: Error): Error {
  const code = (err as { code?: string }).code ?? "";
  // Node's checks of the server certificate (SELF_SIGNED…, UNABLE_TO_VERIFY…, CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID);
  // not OpenSSL alerts from the server (ERR_SSL_…, e.g. it wants our client certificate).
  if (/^(?!ERR_SSL_).*(CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY))/.test(code)) {
    return Object.assign(new Error(`TLS server certificate not trusted: ${err.message} (give its CA certificate in the TLS settings)`), { code });
  }
  const m = /SSL routines:[^:]*:([^:]+):/.exec(err.message);
  return m ? Object.assign(new Error(`TLS: ${m[1]}`), { code }) : err;
}
