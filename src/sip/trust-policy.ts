// The trust boundary below sip.js (issue 8): who may send us which request.
//
// - Out-of-dialog requests (no To tag) only from the registrar and outbound proxy
//   (every address their names resolve to, and the source of successful REGISTER
//   responses), plus the configured networks ("networks"), or from anyone ("anyone").
// - In-dialog requests (To tag), and the CANCEL/ACK of an accepted INVITE, also from
//   the dialog's route: the source of the dialog-forming INVITE, and the hosts of its
//   Contact and Record-Route headers (and those of the responses to our INVITEs).
// Anything else is dropped silently by the transport.

import { CidrList, canonicalAddress, addressBytes } from "./cidr";
import { WireMessage, headerName, headerValue } from "./wire-message";
import type { Endpoint } from "./endpoint";
import { AcceptFrom } from "../phone/account";

/** Dialogs (Call-IDs) whose route we remember. The oldest is forgotten first. */
export const MAX_DIALOG_ROUTES = 1024;
/** A dialog route not used for this long is forgotten (longer than any sane call). */
export const DIALOG_ROUTE_TTL_MS = 12 * 60 * 60 * 1000;
/** Addresses per dialog route (source, Contact, Record-Route hosts, refreshes). */
export const MAX_ADDRESSES_PER_DIALOG = 8;
/** Addresses learned from REGISTER responses (besides the resolved names). */
export const MAX_LEARNED_TRUSTED = 16;

export type TrustDecision = "accept" | "drop";

export interface TrustPolicyOptions {
  acceptFrom?: AcceptFrom;
  trustedNetworks?: string[];
  now?: () => number;
}

interface DialogRoute {
  addresses: Set<string>;
  touched: number;
  outbound: boolean;
}

export class TrustPolicy {
  readonly acceptFrom: AcceptFrom;
  private readonly networks: CidrList;
  private readonly now: () => number;
  /** Addresses of the configured registrar/proxy names (replaced on every resolution). */
  private resolved = new Set<string>();
  /** Sources of successful REGISTER responses. */
  private readonly learned = new Set<string>();
  private readonly dialogs = new Map<string, DialogRoute>();
  /** Requests dropped at the boundary. */
  dropped = 0;

  constructor(opts: TrustPolicyOptions = {}) {
    const mode = opts.acceptFrom || "registrar"; // "" (an old flow, an empty field) = the safe default
    if (!["registrar", "networks", "anyone"].includes(mode))
      throw new Error(`acceptFrom must be "registrar", "networks" or "anyone", not "${String(mode)}"`);
    this.acceptFrom = mode;
    // Invalid entries throw here, at construction: a typo must not silently open or close the phone.
    this.networks = new CidrList(mode === "networks" ? (opts.trustedNetworks ?? []) : []);
    this.now = opts.now ?? Date.now;
  }

  /** The registrar's / proxy's addresses, from a fresh DNS resolution. */
  setResolvedAddresses(addresses: Iterable<string>): void {
    this.resolved = new Set([...addresses].map(canonicalAddress));
  }

  /** A successful REGISTER response came from this source: it is the registrar too. */
  learnRegistrarSource(address: string): void {
    const a = canonicalAddress(address);
    if (this.resolved.has(a) || this.learned.has(a)) return;
    if (this.learned.size >= MAX_LEARNED_TRUSTED) this.learned.delete(this.learned.values().next().value as string);
    this.learned.add(a);
  }

  /** Registrar, outbound proxy, or (mode "networks") a configured network. */
  isTrusted(address: string): boolean {
    if (this.acceptFrom === "anyone") return true;
    const a = canonicalAddress(address);
    if (this.resolved.has(a) || this.learned.has(a)) return true;
    return this.acceptFrom === "networks" && this.networks.contains(a);
  }

  /** Trusted by configuration (registrar, proxy, or a listed network), not merely because acceptFrom is "anyone". */
  isConfigured(address: string): boolean {
    const a = canonicalAddress(address);
    return this.isRegistrar(a) || (this.acceptFrom === "networks" && this.networks.contains(a));
  }

  /** Is the address the registrar or proxy itself (not merely a trusted network)? */
  isRegistrar(address: string): boolean {
    const a = canonicalAddress(address);
    return this.resolved.has(a) || this.learned.has(a);
  }

  /** Decides on a request from `source`; records the route of an accepted dialog-forming INVITE. */
  checkRequest(msg: WireMessage, source: Endpoint): TrustDecision {
    const addr = canonicalAddress(source.address);
    let ok = this.isTrusted(addr);
    const inDialog = !!msg.toTag || msg.method === "CANCEL" || msg.method === "ACK";
    if (!ok && inDialog) ok = this.onRoute(msg.callId, addr);
    if (!ok) {
      this.dropped++;
      return "drop";
    }
    if (msg.method === "INVITE") this.learnDialog(msg, addr, false);
    return "accept";
  }

  /** We send an INVITE: its responses may add to the route of this Call-ID. */
  outgoingInvite(msg: WireMessage): void {
    if (!msg.toTag) this.remember(msg.callId, true);
  }

  /** A response arrived: a response to our INVITE teaches the callee's Contact and the Record-Route. */
  incomingResponse(msg: WireMessage, source: Endpoint): void {
    if (msg.cseqMethod === "INVITE" && this.dialogs.get(msg.callId)?.outbound && (msg.statusCode ?? 0) < 300) {
      this.learnDialog(msg, canonicalAddress(source.address), true);
    }
  }

  /** For tests and diagnostics. */
  get dialogCount(): number {
    return this.dialogs.size;
  }

  private onRoute(callId: string, addr: string): boolean {
    const route = this.dialogs.get(callId);
    if (!route) return false;
    if (this.now() - route.touched > DIALOG_ROUTE_TTL_MS) {
      this.dialogs.delete(callId);
      return false;
    }
    if (!route.addresses.has(addr)) return false;
    route.touched = this.now();
    return true;
  }

  private remember(callId: string, outbound: boolean): DialogRoute {
    let route = this.dialogs.get(callId);
    if (route) {
      this.dialogs.delete(callId); // re-insert: most recently used last
    } else {
      route = { addresses: new Set(), touched: 0, outbound };
      this.prune();
    }
    route.touched = this.now();
    this.dialogs.set(callId, route);
    return route;
  }

  private learnDialog(msg: WireMessage, source: string, outbound: boolean): void {
    const route = this.remember(msg.callId, outbound);
    const add = (a: string | undefined) => {
      if (a && route.addresses.size < MAX_ADDRESSES_PER_DIALOG) route.addresses.add(canonicalAddress(a));
    };
    add(source);
    for (const line of msg.headers) {
      const name = headerName(line);
      if (name !== "contact" && name !== "record-route") continue;
      for (const host of uriHosts(headerValue(line))) add(host);
    }
  }

  private prune(): void {
    const now = this.now();
    for (const [id, r] of this.dialogs) {
      if (now - r.touched > DIALOG_ROUTE_TTL_MS) this.dialogs.delete(id);
    }
    while (this.dialogs.size >= MAX_DIALOG_ROUTES) this.dialogs.delete(this.dialogs.keys().next().value as string);
  }
}

/** IP hosts of the SIP URIs in a Contact/Record-Route value (names are ignored: no DNS on the receive path). */
export function uriHosts(value: string): string[] {
  const hosts: string[] = [];
  const re = /sips?:(?:[^@<>\s,;]*@)?(\[[^\]]+\]|[^:;>,\s?]+)/gi;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(value)) && n++ < MAX_ADDRESSES_PER_DIALOG) {
    const host = m[1].replace(/^\[|\]$/g, "");
    if (addressBytes(host)) hosts.push(host);
  }
  return hosts;
}
