// Registration state machine: INACTIVE → REGISTERING → REGISTERED (→ DEREGISTERING → INACTIVE),
// FAILED with a reason on any failure, then retries forever with back-off.
// sip.js's Registerer does the REGISTER/digest work; refresh timing and recovery are ours
// because sip.js refreshes at 99 % of expiry and never retries after a failure.

import { EventEmitter } from "events";
import { Core, Registerer, RegistererState, UserAgent } from "sip.js";

type IncomingResponse = Core.IncomingResponse;
type OutgoingRegisterRequest = Core.OutgoingRegisterRequest;
import { RegistrationState } from "../types";
import { Backoff, FailureKind, safeDelayMs } from "./backoff";

/**
 * Longest registration lifetime we believe (seconds): the registrar's Expires and Min-Expires
 * are remote-controlled, and sip.js turns them into timers that overflow past 24.8 days.
 */
export const MAX_REGISTRATION_EXPIRES_SECONDS = 86_400;

/**
 * sip.js answers a 423 (Interval Too Brief) by re-registering at once with the Min-Expires it
 * was given, without limit: a registrar that keeps saying 423 would get a tight loop. At most
 * this many in a row, then FAILED (and the normal back-off).
 */
export const MAX_INTERVAL_TOO_BRIEF_RETRIES = 2;

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
  private registerer?: Registerer;
  private retryTimer?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
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
  ) { super(); }

  get state(): RegistrationState { return this._state; }
  get lastDetail(): RegistrationDetail { return this.detail; }

  start(): void {
    if (this.running) return;
    this.running = true;
    const requested = clampExpires(this.expires, 600);
    this.registerer = new Registerer(this.ua, { expires: requested, refreshFrequency: 99 });
    // We own refreshes: stop sip.js from scheduling its own (at 99 %, and unguarded).
    const reg = this.registerer as unknown as { registered(e: number): void; registrationTimer?: NodeJS.Timeout; expires: number };
    const original = reg.registered.bind(reg);
    reg.registered = (e: number) => {
      // sip.js arms its "expired" timer with e·1000 ms: an overflowing value fires at once.
      original(clampExpires(Number(e), requested));
      if (reg.registrationTimer) clearTimeout(reg.registrationTimer);
      reg.registrationTimer = undefined;
      // A late 200 after stop(): its "expired" timer would keep the process alive for minutes.
      if (!this.running) silenceRegisterer(reg);
    };
    // sip.js's own retry after a 423 calls register() without options: bound it, keep the
    // Min-Expires sane, and keep our delegate so the outcome reaches our state machine.
    const registerer = this.registerer;
    const register = registerer.register.bind(registerer);
    registerer.register = (options?: Parameters<Registerer["register"]>[0]) => {
      // A 423's Min-Expires (remote-controlled) becomes sip.js's lifetime: keep it sane.
      reg.expires = clampExpires(Number(reg.expires), requested);
      if (options) return register(options);
      // sip.js ignores the promise here: it must never reject (an unhandled rejection kills Node).
      const nothing = Promise.resolve(undefined as unknown as OutgoingRegisterRequest);
      if (!this.running) return nothing;
      const attempt = this.attempt;
      if (++this.intervalTooBrief > MAX_INTERVAL_TOO_BRIEF_RETRIES) {
        setImmediate(() => { if (attempt === this.attempt) this.fail("423 Interval Too Brief (Min-Expires not accepted)", "rejected", 423); });
        return nothing;
      }
      return register({
        requestDelegate: {
          onAccept: (response) => { if (attempt === this.attempt) this.accepted(response); },
          onReject: (response) => { if (attempt === this.attempt) this.rejected(response); },
        },
      }).catch((err: unknown) => {
        if (attempt === this.attempt) this.fail(readable(err), "network");
        return undefined as unknown as OutgoingRegisterRequest;
      });
    };
    this.registerer.stateChange.addListener((s) => {
      // The registrar's binding ran out without a successful refresh.
      if (s === RegistererState.Unregistered && this._state === "REGISTERED" && this.running) {
        this.fail("registration expired", "network");
      }
    });
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
    if (!this.running || !this.registerer) return;
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
    try {
      await this.registerer.register({
        requestOptions: { extraHeaders: stale.map((c) => "Contact: " + c) },
        requestDelegate: {
          onAccept: (response) => { if (attempt === this.attempt) this.accepted(response); },
          onReject: (response) => { if (attempt === this.attempt) this.rejected(response); },
        },
      });
    } catch (err) {
      // RequestPendingError and friends: try again shortly.
      if (attempt === this.attempt) this.fail(readable(err), "network");
    }
  }

  private accepted(response: IncomingResponse): void {
    const granted = grantedExpires(response, this.ua, this.expires);
    this.backoff.reset();
    this.intervalTooBrief = 0;
    this.setState("REGISTERED", { expires: granted });
    this.clearTimers();
    // Bindings of ours left by an earlier run (a lost un-REGISTER): remove them now, once per
    // refresh, so a registrar that keeps them cannot make us loop.
    let stale: string[] = [];
    if (!this.cleanupSent) {
      try { stale = this.hooks.staleBindings?.(response) ?? []; } catch { stale = []; }
    }
    this.cleanupSent = stale.length > 0;
    this.pendingRemoval = stale;
    this.refreshTimer = setTimeout(() => void this.attemptRegister(), stale.length ? 0 : refreshDelayMs(granted));
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
      if (verdict.retryNow) { void this.attemptRegister(); return; }
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
    const registerer = this.registerer;
    this.registerer = undefined;
    if (registerer && this._state === "REGISTERED") {
      this.setState("DEREGISTERING", {});
      await withTimeout(new Promise<void>((resolve) => {
        registerer.unregister({ requestDelegate: { onAccept: () => resolve(), onReject: () => resolve() } })
          .catch(() => resolve());
      }), timeoutMs);
    }
    await withTimeout(registerer?.dispose().catch(() => undefined) ?? Promise.resolve(), 500);
    // A lost un-REGISTER leaves sip.js "Registered" with its expiry timer armed (up to the
    // granted lifetime): nothing may outlive stop().
    if (registerer) silenceRegisterer(registerer);
    this.setState("INACTIVE", {});
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.retryTimer = this.refreshTimer = undefined;
  }

  private setState(state: RegistrationState, detail: RegistrationDetail): void {
    const same = state === this._state && detail.reason === this.detail.reason;
    this._state = state;
    this.detail = detail;
    if (!same || state === "FAILED") this.emit("state", state, detail);
  }
}

function grantedExpires(response: IncomingResponse, ua: UserAgent, requested: number): number {
  const contacts = response.message.getHeaders("contact").length;
  for (let i = 0; i < contacts; i++) {
    const c = response.message.parseHeader("contact", i);
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

/** Clears sip.js's own registration timers (refresh and expiry). */
function silenceRegisterer(registerer: unknown): void {
  const r = registerer as { clearTimers?: () => void };
  try { r.clearTimers?.(); } catch { /* internal API changed: nothing to clear */ }
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    p.then(() => { clearTimeout(t); resolve(); }, () => { clearTimeout(t); resolve(); });
  });
}
