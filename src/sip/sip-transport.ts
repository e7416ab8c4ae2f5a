// The sip.js Transport: sip.js hands us finished message strings, we put them on
// the wire through a Connection, with the Via/Contact rewrite, RFC 3581 response
// routing and, on UDP, RFC 3261 §17 retransmission.

import { EventEmitter } from "events";
import { EmitterImpl, Transport, TransportState } from "sip.js";
import { Connection, ConnectionOptions, createConnection } from "./transports";
import { Endpoint, UdpReliability } from "./udp-reliability";
import { WireMessage, headerName, headerValue, parseWireMessage } from "./wire-message";
import { WireRewriter, maskCredentials } from "./wire-rewriter";
import { resolveHost, splitHostPort } from "./dns-resolve";
import { TransportKind } from "../types";

/** Connection settings (minus the resolved next hop), plus what the SIP layer adds. */
export interface SipTransportOptions extends Omit<ConnectionOptions, "remote" | "remoteHost"> {
  /** Where out-of-dialog requests go: outbound proxy or server. */
  nextHop: { host: string; port: number };
  placeholder: string;
  /** Every message in and out, credentials masked. */
  logMessage?: (direction: "in" | "out", raw: string, peer: Endpoint) => void;
  /** Our Contact user: requests addressed to the device itself (no user part) are given it. */
  localUser?: () => string | undefined;
  /** Something we received could not be understood. */
  onMalformed?: (reason: string, peer: Endpoint) => void;
}

export interface SipTransportEvents {
  connected: [];
  disconnected: [error?: Error];
  /** A response as it came from the wire (before sip.js sees it). */
  response: [msg: WireMessage];
}

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
  lastError?: Error;

  constructor(private readonly opts: SipTransportOptions) {
    this.protocol = opts.kind.toUpperCase();
    this.rewriter = new WireRewriter(opts.placeholder);
  }

  get state(): TransportState { return this._state; }
  get local(): Endpoint | undefined { return this.connection?.local; }
  /** The resolved address of the next hop (server or outbound proxy), once connected. */
  get nextHop(): Endpoint | undefined { return this.nextHopResolved; }
  get reliabilityCounters() { return this.reliability?.counters; }
  get keepAliveStats() { return this.connection?.keepAliveStats; }
  isConnected(): boolean { return this._state === TransportState.Connected; }

  async connect(): Promise<void> {
    if (this._state === TransportState.Connected) return;
    this.setState(TransportState.Connecting);
    try {
      const ip = await resolveHost(this.opts.nextHop.host);
      this.nextHopResolved = { address: ip, port: this.opts.nextHop.port };
      const { nextHop, placeholder, logMessage, localUser, onMalformed, ...connection } = this.opts;
      const conn = createConnection({ ...connection, remote: this.nextHopResolved, remoteHost: nextHop.host });
      await conn.open();
      this.connection = conn;
      if (!conn.reliable) this.reliability = new UdpReliability((raw, dest) => { void this.write(raw, dest); });
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

  async dispose(): Promise<void> { await this.disconnect(); }

  async send(message: string): Promise<void> {
    const conn = this.connection;
    if (!conn) throw new Error(`not connected (${this.lastError?.message ?? "transport down"})`);
    const parsed = parseWireMessage(message);
    if (!parsed) throw new Error("refusing to send an unparsable SIP message");
    const wire = this.rewriter.outgoingMessage(parsed, conn.local);
    const raw = wire.raw;
    const dest = conn.reliable ? this.nextHopResolved! : await this.destinationOf(wire);
    if (this.reliability) {
      if (wire.isRequest) this.reliability.outgoingRequest(wire, dest);
      else this.reliability.outgoingResponse(wire);
    }
    await this.write(raw, dest);
  }

  private async write(raw: string, dest: Endpoint): Promise<void> {
    const conn = this.connection;
    if (!conn) return;
    this.opts.logMessage?.("out", maskCredentials(raw), dest);
    await conn.send(raw, dest);
  }

  private receive(raw: string, source: Endpoint): void {
    this.opts.logMessage?.("in", maskCredentials(raw), source);
    const msg = parseWireMessage(raw);
    if (!msg) {
      this.opts.onMalformed?.("unparsable SIP message", source);
      return;
    }
    if (this.reliability) {
      const pass = msg.isRequest ? this.reliability.incomingRequest(msg, source) : this.reliability.incomingResponse(msg);
      if (!pass) return;
    }
    if (!msg.isRequest) this.events.emit("response", msg);
    this.onMessage?.(this.addressedToUs(this.rewriter.incoming(msg), msg));
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
        } catch { return hop; }
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
    const uri = route ? /<([^>]+)>/.exec(headerValue(route))?.[1] ?? headerValue(route) : msg.requestUri!;
    const hostPart = uri.replace(/^sips?:/i, "").replace(/^[^@]*@/, "").replace(/[;?>].*$/, "");
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
