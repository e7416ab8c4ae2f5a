// Inbound SIP over TCP/TLS (RFC 3261 §18, issue 10 item 5): a listening socket per protocol,
// the trust check at accept (before any TLS handshake), bounds on connections, and the lookup of a
// live connection by remote address:port or by the peer's Via sent-by / Contact (RFC 5923-like
// alias) so that responses and our own in-dialog requests go back over the connection the peer opened.

import { EventEmitter } from "events";
import net from "net";
import tls from "tls";
import type { Endpoint } from "../endpoint";
import { canonicalAddress } from "../cidr";
import { StreamFramer } from "./stream-framer";
import { WireMessage, headerName, headerValue, rebuild, startLineOf } from "../wire-message";
import { bareHost } from "../wire-rewriter";

/** Inbound connections open at once (both protocols); one more is closed at accept. */
export const MAX_INBOUND_CONNECTIONS = 32;
/** Inbound connections open at once from one remote address. */
export const MAX_INBOUND_CONNECTIONS_PER_ADDRESS = 4;
/** An inbound connection that carried nothing (not even a keep-alive) for this long is closed. */
export const INBOUND_IDLE_TIMEOUT_MS = 5 * 60_000;
/** A TLS client must finish its handshake within this time (slowloris). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Other host:port names (Via sent-by, Contact) a connection is known by, per connection. */
export const MAX_ALIASES_PER_CONNECTION = 4;

/** Requests received on inbound connections whose responses we can still route (branch → connection). */
export const MAX_INBOUND_TRANSACTIONS = 512;

/** Which listening sockets an account opens: none (the default), TCP, TLS or both. */
export type ListenMode = "off" | "tcp" | "tls" | "both";
export const LISTEN_MODES: readonly ListenMode[] = ["off", "tcp", "tls", "both"];
export type StreamKind = "tcp" | "tls";

export interface StreamListenerOptions {
  mode: ListenMode;
  /** TCP port (TLS too with mode "tls"; with "both" TLS listens on port + 1). 0 = any free port. */
  port: number;
  /** Address to bind; default every interface. */
  address?: string;
  /** PEM certificate and key of the TLS listener (required for "tls"/"both"). Never logged. */
  tlsCert?: string | Buffer;
  tlsKey?: string | Buffer;
  /** The trust check: false closes the connection at accept, before any TLS handshake. */
  admit: (address: string) => boolean;
  log?: (level: "debug" | "warn", text: string) => void;
  /** INBOUND_IDLE_TIMEOUT_MS, shorter in tests. */
  idleTimeoutMs?: number;
}

export interface StreamListenerCounters {
  accepted: number;
  /** Closed at accept: untrusted source. */
  untrusted: number;
  /** Closed at accept: over MAX_INBOUND_CONNECTIONS or MAX_INBOUND_CONNECTIONS_PER_ADDRESS. */
  overLimit: number;
  /** TLS handshakes that failed or timed out. */
  handshakeFailures: number;
  /** Closed for idleness (INBOUND_IDLE_TIMEOUT_MS). */
  idle: number;
}

/** The ports a listener's protocols listen on, for a mode and a configured port. */
export function listenPorts(mode: ListenMode, port: number): { tcp?: number; tls?: number } {
  if (mode === "tcp") return { tcp: port };
  if (mode === "tls") return { tls: port };
  if (mode === "both") return { tcp: port, tls: port ? port + 1 : 0 };
  return {};
}

/** One connection a peer opened to us. */
export class InboundConnection {
  /** Our address as the peer sees it, with the LISTENING port: what Via/Contact advertise. */
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly aliases = new Set<string>();
  /** Where writes go: the socket itself, or its TLS layer once the handshake is done. */
  stream: net.Socket;
  constructor(
    readonly kind: StreamKind,
    private readonly socket: net.Socket,
    listenPort: number,
  ) {
    this.stream = socket;
    this.remote = { address: canonicalAddress(socket.remoteAddress ?? "") /* "::ffff:a.b.c.d" → "a.b.c.d" */, port: socket.remotePort ?? 0 };
    this.local = { address: (socket.localAddress ?? "0.0.0.0").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1"), port: listenPort };
  }
  get open(): boolean {
    return !this.socket.destroyed;
  }
  send(raw: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed || this.stream.destroyed) {
        reject(new Error("inbound connection is closed"));
        return;
      }
      this.stream.write(raw, (err) => (err ? reject(err) : resolve()));
    });
  }
  destroy(): void {
    this.socket.destroy();
  }
}

export interface StreamListenerEvents {
  message: [raw: string, source: Endpoint, conn: InboundConnection];
}

const keyOf = (kind: StreamKind, ep: Endpoint) => `${kind}|${canonicalAddress(ep.address)}|${ep.port}`;

export class StreamListener extends EventEmitter<StreamListenerEvents> {
  readonly counters: StreamListenerCounters = { accepted: 0, untrusted: 0, overLimit: 0, handshakeFailures: 0, idle: 0 };
  private readonly servers = new Map<StreamKind, net.Server>();
  private readonly boundPorts: { tcp?: number; tls?: number } = {};
  private readonly connections = new Set<InboundConnection>();
  /** remote address:port and aliases → connection (same kind). */
  private readonly byKey = new Map<string, InboundConnection>();
  private secureContext?: tls.SecureContext;
  /** Via branch of a request received here → its connection (RFC 3261 §18.2.2: the response goes back on it). */
  private readonly transactions = new Map<string, InboundConnection>();

  constructor(private readonly opts: StreamListenerOptions) {
    super();
    if (!LISTEN_MODES.includes(opts.mode)) throw new Error(`listen must be "off", "tcp", "tls" or "both", not "${String(opts.mode)}"`);
    if ((opts.mode === "tls" || opts.mode === "both") && !(opts.tlsCert && opts.tlsKey))
      throw new Error(`listening for TLS needs the account's TLS certificate and key (tlsCert, tlsKey)`);
  }

  /** The ports actually bound (after listen()). */
  get ports(): { tcp?: number; tls?: number } {
    return { ...this.boundPorts };
  }
  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(): Promise<void> {
    if (this.servers.size) return;
    const wanted = listenPorts(this.opts.mode, this.opts.port);
    if (wanted.tls !== undefined) this.secureContext = tls.createSecureContext({ cert: this.opts.tlsCert, key: this.opts.tlsKey });
    try {
      for (const kind of ["tcp", "tls"] as const) {
        const port = wanted[kind];
        if (port === undefined) continue;
        const server = net.createServer({ pauseOnConnect: true }, (socket) => this.accept(kind, socket));
        // A backstop only (connections refused there are not counted); the limits are enforced in accept().
        server.maxConnections = 2 * MAX_INBOUND_CONNECTIONS;
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen({ port, host: this.opts.address || undefined }, () => {
            server.off("error", reject);
            resolve();
          });
        });
        server.on("error", (err) => this.opts.log?.("warn", `SIP ${kind.toUpperCase()} listener: ${err.message}`));
        this.servers.set(kind, server);
        this.boundPorts[kind] = (server.address() as net.AddressInfo).port;
      }
    } catch (err) {
      await this.close();
      throw new Error(`cannot listen for SIP: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  /** A live connection of this kind to the peer at `ep` (its source address:port or an alias). */
  find(kind: StreamKind, ep: Endpoint): InboundConnection | undefined {
    const c = this.byKey.get(keyOf(kind, ep));
    return c?.open ? c : undefined;
  }

  /** The peer said it is also reachable at `ep` (Via sent-by, Contact): our requests there reuse the connection. */
  addAlias(conn: InboundConnection, ep: Endpoint): void {
    const key = keyOf(conn.kind, ep);
    if (conn.aliases.has(key) || !conn.open) return;
    if (conn.aliases.size >= MAX_ALIASES_PER_CONNECTION) return;
    conn.aliases.add(key);
    this.byKey.set(key, conn); // the newest connection of a peer wins
  }

  /** A request came in on `conn`: remember its branch, and the peer's Via sent-by and Contact as aliases. */
  received(conn: InboundConnection, msg: WireMessage): void {
    const branch = transactionOf(msg);
    if (branch) {
      this.transactions.delete(branch);
      if (this.transactions.size >= MAX_INBOUND_TRANSACTIONS) this.transactions.delete(this.transactions.keys().next().value as string);
      this.transactions.set(branch, conn);
    }
    const defaultPort = conn.kind === "tls" ? 5061 : 5060;
    const via = msg.topVia;
    if (via && net.isIP(bareHost(via.host))) this.addAlias(conn, { address: bareHost(via.host), port: via.port ?? defaultPort });
    const contact = msg.headers.find((l) => headerName(l) === "contact");
    const ep = contact ? uriEndpoint(headerValue(contact), defaultPort) : undefined;
    if (ep) this.addAlias(conn, ep);
  }

  /**
   * The connection a response goes back on: the one its request came in on; "gone" when that
   * connection has closed (the response is dropped: it must not go to the server instead).
   */
  connectionForResponse(msg: WireMessage): InboundConnection | "gone" | undefined {
    const branch = transactionOf(msg);
    const c = branch ? this.transactions.get(branch) : undefined;
    return c && (c.open ? c : "gone");
  }

  private accept(kind: StreamKind, socket: net.Socket): void {
    socket.on("error", () => undefined); // reported through close; never thrown
    const address = canonicalAddress(socket.remoteAddress ?? ""); /* "::ffff:a.b.c.d" → "a.b.c.d" */
    let admitted = false;
    try {
      admitted = this.opts.admit(address);
    } catch {
      admitted = false;
    }
    if (!admitted) {
      this.counters.untrusted++;
      this.opts.log?.("debug", `closed a SIP ${kind.toUpperCase()} connection from untrusted ${address}`);
      socket.destroy();
      return;
    }
    const fromHere = [...this.connections].filter((c) => c.remote.address === address).length;
    if (this.connections.size >= MAX_INBOUND_CONNECTIONS || fromHere >= MAX_INBOUND_CONNECTIONS_PER_ADDRESS) {
      this.counters.overLimit++;
      this.opts.log?.("warn", `closed a SIP ${kind.toUpperCase()} connection from ${address}: too many connections`);
      socket.destroy();
      return;
    }
    this.counters.accepted++;
    const conn = new InboundConnection(kind, socket, this.boundPorts[kind] ?? 0);
    this.connections.add(conn);
    socket.once("close", () => this.forget(conn));
    socket.setTimeout(this.opts.idleTimeoutMs ?? INBOUND_IDLE_TIMEOUT_MS, () => {
      this.counters.idle++;
      socket.destroy();
    });
    if (kind === "tcp") {
      socket.setNoDelay(true);
      this.attach(conn, socket, socket);
      socket.resume();
      return;
    }
    // The handshake starts only now, after the trust and limit checks.
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.secureContext, requestCert: false });
    let done = false;
    const handshake = setTimeout(() => {
      done = true;
      this.counters.handshakeFailures++;
      socket.destroy();
    }, TLS_HANDSHAKE_TIMEOUT_MS);
    secure.on("error", () => {
      if (!done) this.counters.handshakeFailures++;
      done = true;
      socket.destroy();
    });
    secure.once("secure", () => {
      done = true;
      clearTimeout(handshake);
      conn.stream = secure;
      this.attach(conn, secure, socket);
    });
    socket.once("close", () => {
      clearTimeout(handshake);
      secure.destroy();
    });
    socket.resume();
  }

  private attach(conn: InboundConnection, stream: net.Socket, raw: net.Socket): void {
    this.byKey.set(keyOf(conn.kind, conn.remote), conn);
    const framer = new StreamFramer({
      message: (text) => this.emit("message", text, conn.remote, conn),
      ping: () => stream.write("\r\n"), // RFC 5626 pong
      pong: () => undefined,
      error: () => raw.destroy(), // out of sync or too large: the peer starts over
    });
    stream.on("data", (chunk: Buffer) => {
      try {
        framer.push(chunk);
      } catch {
        raw.destroy();
      }
    });
  }

  private forget(conn: InboundConnection): void {
    this.connections.delete(conn);
    for (const key of [keyOf(conn.kind, conn.remote), ...conn.aliases]) if (this.byKey.get(key) === conn) this.byKey.delete(key);
  }
}

/** A request's top Via branch with its sent-by: the same in its responses, and not taken over by another peer's branch. */
function transactionOf(msg: WireMessage): string | undefined {
  const via = msg.topVia;
  return via?.branch ? `${via.branch}|${via.host.toLowerCase()}|${via.port ?? ""}` : undefined;
}

/** The IP host:port of the first SIP URI in a header value (names are ignored: no DNS on the receive path). */
export function uriEndpoint(value: string, defaultPort: number): Endpoint | undefined {
  const m = /sips?:(?:[^@<>\s,;]*@)?(\[[^\]]+\]|[^:;>,\s?]+)(?::(\d{1,5}))?/i.exec(value);
  if (!m) return undefined;
  const address = bareHost(m[1]);
  if (!net.isIP(address)) return undefined;
  const port = m[2] ? Number(m[2]) : defaultPort;
  return port > 0 && port < 65536 ? { address, port } : undefined;
}

/** The transport a target URI asks for: sips: or transport=tls → tls, transport=tcp → tcp, else undefined. */
export function uriStreamKind(uri: string): StreamKind | undefined {
  if (/^\s*<?\s*sips:/i.test(uri)) return "tls";
  const t = /;\s*transport=(\w+)/i.exec(uri)?.[1]?.toLowerCase();
  return t === "tcp" || t === "tls" ? t : undefined;
}

/**
 * Our Via and Contact (the lines still carrying the placeholder) say the transport of the connection a
 * message is sent on (an account on UDP answering a call that came in over TCP).
 */
export function retargetTransport(msg: WireMessage, placeholder: string, kind: StreamKind): WireMessage {
  const proto = kind.toUpperCase();
  const headers = msg.headers.map((line) => {
    if (!line.includes(placeholder)) return line;
    const name = headerName(line);
    if (name === "via")
      return line.replace(new RegExp(`SIP\\s*/\\s*2\\.0\\s*/\\s*\\w+(\\s+${placeholder.replace(/\./g, "\\.")})`, "i"), `SIP/2.0/${proto}$1`);
    if (name === "contact") return line.replace(/;\s*transport=\w+/i, `;transport=${kind}`);
    return line;
  });
  return { ...msg, headers, raw: rebuild(startLineOf(msg.raw), headers, msg.body) };
}
