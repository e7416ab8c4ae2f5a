// RFC 3261 §17 retransmission and absorption for UDP, below sip.js.
// sip.js 0.21.2 implements the transaction state machines but not the UDP timers:
// it never retransmits requests (Timers A/E) or non-2xx finals (Timer G), and with
// Timers D and J at zero it forgets a transaction before a retransmission can arrive.
// This layer fills exactly those gaps and lets everything else through.

import type { Clock } from "../clock";
import type { Endpoint } from "./endpoint";
import { WireMessage, transactionKey } from "./wire-message";

export const T1 = 500;
export const T2 = 4000;
export const TIMER_64T1 = 64 * T1;
/**
 * An INVITE server transaction without a final response lives as long as a call may ring:
 * sip.js's no-answer timeout (phone.ts noAnswerTimeout, 120 s) plus 64·T1 for the final to go out.
 */
export const INVITE_SERVER_TX_MS = 120_000 + TIMER_64T1;
/** Transactions remembered at once, per direction; the oldest is forgotten first. */
export const MAX_SERVER_TRANSACTIONS = 1024;
export const MAX_CLIENT_TRANSACTIONS = 1024;

/** The timers of a Clock: the transactions never read the time. */
export type TimerApi = Pick<Clock, "setTimeout" | "clearTimeout">;

// Unreferenced: a pending retransmission must not keep the process alive.
const realTimers: TimerApi = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface ClientTx {
  isInvite: boolean;
  raw: string;
  dest: Endpoint;
  interval: number;
  retransmitTimer?: unknown;
  finalSeen: boolean;
  ackRaw?: string; // ACK sent for a non-2xx final, resent on its retransmissions
  expiry?: unknown;
}

interface ServerTx {
  isInvite: boolean;
  source: Endpoint;
  finalRaw?: string;
  finalIsNon2xxInvite: boolean;
  interval: number;
  retransmitTimer?: unknown;
  expiry?: unknown;
}

export interface ReliabilityCounters {
  requestRetransmissions: number;
  responseRetransmissions: number;
  absorbedRequests: number;
  absorbedResponses: number;
  reAcks: number;
}

export class UdpReliability {
  private readonly clients = new Map<string, ClientTx>();
  private readonly servers = new Map<string, ServerTx>();
  readonly counters: ReliabilityCounters = {
    requestRetransmissions: 0,
    responseRetransmissions: 0,
    absorbedRequests: 0,
    absorbedResponses: 0,
    reAcks: 0,
  };

  constructor(
    private readonly send: (raw: string, dest: Endpoint) => void,
    private readonly timers: TimerApi = realTimers,
  ) {}

  /** Called for every request we send; starts Timer A (INVITE) or E (others). */
  outgoingRequest(msg: WireMessage, dest: Endpoint): void {
    const key = transactionKey(msg);
    if (!key) return;
    if (msg.method === "ACK") {
      // ACK of a non-2xx final shares the INVITE's branch: remember it for re-ACKs.
      const tx = this.clients.get(key);
      if (tx && tx.finalSeen) tx.ackRaw = msg.raw;
      return;
    }
    if (this.clients.has(key)) return; // sip.js resending the same transaction: leave our timers alone
    while (this.clients.size >= MAX_CLIENT_TRANSACTIONS) this.dropClient(this.clients.keys().next().value as string);
    const tx: ClientTx = { isInvite: msg.method === "INVITE", raw: msg.raw, dest, interval: T1, finalSeen: false };
    this.clients.set(key, tx);
    this.armRequestRetransmit(key, tx);
    // Timer B/F: sip.js reports the timeout itself; we just stop and forget.
    tx.expiry = this.timers.setTimeout(() => this.dropClient(key), TIMER_64T1 + T2);
  }

  /** Called for every response we receive; returns false when it must not reach sip.js. */
  incomingResponse(msg: WireMessage): boolean {
    const key = transactionKey(msg);
    const tx = key ? this.clients.get(key) : undefined;
    if (!tx || !key) return true;
    const code = msg.statusCode ?? 0;
    if (code < 200) {
      if (tx.isInvite)
        this.stopRetransmit(tx); // Timer A stops on any provisional
      else tx.interval = T2; // Timer E continues at T2 (§17.1.2.2)
      return true;
    }
    if (tx.finalSeen) {
      if (tx.isInvite && code >= 300) {
        // Retransmitted non-2xx final: our ACK was lost, send it again (Timer D's job).
        if (tx.ackRaw) {
          this.send(tx.ackRaw, tx.dest);
          this.counters.reAcks++;
        }
        this.counters.absorbedResponses++;
        return false;
      }
      if (!tx.isInvite) {
        this.counters.absorbedResponses++;
        return false;
      }
      return true; // 2xx retransmissions: sip.js re-ACKs them itself
    }
    tx.finalSeen = true;
    this.stopRetransmit(tx);
    // Keep the record for Timer D/K's duration to absorb retransmitted finals.
    if (tx.expiry) this.timers.clearTimeout(tx.expiry);
    tx.expiry = this.timers.setTimeout(() => this.dropClient(key), TIMER_64T1);
    return true;
  }

  /** Called for every request we receive; returns false when it is a retransmission we answered. */
  incomingRequest(msg: WireMessage, source: Endpoint): boolean {
    const key = transactionKey(msg);
    if (!key) return true;
    const tx = this.servers.get(key);
    if (msg.method === "ACK") {
      if (tx && tx.finalIsNon2xxInvite) this.stopRetransmit(tx); // Timer G ends on ACK
      return true;
    }
    if (tx) {
      if (tx.finalRaw) {
        this.send(tx.finalRaw, tx.source);
        this.counters.responseRetransmissions++;
      }
      // Without a final yet: sip.js's INVITE transaction resends its provisional itself;
      // a non-INVITE retransmission is simply absorbed until the TU answers.
      if (!tx.finalRaw && tx.isInvite) return true;
      this.counters.absorbedRequests++;
      return false;
    }
    while (this.servers.size >= MAX_SERVER_TRANSACTIONS) this.dropServer(this.servers.keys().next().value as string);
    const created: ServerTx = { isInvite: msg.method === "INVITE", source, finalIsNon2xxInvite: false, interval: T1 };
    this.servers.set(key, created);
    // Never answered (sip.js dropped it, or the TU never replied): forget it after 64·T1, or the ringing time.
    created.expiry = this.timers.setTimeout(() => this.dropServer(key), created.isInvite ? INVITE_SERVER_TX_MS : TIMER_64T1);
    return true;
  }

  /** A request of a server transaction we already know (a retransmission). */
  isRetransmission(msg: WireMessage): boolean {
    const key = transactionKey(msg);
    return !!key && this.servers.has(key);
  }

  /** Called for every response we send; caches finals and starts Timer G for non-2xx INVITE finals. */
  outgoingResponse(msg: WireMessage): void {
    const key = transactionKey(msg);
    const tx = key ? this.servers.get(key) : undefined;
    if (!tx || !key || (msg.statusCode ?? 0) < 200) return;
    tx.finalRaw = msg.raw;
    if (tx.expiry) this.timers.clearTimeout(tx.expiry);
    tx.expiry = this.timers.setTimeout(() => this.dropServer(key), TIMER_64T1);
    if (tx.isInvite && (msg.statusCode ?? 0) >= 300) {
      tx.finalIsNon2xxInvite = true;
      this.armResponseRetransmit(tx);
    }
  }

  /** Where the request of a server transaction came from (RFC 3581 response routing). */
  sourceOf(msg: WireMessage): Endpoint | undefined {
    const key = transactionKey(msg);
    return key ? this.servers.get(key)?.source : undefined;
  }

  /** Where the INVITE an ACK belongs to was sent (ACK of a non-2xx final). */
  destinationOfInvite(ack: WireMessage): Endpoint | undefined {
    const key = transactionKey(ack);
    return key ? this.clients.get(key)?.dest : undefined;
  }

  pending(): { clients: number; servers: number } {
    return { clients: this.clients.size, servers: this.servers.size };
  }

  close(): void {
    for (const key of [...this.clients.keys()]) this.dropClient(key);
    for (const key of [...this.servers.keys()]) this.dropServer(key);
  }

  private armRequestRetransmit(key: string, tx: ClientTx): void {
    tx.retransmitTimer = this.timers.setTimeout(() => {
      if (this.clients.get(key) !== tx || tx.finalSeen) return;
      this.send(tx.raw, tx.dest);
      this.counters.requestRetransmissions++;
      tx.interval = tx.isInvite ? tx.interval * 2 : Math.min(tx.interval * 2, T2);
      this.armRequestRetransmit(key, tx);
    }, tx.interval);
  }

  private armResponseRetransmit(tx: ServerTx): void {
    tx.retransmitTimer = this.timers.setTimeout(() => {
      if (!tx.finalRaw) return;
      this.send(tx.finalRaw, tx.source);
      this.counters.responseRetransmissions++;
      tx.interval = Math.min(tx.interval * 2, T2);
      this.armResponseRetransmit(tx);
    }, tx.interval);
  }

  private stopRetransmit(tx: { retransmitTimer?: unknown }): void {
    if (tx.retransmitTimer !== undefined) this.timers.clearTimeout(tx.retransmitTimer);
    tx.retransmitTimer = undefined;
  }

  private dropClient(key: string): void {
    const tx = this.clients.get(key);
    if (!tx) return;
    this.stopRetransmit(tx);
    if (tx.expiry) this.timers.clearTimeout(tx.expiry);
    this.clients.delete(key);
  }

  private dropServer(key: string): void {
    const tx = this.servers.get(key);
    if (!tx) return;
    this.stopRetransmit(tx);
    if (tx.expiry) this.timers.clearTimeout(tx.expiry);
    this.servers.delete(key);
  }
}
