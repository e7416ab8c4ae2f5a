// Registration state machine: INACTIVE → REGISTERING → REGISTERED (→ DEREGISTERING → INACTIVE),
// FAILED with a reason on any failure, then retries forever with back-off.
// REGISTER goes through sip.js's public core (`userAgentCore.register`), which does the
// transaction and the digest challenge; the request, refresh timing, expiry and recovery are
// ours (sip.js's Registerer refreshes at 99 % of expiry, never retries, and would need patching).

import { EventEmitter } from "events";
import { Core, UserAgent } from "sip.js";

type IncomingResponse = Core.IncomingResponse;
type OutgoingRequestMessage = Core.OutgoingRequestMessage;
type OutgoingRequestDelegate = Core.OutgoingRequestDelegate;
import { parseNameAddr } from "../sip/name-addr";
import { RegistrationState } from "../types";
import { Backoff, FailureKind, safeDelayMs } from "./backoff";

/**
 * Longest registration lifetime we believe (seconds): the registrar's Expires and Min-Expires
 * are remote-controlled, and become timers that overflow past 24.8 days.
 */
export const MAX_REGISTRATION_EXPIRES_SECONDS = 86_400;

/**
 * A 423 (Interval Too Brief) is answered by re-registering at once with the Min-Expires it
 * gave (RFC 3261 §10.2.8): a registrar that keeps saying 423 would get a tight loop. At most
 * this many in a row, then FAILED (and the normal back-off).
 */
export const MAX_INTERVAL_TOO_BRIEF_RETRIES = 2;

/** The methods we take, in Allow on every REGISTER (the list sip.js's Registerer sent). */
const ALLOW = "ACK,CANCEL,INVITE,MESSAGE,BYE,OPTIONS,INFO,NOTIFY,REFER";

/** RFC 3261 §10.2: no new REGISTER before the previous one has its final answer. */
const REGISTER_PENDING = "REGISTER request already in progress, waiting for final response";

/** A lifetime from the wire made sane: finite, positive, at most MAX_REGISTRATION_EXPIRES_SECONDS. */
export function clampExpires(seconds: number, fallback: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return fallback;
  return Math.min(seconds, MAX_REGISTRATION_EXPIRES_SECONDS);
}

export interface RegistrationDetail {
  reason?: string;
  statusCode?: number;
  /** Granted lifetime when REGISTERED. */
  expires?: number;
  /** Milliseconds until the next attempt when FAILED. */
  retryInMs?: number;
}

export interface RegistrationEvents {
  state: [state: RegistrationState, detail: RegistrationDetail];
}

export interface RegistrationHooks {
  /** Make sure the transport is up; throws with a readable message if not. */
  ensureConnected(): Promise<void>;
  /** Why the last synthetic 503 happened (transport error text). */
  transportError(): string | undefined;
  /** The digest algorithm of the last challenge, when sip.js cannot do it. */
  unsupportedAlgorithm(): string | undefined;
  /** Extra Contact headers for the next REGISTER (e.g. removing a binding from an old connection). */
  takeStaleContacts(): string[];
  /** Bindings listed in a REGISTER 200 that are ours but stale, as `<uri>;expires=0` Contact values. */
  staleBindings?(response: IncomingResponse): string[];
  /** A network failure of the current server (RFC 3263 fail-over): retryNow = another server is tried at once. */
  serverFailed?(reason: string): { retryNow: boolean; reason: string };
}

/** Most stale bindings removed by one REGISTER (the 200's Contact list is remote-controlled). */
export const MAX_STALE_CONTACTS_PER_REGISTER = 10;

/** When to refresh: well before expiry, with room for a full UDP transaction (32 s) on long lifetimes. */
export function refreshDelayMs(grantedSeconds: number): number {
  const margin = Math.max(grantedSeconds * 0.1, Math.min(60, grantedSeconds * 0.5));
  return safeDelayMs(Math.max(1000, (grantedSeconds - margin) * 1000));
}

export class Registration extends EventEmitter<RegistrationEvents> {
  private _state: RegistrationState = "INACTIVE";
  private detail: RegistrationDetail = {};
  /** One REGISTER message for the whole run: same Call-ID, CSeq counted up (RFC 3261 §10.2). */
  private request?: OutgoingRequestMessage;
  /** A REGISTER is waiting for its final answer. */
  private pending = false;
  /** The lifetime we ask for (raised by a 423's Min-Expires, clamped). */
  private lifetime = 0;
  private requested = 0;
  private retryTimer?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private readonly backoff = new Backoff();
  private running = false;
  private attempt = 0;
  /** Stale bindings to remove with the next REGISTER. */
  private pendingRemoval: string[] = [];
  /** The last REGISTER was sent to remove stale bindings: do not chain another right away. */
  private cleanupSent = false;
  /** 423 answers in a row (reset by a success). */
  private intervalTooBrief = 0;

  constructor(
    private readonly ua: UserAgent,
    private readonly expires: number,
    private readonly hooks: RegistrationHooks,
  ) {
    super();
  }

  get state(): RegistrationState {
    return this._state;
  }
  get lastDetail(): RegistrationDetail {
    return this.detail;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.requested = this.lifetime = clampExpires(this.expires, 600);
    // Request-URI: the domain of the address of record (RFC 3261 §10.2); From and To: the AOR.
    const registrar = this.ua.configuration.uri.clone();
    registrar.user = undefined;
    this.request = this.ua.userAgentCore.makeOutgoingRequestMessage(
      "REGISTER",
      registrar,
      this.ua.userAgentCore.configuration.aor,
      this.ua.configuration.uri,
      {},
      [],
      undefined,
    );
    void this.attemptRegister();
  }

  /** Re-register now: the connection was lost, so the binding must be renewed over a new one. */
  kick(): void {
    if (!this.running) return;
    this.clearTimers();
    this.setState("REGISTERING", {});
    void this.attemptRegister();
  }

  private async attemptRegister(): Promise<void> {
    if (!this.running || !this.request) return;
    const attempt = ++this.attempt;
    if (this._state !== "REGISTERED" && this._state !== "REGISTERING") this.setState("REGISTERING", {});
    try {
      await this.hooks.ensureConnected();
    } catch (err) {
      if (attempt === this.attempt) this.fail(readable(err), "network");
      return;
    }
    if (!this.running || attempt !== this.attempt) return;
    const stale = [...new Set([...this.hooks.takeStaleContacts(), ...this.pendingRemoval])].slice(0, MAX_STALE_CONTACTS_PER_REGISTER);
    this.pendingRemoval = [];
    if (this.pending) return this.fail(REGISTER_PENDING, "network");
    const extra = stale.map((c) => "Contact: " + c);
    const delegate: OutgoingRequestDelegate = {
      onAccept: (response) => {
        if (attempt === this.attempt) this.accepted(response);
      },
      onReject: (response) => {
        if (attempt !== this.attempt) return;
        if (response.message.statusCode === 423) this.tooBrief(response, extra, delegate);
        else this.rejected(response);
      },
      // A redirect for a REGISTER is not followed: a failure like any other.
      onRedirect: (response) => {
        if (attempt === this.attempt) this.rejected(response);
      },
    };
    const error = this.send(extra, this.lifetime, delegate);
    if (error !== undefined) this.fail(error, "network");
  }

  /** Sends the next REGISTER of this run: our Contact with `expires`, after `extra` headers. Returns why it could not. */
  private send(extra: string[], expires: number, delegate: OutgoingRequestDelegate): string | undefined {
    const request = this.request;
    if (!request) return "not started";
    request.extraHeaders = [...extra, `Contact: ${this.ua.contact.toString({ register: true })};expires=${expires}`];
    if (expires > 0) request.extraHeaders.push(`Allow: ${ALLOW}`);
    request.cseq++;
    request.setHeader("cseq", `${request.cseq} REGISTER`);
    this.pending = true;
    const settled = (fn: (response: IncomingResponse) => void) => (response: IncomingResponse) => {
      this.pending = false;
      fn(response);
    };
    try {
      this.ua.userAgentCore.register(request, {
        onAccept: settled((r) => delegate.onAccept?.(r)),
        onReject: settled((r) => delegate.onReject?.(r)),
        onRedirect: settled((r) => delegate.onRedirect?.(r)),
      });
      return undefined;
    } catch (err) {
      this.pending = false;
      return readable(err);
    }
  }

  /** 423: ask again at once with the registrar's Min-Expires (kept sane), a bounded number of times. */
  private tooBrief(response: IncomingResponse, extra: string[], delegate: OutgoingRequestDelegate): void {
    const min = response.message.getHeader("min-expires");
    if (min === undefined || !this.running) return this.rejected(response);
    if (++this.intervalTooBrief > MAX_INTERVAL_TOO_BRIEF_RETRIES) {
      return this.fail("423 Interval Too Brief (Min-Expires not accepted)", "rejected", 423);
    }
    this.lifetime = clampExpires(Number(min), this.requested);
    const error = this.send(extra, this.lifetime, delegate);
    if (error !== undefined) this.fail(error, "network");
  }

  private accepted(response: IncomingResponse): void {
    const ours = ourContact(response, this.ua);
    if (!ours) return this.fail("200 OK to REGISTER without our Contact", "network");
    saveGruu(ours, this.ua);
    const granted = grantedExpires(response, this.ua, this.expires);
    this.backoff.reset();
    this.intervalTooBrief = 0;
    this.setState("REGISTERED", { expires: granted });
    this.clearTimers();
    // Bindings of ours left by an earlier run (a lost un-REGISTER): remove them now, once per
    // refresh, so a registrar that keeps them cannot make us loop.
    let stale: string[] = [];
    if (!this.cleanupSent) {
      try {
        stale = this.hooks.staleBindings?.(response) ?? [];
      } catch {
        stale = [];
      }
    }
    this.cleanupSent = stale.length > 0;
    this.pendingRemoval = stale;
    this.refreshTimer = setTimeout(() => void this.attemptRegister(), stale.length ? 0 : refreshDelayMs(granted));
    // The registrar's binding runs out if no refresh succeeds in time.
    this.expiryTimer = setTimeout(
      () => {
        if (this._state === "REGISTERED") this.fail("registration expired", "network");
      },
      safeDelayMs(granted * 1000),
    );
  }

  private rejected(response: IncomingResponse): void {
    const msg = response.message;
    const synthetic = !msg.callId; // sip.js makes up 408/503 for timeouts and transport errors
    const code = msg.statusCode ?? 0;
    if (synthetic && code === 408) return this.fail("timeout", "network", 408);
    if (synthetic && code === 503) return this.fail(`transport error: ${this.hooks.transportError() ?? "unknown"}`, "network", 503);
    let reason = `${code} ${msg.reasonPhrase ?? ""}`.trim();
    if (code === 401 || code === 407) {
      const algo = this.hooks.unsupportedAlgorithm();
      reason += algo ? ` (digest algorithm ${algo} not supported, only MD5)` : " (check user, auth user and password)";
    }
    const retryAfter = code === 500 || code === 503 ? Number.parseInt(msg.getHeader("retry-after") ?? "", 10) : NaN;
    const kind: FailureKind = code >= 500 || code === 408 ? "network" : "rejected";
    this.fail(reason, kind, code, Number.isNaN(retryAfter) ? undefined : retryAfter);
  }

  private fail(reason: string, kind: FailureKind, statusCode?: number, retryAfter?: number): void {
    if (!this.running) return;
    this.clearTimers();
    if (kind === "network" && this.hooks.serverFailed) {
      const verdict = this.hooks.serverFailed(reason);
      if (verdict.retryNow) {
        void this.attemptRegister();
        return;
      }
      reason = verdict.reason;
    }
    this.cleanupSent = false; // the next 200 may list the stale bindings again: remove them then
    const delay = this.backoff.next(kind, retryAfter);
    this.setState("FAILED", { reason, statusCode, retryInMs: delay });
    this.retryTimer = setTimeout(() => void this.attemptRegister(), safeDelayMs(delay));
  }

  /** Un-REGISTER, waiting at most `timeoutMs`. */
  async stop(timeoutMs = 2000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.attempt++;
    this.clearTimers();
    if (this.request && this._state === "REGISTERED" && !this.pending) {
      this.setState("DEREGISTERING", {});
      await withTimeout(
        new Promise<void>((resolve) => {
          const error = this.send([], 0, { onAccept: () => resolve(), onReject: () => resolve(), onRedirect: () => resolve() });
          if (error !== undefined) resolve();
        }),
        timeoutMs,
      );
    }
    this.request = undefined;
    this.setState("INACTIVE", {});
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.retryTimer = this.refreshTimer = this.expiryTimer = undefined;
  }

  private setState(state: RegistrationState, detail: RegistrationDetail): void {
    const same = state === this._state && detail.reason === this.detail.reason;
    this._state = state;
    this.detail = detail;
    if (!same || state === "FAILED") this.emit("state", state, detail);
  }
}

/** Our binding in a REGISTER 200: the Contact with our user (the registrar may rewrite host and port). */
function ourContact(response: IncomingResponse, ua: UserAgent): Core.NameAddrHeader | undefined {
  const contacts = response.message.getHeaders("contact").length;
  for (let i = 0; i < contacts; i++) {
    const c = parseNameAddr(response.message, "contact", i);
    if (c?.uri?.user === ua.contact.uri.user) return c;
  }
  return undefined;
}

/** GRUUs (RFC 5627) the registrar gave our binding, kept on the contact for later requests. */
function saveGruu(contact: Core.NameAddrHeader, ua: UserAgent): void {
  const parse = (name: string) => {
    const value = contact.hasParam(name) ? contact.getParam(name) : undefined;
    return value ? UserAgent.makeURI(value.replace(/"/g, "")) : undefined;
  };
  const temp = parse("temp-gruu");
  const pub = parse("pub-gruu");
  if (temp) ua.contact.tempGruu = temp;
  if (pub) ua.contact.pubGruu = pub;
}

function grantedExpires(response: IncomingResponse, ua: UserAgent, requested: number): number {
  const contacts = response.message.getHeaders("contact").length;
  for (let i = 0; i < contacts; i++) {
    const c = parseNameAddr(response.message, "contact", i);
    if (c && c.uri.user === ua.contact.uri.user) {
      const e = Number(c.getParam("expires"));
      if (Number.isFinite(e) && e > 0) return clampExpires(e, requested);
    }
  }
  const header = Number(response.message.getHeader("expires"));
  return clampExpires(header, clampExpires(requested, 600));
}

function readable(err: unknown): string {
  const e = err as { reason?: string; code?: string; message?: string };
  if (e?.reason && e.message) return e.message;
  if (e?.code === "ECONNREFUSED") return "connection refused";
  if (e?.code === "ETIMEDOUT") return "connection timeout";
  return e?.message ?? String(err);
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    p.then(
      () => {
        clearTimeout(t);
        resolve();
      },
      () => {
        clearTimeout(t);
        resolve();
      },
    );
  });
}
