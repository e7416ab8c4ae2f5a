// One SIP account: user agent, transport, registration. Emits typed events and
// knows nothing about Node-RED. Calls plug in through `onInvite`/`userAgent`.

import { EventEmitter } from "events";
import crypto from "crypto";
import { Core, SessionDescriptionHandlerFactory, UserAgent, UserAgentDelegate, UserAgentOptions } from "sip.js";
import { SipTransport, SipTransportOptions } from "../sip/sip-transport";
import { assertSipJsInternals, failClientTransaction } from "../sip/sipjs-internals";
import { guardDelegate } from "../sip/delegate-guard";
import { DEFAULT_PORTS } from "../sip/transports";
import { LISTEN_MODES } from "../sip/transports/stream-listener";
import { hasPort, splitHostPort } from "../sip/dns-resolve";
import { bareHost, formatHostPort, unsupportedDigestAlgorithm, uriHost } from "../sip/wire-rewriter";
import type { Endpoint } from "../sip/endpoint";
import { RegistrationState, TransportKind } from "../types";
import { AccountOptions, DEFAULT_EXPIRES, DEFAULT_KEEPALIVE } from "./account";
import { redactSdesKeys } from "../media/sdes";
import { MAX_STALE_CONTACTS_PER_REGISTER, Registration, RegistrationDetail } from "./registration";

export interface PhoneEvents {
  registration: [state: RegistrationState, detail: RegistrationDetail];
  log: [level: "debug" | "info" | "warn" | "error", text: string];
  sip: [direction: "in" | "out", text: string, peer: Endpoint];
}

export interface PhoneExtensions {
  sessionDescriptionHandlerFactory?: SessionDescriptionHandlerFactory;
  delegate?: UserAgentDelegate;
  /** Log every SIP message (credentials masked) as a `sip` event. */
  logSip?: boolean;
}

/** Client transaction states in which a request still waits for its final answer. */
const PENDING_TRANSACTION_STATES: readonly string[] = [Core.TransactionState.Calling, Core.TransactionState.Trying, Core.TransactionState.Proceeding];

/** sip.js builds its transport as `new Ctor(logger, transportOptions)`: ours, from our options. */
class UserAgentTransport extends SipTransport {
  constructor(_logger: unknown, options: SipTransportOptions) {
    super(options);
  }
}

export class Phone extends EventEmitter<PhoneEvents> {
  readonly options: Required<Pick<AccountOptions, "server" | "username" | "transport" | "port" | "expires">> & AccountOptions;
  readonly transport: SipTransport;
  readonly userAgent: UserAgent;
  private readonly registration?: Registration;
  private lastAuthChallenge?: string;
  private registeredFrom?: Endpoint;
  private started = false;
  private stopping?: Promise<void>;

  constructor(account: AccountOptions, ext: PhoneExtensions = {}) {
    super();
    // The sip.js internals we rely on (sipjs-internals.ts): fail here, loudly, if sip.js moved.
    assertSipJsInternals();
    const transport: TransportKind = account.transport ?? "udp";
    if (!account.server?.trim()) throw new Error("server is required");
    if (!account.username?.trim()) throw new Error("username is required");
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_PORTS, transport)) throw new Error(`unknown transport "${transport}"`);
    const port = Number(account.port) || DEFAULT_PORTS[transport];
    this.options = { ...account, transport, port, expires: Number(account.expires) || DEFAULT_EXPIRES };
    const domain = uriHost(account.domain?.trim() || account.server.trim()); // "::1" → "[::1]"
    const uri = UserAgent.makeURI(`sip:${encodeURIComponent(account.username.trim())}@${domain}`);
    if (!uri) throw new Error(`invalid address of record sip:${account.username}@${domain}`);

    // No port given: a name is located by NAPTR/SRV (RFC 3263, sip/server-location.ts).
    const nextHop = account.outboundProxy?.trim()
      ? { ...splitHostPort(account.outboundProxy, DEFAULT_PORTS[transport]), portGiven: hasPort(account.outboundProxy) }
      : { host: bareHost(account.server), port, portGiven: Number(account.port) > 0 };
    const listen = account.listen || "off";
    if (!LISTEN_MODES.includes(listen)) throw new Error(`listen must be "off", "tcp", "tls" or "both", not "${String(listen)}"`);
    if ((listen === "tls" || listen === "both") && !(account.tlsCert && account.tlsKey))
      throw new Error(`listening for TLS needs a TLS certificate and key (tlsCert, tlsKey)`);
    const listenPort =
      account.listenPort === undefined || String(account.listenPort) === "" ? (listen === "tls" ? 5061 : 5060) : Number(account.listenPort);
    if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > (listen === "both" ? 65534 : 65535))
      throw new Error(`listenPort must be a port number, not "${String(account.listenPort)}"`);
    const placeholder = `nr${crypto.randomBytes(6).toString("hex")}.invalid`;
    const transportOptions: SipTransportOptions = {
      kind: transport,
      nextHop,
      placeholder,
      localAddress: account.localAddress ? bareHost(account.localAddress) || undefined : undefined,
      localPort: Number(account.localPort) || undefined,
      keepAliveSeconds: account.keepAlive ?? DEFAULT_KEEPALIVE,
      tlsRejectUnauthorized: account.tlsRejectUnauthorized,
      tlsCa: account.tlsCa,
      tlsCert: account.tlsCert,
      tlsKey: account.tlsKey,
      wsPath: account.wsPath,
      localUser: () => this.userAgent?.contact.uri.user,
      // SDES keys (a=crypto inline:) never reach the trace.
      logMessage: ext.logSip ? (dir, raw, peer) => this.emit("sip", dir, redactSdesKeys(raw), peer) : undefined,
      onMalformed: (reason, peer) => this.emit("log", "warn", `dropped a malformed SIP message from ${formatHostPort(peer)}: ${reason}`),
      acceptFrom: account.acceptFrom,
      trustedNetworks: account.trustedNetworks,
      authRealm: account.authRealm,
      trustedHosts: [{ host: account.server.trim(), port, portGiven: Number(account.port) > 0 }],
      dnsServers: account.dnsServers,
      listen: { mode: listen, port: listenPort, address: account.localAddress ? bareHost(account.localAddress) || undefined : undefined },
      log: (level, text) => this.emit("log", level, text),
    };

    const options: UserAgentOptions = {
      uri,
      authorizationUsername: account.authUsername?.trim() || account.username.trim(),
      authorizationPassword: account.password ?? "",
      displayName: account.displayName || undefined,
      // sip.js builds our transport itself, from these options (see UserAgentTransport).
      transportConstructor: UserAgentTransport,
      transportOptions,
      // Its configuration dump would stringify the transport options (TLS key included).
      logConfiguration: false,
      // A stable Contact user: registration.ts recognises our binding by it, even rewritten.
      contactName: account.contactUser || `nr-${crypto.createHash("sha1").update(`${account.username}@${domain}`).digest("hex").slice(0, 10)}`,
      contactParams: { transport: transport === "wss" ? "ws" : transport },
      viaHost: placeholder,
      forceRport: true,
      userAgentString: account.userAgent || "node-red-contrib-sip-client",
      reconnectionAttempts: 0,
      logBuiltinEnabled: false,
      logLevel: "warn",
      logConnector: (level, category, _label, content) => {
        if (level === "error" || level === "warn") this.emit("log", "debug", `sip.js ${category}: ${redactSdesKeys(content)}`);
      },
      sessionDescriptionHandlerFactory: ext.sessionDescriptionHandlerFactory,
      // A throwing delegate must not become an unhandled rejection inside sip.js (see delegate-guard.ts).
      delegate: guardDelegate(ext.delegate, (text) => this.emit("log", "warn", text)),
      noAnswerTimeout: 120,
      // The call manager sends 180 itself when it rings a call; sip.js's automatic one made it two,
      // and a refused call showed "ringing" before its 486/488/603.
      sendInitialProvisionalResponse: false,
    };
    this.userAgent = new UserAgent(options);
    if (!(this.userAgent.transport instanceof SipTransport)) throw new Error("sip.js did not build the SIP transport it was given");
    this.transport = this.userAgent.transport;

    this.transport.events.on("response", (msg) => {
      if (msg.statusCode === 401 || msg.statusCode === 407) this.lastAuthChallenge = unsupportedDigestAlgorithm(msg);
    });
    this.transport.events.on("disconnected", (err) => {
      if (!this.started) return;
      this.emit("log", "warn", `SIP connection lost: ${err?.message ?? "closed"}`);
      this.failPendingRequests(err ?? new Error("connection lost"));
      // A failed attempt keeps its back-off: a server that accepts and then drops the connection
      // (e.g. refusing our TLS client certificate) must not make us reconnect in a tight loop.
      if (this.registration?.state !== "FAILED") this.registration?.kick();
    });

    if (account.register !== false) {
      this.registration = new Registration(this.userAgent, this.options.expires, {
        ensureConnected: () => this.transport.ensureConnected(),
        serverFailed: (reason) => this.transport.failover(reason),
        transportError: () => this.transport.lastError?.message,
        unsupportedAlgorithm: () => this.lastAuthChallenge,
        takeStaleContacts: () => this.staleContacts(),
        staleBindings: (response) => this.staleBindings(response.message),
      });
      this.registration.on("state", (state, detail) => {
        if (state === "REGISTERED") this.registeredFrom = this.transport.local;
        this.emit("registration", state, detail);
      });
    }
  }

  get registrationState(): RegistrationState {
    return this.registration?.state ?? "INACTIVE";
  }
  get registrationDetail(): RegistrationDetail {
    return this.registration?.lastDetail ?? {};
  }

  /** Starts the user agent and registration; never throws for network trouble (that is a FAILED state). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // A port that cannot be bound is reported, and the account still registers and dials.
    await this.transport.listen().catch((err: Error) => this.emit("log", "error", err.message));
    await this.userAgent.start().catch((err: Error) => {
      this.emit("log", "debug", `initial connection failed: ${err.message}`);
    });
    this.registration?.start();
  }

  /** Un-REGISTER (bounded), hang up, close every socket and timer. Idempotent. */
  stop(timeoutMs = 2000): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop(timeoutMs);
    return this.stopping;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    this.started = false;
    await this.registration?.stop(timeoutMs);
    await Promise.race([this.userAgent.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.transport.disconnect().catch(() => undefined);
    await this.transport.stopListening().catch(() => undefined);
  }

  /**
   * Requests sent on a connection that is gone will never be answered; sip.js would wait
   * 32 s (Timer B/F) before giving up. Tell its transactions now (RFC 3261 §8.1.3.1: a
   * transport error counts as a 503), so the registration can retry over a new connection.
   */
  private failPendingRequests(error: Error): void {
    for (const uac of [...this.userAgent.userAgentCore.userAgentClients.values()]) {
      let tx: Core.ClientTransaction | undefined;
      try {
        tx = uac.transaction;
      } catch {
        continue;
      } // getter throws once the transaction is gone
      if (tx && PENDING_TRANSACTION_STATES.includes(tx.state)) failClientTransaction(tx, error);
    }
  }

  /**
   * Bindings in a REGISTER 200 that carry our Contact user and our host but are not our current
   * contact: left by an earlier run or connection whose un-REGISTER was lost (the PBX would fork
   * calls to them). Only when the 200 lists our Contact as we sent it (local address:port): a
   * registrar that rewrites Contacts to the source address (rewrite_contact, fix_nated_contact)
   * would rewrite a removal too and drop our live binding, so there we remove nothing. Another
   * host with the same Contact user (a second installation) is left alone.
   */
  private staleBindings(msg: {
    getHeader(name: string): string | undefined;
    getHeaders(name: string): string[];
    parseHeader(name: string, i?: number): unknown;
  }): string[] {
    const now = this.transport.local;
    if (!now) return [];
    const user = this.userAgent.contact.uri.user;
    const bare = (h: string) => h.replace(/^\[|\]$/g, "").toLowerCase();
    // The address the registrar saw (top Via received/rport): a binding there is ours too.
    const via = (msg.getHeader("via") ?? "").split(",")[0];
    const received = /;\s*received=([^;,\s]+)/i.exec(via)?.[1];
    const rport = Number(/;\s*rport=(\d{1,5})/i.exec(via)?.[1]);
    const sent = `${bare(now.address)}:${now.port}`;
    const ours = new Set([sent]);
    if (rport > 0) ours.add(`${bare(received ?? now.address)}:${rport}`);
    const raw = msg.getHeaders("contact");
    const stale: string[] = [];
    let foundOurs = false;
    for (let i = 0; i < raw.length; i++) {
      const c = msg.parseHeader("contact", i) as { uri?: { user?: string; host?: string; port?: number } } | undefined;
      const uri = c?.uri;
      if (!uri || uri.user !== user || !uri.host) continue;
      const host = bare(uri.host);
      const port = uri.port || DEFAULT_PORTS[this.options.transport];
      if (ours.has(`${host}:${port}`)) {
        if (`${host}:${port}` === sent) foundOurs = true;
        continue;
      }
      if (host !== bare(now.address) || stale.length >= MAX_STALE_CONTACTS_PER_REGISTER) continue;
      const text = /<([^<>\s]+)>/.exec(raw[i])?.[1];
      if (text) stale.push(`<${text}>;expires=0`);
    }
    return foundOurs ? stale : [];
  }

  /** A binding left behind by a previous connection (new local port after a TCP reconnect). */
  private staleContacts(): string[] {
    const now = this.transport.local;
    const old = this.registeredFrom;
    if (!now || !old || (old.address === now.address && old.port === now.port)) return [];
    const user = this.userAgent.contact.uri.user;
    const t = this.options.transport === "wss" ? "ws" : this.options.transport;
    return [`<sip:${user}@${formatHostPort(old)};transport=${t}>;expires=0`];
  }
}
