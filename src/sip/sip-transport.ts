// The sip.js Transport: sip.js hands us finished message strings, we put them on
// the wire through a Connection, with the Via/Contact rewrite, RFC 3581 response
// routing and, on UDP, RFC 3261 §17 retransmission.

import { EventEmitter } from "events";
import { EmitterImpl, Transport, TransportState } from "sip.js";
// sip.js's own parser (0.21.2, pinned): a request it cannot parse is dropped by sip.js
// without an answer; we parse it first to answer 400 instead of leaving the caller hanging.
import { Parser } from "sip.js/lib/core/messages/parser.js";
import { Connection, ConnectionOptions, createConnection } from "./transports";
import type { Endpoint } from "./endpoint";
import { UdpReliability } from "./udp-reliability";
import { WireMessage, headerName, headerValue, parseWireMessage } from "./wire-message";
import { WireRewriter, maskCredentials, formatHostPort } from "./wire-rewriter";
import { resolveHost, splitHostPort } from "./dns-resolve";
import { DnsClient, FailoverVerdict, ServerLocator, ServerTarget, systemDns } from "./server-location";
import { DEFAULT_PORTS } from "./transports";
import { TrustPolicy } from "./trust-policy";
import { stripUntrustedIdentity } from "./caller-id";
import { DigestGuard } from "./digest-guard";
import { RateLimiter, TRUSTED_INVITE_RATE, OTHER_INVITE_RATE, INVITE_RETRY_AFTER_S } from "./rate-limiter";
import { RateLimitedLog } from "./rate-limited-log";
import { statelessResponse } from "./stateless-response";
import { canonicalAddress } from "./cidr";
import { AcceptFrom } from "../phone/account";
import {
  InboundConnection,
  ListenMode,
  StreamListener,
  StreamListenerCounters,
  retargetTransport,
  uriEndpoint,
  uriStreamKind,
} from "./transports/stream-listener";

/** Connection settings (minus the resolved next hop), plus what the SIP layer adds. */
/** INVITEs whose arrival transport is remembered (a call's SRTP decision reads it at once). */
export const MAX_REMEMBERED_ARRIVALS = 256;

export interface SipTransportOptions extends Omit<ConnectionOptions, "remote" | "remoteHost"> {
  /**
   * Where out-of-dialog requests go: outbound proxy or server. `portGiven: false` = the user gave
   * no port, so a name is located by NAPTR/SRV (RFC 3263, server-location.ts); default true.
   */
  nextHop: { host: string; port: number; portGiven?: boolean };
  placeholder: string;
  /** Every message in and out, credentials masked. */
  logMessage?: (direction: "in" | "out", raw: string, peer: Endpoint) => void;
  /** Our Contact user: requests addressed to the device itself (no user part) are given it. */
  localUser?: () => string | undefined;
  /** Something we received could not be understood. */
  onMalformed?: (reason: string, peer: Endpoint) => void;
  /** Who may send out-of-dialog requests (default "registrar"); see AccountOptions. */
  acceptFrom?: AcceptFrom;
  /** CIDR blocks trusted with acceptFrom "networks"; an invalid entry throws in the constructor. */
  trustedNetworks?: string[];
  /** A digest realm answered besides the registrar's. */
  authRealm?: string;
  /** The registrar (and proxy) names besides nextHop, with their ports: their addresses are trusted. */
  trustedHosts?: Array<{ host: string; port: number; portGiven?: boolean }>;
  /** DNS servers ("127.0.0.1:5353") FOR TESTS ONLY: production leaves it unset (the system resolver). */
  dnsServers?: string[];
  /** The SRV weighted draw (tests). */
  random?: () => number;
  /** Security and failure notes (already rate limited); never carries secrets. */
  log?: (level: "debug" | "warn", text: string) => void;
  /** Injectable clock for the limits (tests). */
  now?: () => number;
  /** Inbound TCP/TLS (stream-listener.ts): off by default; TLS uses tlsCert/tlsKey. */
  listen?: { mode: ListenMode; port: number; address?: string };
}

/** Counters of what the receive path refused or failed on (diagnostics and tests). */
export interface SecurityCounters {
  /** Requests dropped at the trust boundary. */
  untrusted: number;
  /** INVITEs over their source's rate (503 or dropped). */
  throttled: number;
  /** 401/407 whose challenge we refused to answer. */
  refusedChallenges: number;
  /** Messages whose handling threw (caught). */
  failures: number;
  /** Unparsable messages. */
  malformed: number;
}

export interface SipTransportEvents {
  connected: [];
  disconnected: [error?: Error];
  /** A response as it came from the wire (before sip.js sees it). */
  response: [msg: WireMessage];
}

/**
 * Why sip.js would drop a request silently or throw on it, or undefined if it can take it.
 * (Found by fuzzing: a body without Content-Type throws inside sip.js's dialog code.)
 */
function unhandledRequestProblem(raw: string, msg: WireMessage): string | undefined {
  const parsed = Parser.parseMessage(raw, QUIET_LOGGER as never) as { ruri?: unknown } | undefined;
  if (!parsed) return "sip.js cannot parse it";
  if (!parsed.ruri) return "no valid Request-URI";
  if (msg.body.trim().length > 0 && !msg.headers.some((l) => headerName(l) === "content-type")) return "a body without Content-Type";
  return undefined;
}

/** Responses sip.js would throw on (found by fuzzing); undefined when fine. */
function responseProblem(msg: WireMessage): string | undefined {
  const code = msg.statusCode ?? 0;
  if (code < 100 || code > 699) return `a response with status code ${code}`;
  const cseq = msg.headers.find((l) => headerName(l) === "cseq");
  if (!cseq || !/^\d{1,10}\s+[A-Za-z]+$/.test(headerValue(cseq))) return "a response with an invalid CSeq";
  if (msg.body.trim().length > 0 && !msg.headers.some((l) => headerName(l) === "content-type")) return "a response with a body but no Content-Type";
  return undefined;
}

/** sip.js's parser logs through this: its complaints are summarised by our own rate-limited line. */
const QUIET_LOGGER = { error() {}, warn() {}, log() {}, debug() {} };

export class SipTransport implements Transport {
  readonly protocol: string;
  readonly events = new EventEmitter<SipTransportEvents>();
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  readonly stateChange = new EmitterImpl<TransportState>();
  private _state: TransportState = TransportState.Disconnected;
  private connection?: Connection;
  private reliability?: UdpReliability;
  private readonly rewriter: WireRewriter;
  private nextHopResolved?: Endpoint;
  /** The next hop's ordered targets (RFC 3263), with fail-over and re-resolution at TTL. */
  private readonly locator: ServerLocator;
  private readonly dns: DnsClient;
  /** A fail-over moved to another target: the next ensureConnected() reconnects. */
  private relocate = false;
  private connecting?: Promise<void>;
  private ensuring?: Promise<void>;
  /** "address|port" of every resolved address of the configured server/proxy. */
  private configuredEndpoints = new Set<string>();
  lastError?: Error;
  readonly trust: TrustPolicy;
  private readonly digest: DigestGuard;
  /** How each recent INVITE arrived (arrivedSecurely), oldest dropped first. */
  private readonly arrivals = new Map<string, boolean>();
  private readonly inviteRate: RateLimiter;
  private readonly dropLog: RateLimitedLog;
  private readonly warnLog: RateLimitedLog;
  private readonly failLog: RateLimitedLog;
  private readonly malformedLog: RateLimitedLog;
  readonly securityCounters: SecurityCounters = { untrusted: 0, throttled: 0, refusedChallenges: 0, failures: 0, malformed: 0 };
  /** Connections peers open to us (listen option); undefined when off. */
  private readonly listener?: StreamListener;

  constructor(private readonly opts: SipTransportOptions) {
    this.protocol = opts.kind.toUpperCase();
    this.rewriter = new WireRewriter(opts.placeholder);
    const now = opts.now ?? Date.now;
    this.trust = new TrustPolicy({ acceptFrom: opts.acceptFrom, trustedNetworks: opts.trustedNetworks, now });
    this.digest = new DigestGuard(opts.authRealm);
    this.inviteRate = new RateLimiter(now);
    const sink = (level: "debug" | "warn") => (text: string) => this.opts.log?.(level, text);
    this.dropLog = new RateLimitedLog(sink("debug"), { now });
    this.warnLog = new RateLimitedLog(sink("warn"), { now });
    this.failLog = new RateLimitedLog(sink("warn"), { now });
    this.malformedLog = new RateLimitedLog((text) => this.opts.onMalformed?.(text, this.malformedPeer), { now });
    this.dns = systemDns(opts.dnsServers);
    this.locator = this.locatorFor(opts.nextHop);
    if (opts.listen && opts.listen.mode !== "off") {
      this.listener = new StreamListener({
        ...opts.listen,
        tlsCert: opts.tlsCert,
        tlsKey: opts.tlsKey,
        admit: (address) => this.trust.isTrusted(address),
        log: (level, text) => (level === "warn" ? this.warnLog : this.dropLog).log(text),
      });
      this.listener.on("message", (raw, source, conn) => this.receive(raw, source, conn));
    }
  }

  /** Opens the listening sockets, if any (Phone.start). Throws when a port cannot be bound. */
  async listen(): Promise<void> {
    await this.listener?.listen();
  }
  /** Closes the listening sockets and every inbound connection (Phone.stop). */
  async stopListening(): Promise<void> {
    await this.listener?.close();
  }
  /** The ports the listener bound (empty when off). */
  get listeningPorts(): { tcp?: number; tls?: number } {
    return this.listener?.ports ?? {};
  }
  get listenerCounters(): StreamListenerCounters | undefined {
    return this.listener?.counters;
  }

  /** sips: needs TLS all the way (RFC 3261 §26.2.2): never sent over anything else. */
  assertCanReach(target: string): void {
    if (/^\s*<?\s*sips:/i.test(target) && this.opts.kind !== "tls" && this.opts.kind !== "wss")
      throw new Error(`a sips: address needs the TLS transport (this account uses ${this.opts.kind}): not dialled over an unencrypted connection`);
  }

  get state(): TransportState {
    return this._state;
  }
  get local(): Endpoint | undefined {
    return this.connection?.local;
  }
  /**
   * Whether the INVITE of this call came over TLS/WSS (true), another transport (false), or is not
   * known (undefined: not ours, or forgotten). SDES keys may only travel over a secure hop, and with
   * an inbound listener that hop need not be the account's transport (srtp-policy.ts).
   */
  arrivedSecurely(callId: string): boolean | undefined {
    return this.arrivals.get(callId);
  }
  private noteArrival(callId: string, secure: boolean): void {
    if (this.arrivals.size >= MAX_REMEMBERED_ARRIVALS) this.arrivals.delete(this.arrivals.keys().next().value!);
    this.arrivals.set(callId, secure);
  }

  /** Realms the registrar challenged us with (for the SIP doctor; no secret). */
  get registrarRealms(): string[] {
    return this.digest.registrarRealms;
  }
  /** The resolved address of the next hop (server or outbound proxy), once connected. */
  get nextHop(): Endpoint | undefined {
    return this.nextHopResolved;
  }
  get reliabilityCounters() {
    return this.reliability?.counters;
  }
  get keepAliveStats() {
    return this.connection?.keepAliveStats;
  }
  isConnected(): boolean {
    return this._state === TransportState.Connected;
  }

  /** One connect at a time: a fail-over retry and a reconnect kick may ask at once, and two would leak a socket. */
  connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    if (this._state === TransportState.Connected) return;
    this.setState(TransportState.Connecting);
    try {
      const target = await this.locator.current();
      this.nextHopResolved = { address: target.address, port: target.port };
      await this.resolveTrusted();
      const {
        nextHop,
        placeholder,
        logMessage,
        localUser,
        onMalformed,
        acceptFrom,
        trustedNetworks,
        authRealm,
        trustedHosts,
        log,
        now,
        dnsServers,
        random,
        listen,
        ...connection
      } = this.opts;
      const conn = createConnection({ ...connection, remote: this.nextHopResolved, remoteHost: nextHop.host });
      await conn.open();
      this.connection = conn;
      if (!conn.reliable)
        this.reliability = new UdpReliability((raw, dest) => {
          this.write(raw, dest).catch(() => undefined);
        });
      conn.on("message", (raw, source) => this.receive(raw, source));
      conn.on("close", (err) => {
        if (this.connection !== conn) return;
        this.connection = undefined;
        this.reliability?.close();
        this.reliability = undefined;
        this.lastError = err;
        this.setState(TransportState.Disconnected);
        this.onDisconnect?.(err);
        this.events.emit("disconnected", err);
      });
      this.lastError = undefined;
      this.setState(TransportState.Connected);
      this.onConnect?.();
      this.events.emit("connected");
    } catch (err) {
      this.lastError = err as Error;
      this.setState(TransportState.Disconnected);
      throw err;
    }
  }

  /**
   * Connects when needed. Before that, the server is located again once its DNS TTL ran out (the
   * connection moves only when its target left the records) or after a fail-over (it moves).
   * Called before every REGISTER (first, refresh, retry).
   */
  ensureConnected(): Promise<void> {
    this.ensuring ??= this.locateAndConnect().finally(() => {
      this.ensuring = undefined;
    });
    return this.ensuring;
  }

  private async locateAndConnect(): Promise<void> {
    let move = this.relocate;
    this.relocate = false;
    if (!move && this.isConnected() && this.locator.stale) {
      move = await this.locator.refresh();
      if (!move) await this.resolveTrusted();
      else this.opts.log?.("warn", `DNS records of ${this.locator.host} changed: moving to ${describeTarget(this.locator.all[0])}`);
    }
    if (move && this.isConnected()) await this.disconnect();
    if (!this.isConnected()) await this.connect();
  }

  /**
   * The current target did not answer (a request timed out, a connection was refused): the next
   * one is used by the next ensureConnected(). retryNow: another target is left in this round.
   * A server with a single address is reconnected as before (no change of target).
   */
  failover(reason: string): FailoverVerdict {
    const verdict = this.locator.failed(reason);
    if (this.locator.all.length > 1) this.relocate = true;
    if (verdict.retryNow) this.opts.log?.("warn", verdict.reason);
    return verdict;
  }

  async disconnect(): Promise<void> {
    const conn = this.connection;
    this.connection = undefined;
    this.reliability?.close();
    this.reliability = undefined;
    if (conn) await conn.close();
    if (this._state !== TransportState.Disconnected) {
      this.setState(TransportState.Disconnected);
      this.onDisconnect?.();
    }
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }

  async send(message: string): Promise<void> {
    const inbound = this.listener && this.inboundRoute(message);
    if (inbound === "gone") return; // the peer closed the connection its request came on: nowhere to answer
    if (inbound) return this.sendInbound(inbound.parsed, inbound.conn);
    const conn = this.connection;
    if (!conn) throw new Error(`not connected (${this.lastError?.message ?? "transport down"})`);
    const parsed = parseWireMessage(message);
    if (!parsed) throw new Error("refusing to send an unparsable SIP message");
    const wire = this.rewriter.outgoingMessage(parsed, conn.local);
    const raw = wire.raw;
    const dest = conn.reliable ? this.nextHopResolved! : await this.destinationOf(wire);
    if (wire.isRequest && !wire.toTag && /^sips:/i.test(wire.requestUri ?? "") && this.opts.kind !== "tls" && this.opts.kind !== "wss")
      throw new Error(`refusing to send a request for a sips: URI over ${this.opts.kind}`);
    if (wire.isRequest) {
      // On a stream everything goes to the next hop; on UDP compare the destination.
      this.digest.outgoingRequest(wire, conn.reliable || this.isConfiguredEndpoint(dest));
      if (wire.method === "INVITE") this.trust.outgoingInvite(wire);
    }
    if (this.reliability) {
      if (wire.isRequest) this.reliability.outgoingRequest(wire, dest);
      else this.reliability.outgoingResponse(wire);
    }
    await this.write(raw, dest);
  }

  /**
   * A message that goes over a connection a peer opened to us: a response to a request that came in
   * on it, or an in-dialog request to a peer (Route or remote target, an IP address) that has one open.
   */
  private inboundRoute(message: string): { parsed: WireMessage; conn: InboundConnection } | "gone" | undefined {
    const listener = this.listener!;
    const parsed = parseWireMessage(message);
    if (!parsed) return undefined;
    if (!parsed.isRequest) {
      const conn = listener.connectionForResponse(parsed);
      return conn === "gone" ? conn : conn ? { parsed, conn } : undefined;
    }
    if (!parsed.toTag || parsed.method === "CANCEL") return undefined; // out of dialog: the next hop
    const route = parsed.headers.find((l) => headerName(l) === "route");
    const target = route ? headerValue(route).split(",")[0] : parsed.requestUri!;
    const uri = target.replace(/^<|>.*$/g, "");
    if (/;\s*transport=(?!tcp\b|tls\b)/i.test(uri)) return undefined; // udp, ws…: not a stream of ours
    // No transport named (a phone may leave it out): the peer's live connection of either kind, ours first.
    const named = uriStreamKind(uri);
    const kinds: Array<"tcp" | "tls"> = named ? [named] : this.opts.kind === "tls" ? ["tls", "tcp"] : ["tcp", "tls"];
    for (const kind of kinds) {
      const ep = uriEndpoint(target, kind === "tls" ? 5061 : 5060);
      const conn = ep && listener.find(kind, ep);
      if (conn) return { parsed, conn };
    }
    return undefined;
  }

  private async sendInbound(parsed: WireMessage, conn: InboundConnection): Promise<void> {
    const own = this.opts.kind === conn.kind ? parsed : retargetTransport(parsed, this.opts.placeholder, conn.kind);
    const wire = this.rewriter.outgoingMessage(own, conn.local);
    if (wire.isRequest) {
      this.digest.outgoingRequest(wire, false);
      if (wire.method === "INVITE") this.trust.outgoingInvite(wire);
    }
    this.opts.logMessage?.("out", maskCredentials(wire.raw), conn.remote);
    await conn.send(wire.raw);
  }

  private async write(raw: string, dest: Endpoint): Promise<void> {
    const conn = this.connection;
    if (!conn) return;
    this.opts.logMessage?.("out", maskCredentials(raw), dest);
    await conn.send(raw, dest);
  }

  /**
   * Every message from the network enters here. Nothing may escape: an exception would
   * reach the socket's event handler and kill the host process (Node-RED).
   */
  private receive(raw: string, source: Endpoint, inbound?: InboundConnection): void {
    let msg: WireMessage | undefined;
    try {
      msg = this.accept(raw, source, inbound);
      if (msg) this.deliver(msg, source, inbound ? inbound.kind === "tls" : this.opts.kind === "tls" || this.opts.kind === "wss");
    } catch (err) {
      // Only a request that passed the trust boundary (msg set) may be answered.
      this.failed(err, msg, source);
    }
  }

  /** Parses and screens a message; undefined when it must not reach sip.js. */
  private accept(raw: string, source: Endpoint, inbound?: InboundConnection): WireMessage | undefined {
    this.opts.logMessage?.("in", maskCredentials(raw), source);
    let msg = parseWireMessage(raw);
    if (!msg) {
      this.securityCounters.malformed++;
      this.malformedPeer = source;
      this.malformedLog.log("unparsable SIP message");
      return undefined;
    }
    if (msg.isRequest) {
      if (this.trust.checkRequest(msg, source) === "drop") {
        this.securityCounters.untrusted++;
        this.dropLog.log(`dropped ${msg.method} from untrusted ${formatHostPort(source)} (accept from: ${this.trust.acceptFrom})`);
        return undefined;
      }
      // Its answers go back on this connection; the peer's Via/Contact name it for our requests.
      if (inbound) this.listener?.received(inbound, msg);
      const limited = msg.method === "INVITE" || msg.method === "MESSAGE"; // RFC 3428 text messages too, in a bucket of their own (admitInvite)
      if (limited && !msg.toTag && !this.reliability?.isRetransmission(msg) && !this.admitInvite(msg, source)) return undefined;
      // Caller ID (RFC 3325): an identity is asserted only by the registrar/proxy or a listed network.
      if (!this.trust.isConfigured(source.address)) msg = stripUntrustedIdentity(msg);
    } else {
      const problem = responseProblem(msg);
      if (problem) {
        this.securityCounters.malformed++;
        this.malformedPeer = source;
        this.malformedLog.log(problem);
        return undefined;
      }
      this.trust.incomingResponse(msg, source);
      // The server answers: the fail-over round starts again (not on a 5xx: two servers that both
      // answer 503 at once must reach the end of the round and its back-off, not loop).
      if ((msg.statusCode ?? 0) < 500 && this.isConfiguredEndpoint(source)) this.locator.answered();
      const sent = this.digest.sentRequest(msg);
      const code = msg.statusCode ?? 0;
      if (sent?.method === "REGISTER" && sent.toNextHop && code >= 200 && code < 300) this.trust.learnRegistrarSource(source.address);
      if (code === 401 || code === 407) msg = this.screenChallenge(msg, source);
    }
    if (this.reliability && !inbound) {
      const pass = msg.isRequest ? this.reliability.incomingRequest(msg, source) : this.reliability.incomingResponse(msg);
      if (!pass) return undefined;
    }
    return msg;
  }

  private malformedPeer: Endpoint = { address: "", port: 0 };

  /** Hands a screened message to sip.js; a request whose handling throws gets a 500. */
  private deliver(msg: WireMessage, source: Endpoint, overTls = false): void {
    if (msg.isRequest && msg.method === "INVITE" && !msg.toTag) this.noteArrival(msg.callId, overTls);
    if (!msg.isRequest) {
      try {
        this.events.emit("response", msg);
      } catch (err) {
        this.failed(err, undefined, source);
      }
    }
    let raw = this.addressedToUs(this.rewriter.incoming(msg), msg);
    // sip.js answers 416 to any sips: Request-URI: one that came over TLS is ours (RFC 3261 §26.2.2);
    // over anything else the 416 stands (a sips: request is never taken unencrypted).
    if (overTls && msg.isRequest) raw = raw.replace(/^(\S+) sips:/i, "$1 sip:");
    if (msg.isRequest) {
      const problem = unhandledRequestProblem(raw, msg);
      if (problem) {
        this.securityCounters.malformed++;
        this.failLog.log(`answered 400 to a ${msg.method} from ${formatHostPort(source)}: ${problem}`);
        this.reply(msg, source, 400, "Bad Request");
        return;
      }
    }
    this.onMessage?.(raw);
  }

  /**
   * The token bucket of the INVITE's source: generous for the registrar/proxy, modest for anyone else.
   * Refused: 503 + Retry-After to a configured source (registrar, proxy, listed network), silence to others.
   */
  private admitInvite(msg: WireMessage, source: Endpoint): boolean {
    const registrar = this.trust.isRegistrar(source.address);
    const key = `${msg.method === "MESSAGE" ? "MESSAGE " : ""}${canonicalAddress(source.address)}`;
    if (this.inviteRate.take(key, registrar ? TRUSTED_INVITE_RATE : OTHER_INVITE_RATE)) return true;
    this.securityCounters.throttled++;
    const answer = this.trust.isConfigured(source.address);
    this.dropLog.log(`too many ${msg.method}s from ${formatHostPort(source)}: ${answer ? "503" : "dropped"}`);
    if (answer) this.reply(msg, source, 503, "Service Unavailable", [`Retry-After: ${INVITE_RETRY_AFTER_S}`]);
    return false;
  }

  /** Removes digest challenges sip.js must not answer (see digest-guard.ts). */
  private screenChallenge(msg: WireMessage, source: Endpoint): WireMessage {
    const verdict = this.digest.incomingChallenge(msg, this.trust.isRegistrar(source.address));
    if (verdict.refused.length) {
      this.securityCounters.refusedChallenges++;
      this.warnLog.log(
        `refused to answer a digest challenge for realm ${verdict.refused.map((r) => JSON.stringify(r)).join(", ")} from ${formatHostPort(source)} (${msg.cseqMethod})`,
      );
    }
    return verdict.msg;
  }

  /** A message we could not handle: logged (rate limited), a request answered 500 where possible. */
  private failed(err: unknown, msg: WireMessage | undefined, source: Endpoint): void {
    try {
      this.securityCounters.failures++;
      const what = msg ? (msg.isRequest ? msg.method : `${msg.statusCode} response`) : "message";
      this.failLog.log(`failed to handle a SIP ${what} from ${formatHostPort(source)}: ${(err as Error)?.message ?? String(err)}`);
      if (msg?.isRequest) this.reply(msg, source, 500, "Server Internal Error");
    } catch {
      /* the last line of defence never throws */
    }
  }

  /** Sends a response built here (not by sip.js) back where the request came from. */
  private reply(req: WireMessage, source: Endpoint, code: number, reason: string, extra: string[] = []): void {
    const raw = statelessResponse(req, code, reason, extra);
    if (!raw) return;
    // Known to the retransmission layer (a request that got that far): a retransmitted request gets the same answer.
    const parsed = parseWireMessage(raw);
    const inbound = parsed && this.listener?.connectionForResponse(parsed);
    if (inbound === "gone") return;
    if (inbound) {
      this.opts.logMessage?.("out", maskCredentials(raw), inbound.remote);
      inbound.send(raw).catch(() => undefined);
      return;
    }
    if (parsed) this.reliability?.outgoingResponse(parsed);
    this.write(raw, source).catch(() => undefined);
  }

  private isConfiguredEndpoint(dest: Endpoint): boolean {
    return this.configuredEndpoints.has(`${canonicalAddress(dest.address)}|${dest.port}`);
  }

  private locatorFor(hop: { host: string; port: number; portGiven?: boolean }): ServerLocator {
    return new ServerLocator({
      host: hop.host,
      port: hop.portGiven === false ? undefined : hop.port,
      transport: this.opts.kind,
      defaultPort: hop.portGiven === false ? DEFAULT_PORTS[this.opts.kind] : hop.port,
      dns: this.dns,
      random: this.opts.random,
      now: this.opts.now,
    });
  }

  /**
   * Every address of every target of the next hop, and of the registrar names (located the same
   * way, through the same DNS), is a configured registrar address (re-resolved on every connect).
   */
  private async resolveTrusted(): Promise<void> {
    const endpoints = new Set<string>();
    const addresses = new Set<string>();
    const add = (targets: readonly ServerTarget[]) => {
      for (const t of targets) {
        addresses.add(t.address);
        endpoints.add(`${canonicalAddress(t.address)}|${t.port}`);
      }
    };
    if (!this.locator.all.length) await this.locator.current().catch(() => undefined);
    add(this.locator.all);
    for (const hop of this.opts.trustedHosts ?? []) {
      const locator = this.locatorFor(hop);
      add(
        await locator.current().then(
          () => locator.all,
          () => [] as ServerTarget[],
        ),
      );
    }
    this.configuredEndpoints = endpoints;
    this.trust.setResolvedAddresses(addresses);
  }

  /**
   * A keep-alive OPTIONS "sip:host:port" (no user: Kamailio, FreeSWITCH, some PBXes) is for the
   * device itself; sip.js would answer 404 because no user matches, so give it our Contact user.
   */
  private addressedToUs(raw: string, msg: WireMessage): string {
    if (!msg.isRequest || msg.method !== "OPTIONS" || msg.toTag || /^sips?:[^@;?]+@/i.test(msg.requestUri ?? "")) return raw;
    const user = this.opts.localUser?.();
    if (!user) return raw;
    const uri = msg.requestUri!.replace(/^(sips?:)/i, `$1${user}@`);
    return raw.replace(/^(\S+) \S+/, `$1 ${uri}`);
  }

  /** UDP only: where a message goes (RFC 3261 §8.1.2 / §18.2.2 with RFC 3581). */
  private async destinationOf(msg: WireMessage): Promise<Endpoint> {
    const hop = this.nextHopResolved!;
    if (!msg.isRequest) {
      const src = this.reliability?.sourceOf(msg);
      if (src) return src;
      const via = msg.topVia;
      const received = via && /;\s*received=([^;\s,]+)/i.exec(via.params)?.[1];
      const rport = via && /;\s*rport=(\d+)/i.exec(via.params)?.[1];
      if (via && (received || via.host)) {
        try {
          return { address: await resolveHost(received || via.host), port: Number(rport || via.port || 5060) };
        } catch {
          return hop;
        }
      }
      return hop;
    }
    // Out-of-dialog requests (and their CANCEL/ACK) go to the configured next hop.
    if (!msg.toTag || msg.method === "CANCEL") return hop;
    if (msg.method === "ACK") {
      const tx = this.reliability?.destinationOfInvite(msg);
      if (tx) return tx;
    }
    // In-dialog: the first Route if any, else the remote target.
    const route = msg.headers.find((l) => headerName(l) === "route");
    const uri = route ? (/<([^>]+)>/.exec(headerValue(route))?.[1] ?? headerValue(route)) : msg.requestUri!;
    const hostPart = uri
      .replace(/^sips?:/i, "")
      .replace(/^[^@]*@/, "")
      .replace(/[;?>].*$/, "");
    const { host, port } = splitHostPort(hostPart, 5060);
    if (host === this.opts.placeholder) return hop;
    try {
      return { address: await resolveHost(host), port };
    } catch {
      return hop;
    }
  }

  private setState(state: TransportState): void {
    if (this._state === state) return;
    this._state = state;
    this.stateChange.emit(state);
  }
}

function describeTarget(t: ServerTarget | undefined): string {
  if (!t) return "?";
  const hostPort = formatHostPort({ address: t.address, port: t.port });
  return t.name === t.address ? hostPort : `${t.name} (${hostPort})`;
}
