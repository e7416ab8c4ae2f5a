// sip.js answers every 401/407 it sees with the account's credentials. An attacker who
// can challenge one of our requests (a BYE sent straight to a caller's Contact on UDP,
// a forged realm relayed by a proxy) would get an MD5 response for a realm and nonce of
// its choosing, to crack offline. This guard decides, per challenge, whether sip.js may
// answer it; the transport strips the challenge headers when not, so sip.js treats the
// response as a final failure and sends no Authorization.
//
// Answered only when the challenged request went to the configured server/outbound
// proxy, and only for the realm the registrar challenged our REGISTER with, or the
// configured authRealm. With registration off, only authRealm is answered.

import { WireMessage, headerName, headerValue, transactionKey } from "./wire-message";

/** Outgoing requests whose destination we remember for a challenge (oldest forgotten first). */
export const MAX_CHALLENGE_CONTEXTS = 512;
/** Registrar realms remembered (a registrar normally uses one). */
export const MAX_REGISTRAR_REALMS = 4;

export interface ChallengeVerdict {
  /** The response as sip.js may see it (challenges it must not answer removed). */
  msg: WireMessage;
  /** Realms refused (for the log). */
  refused: string[];
}

export class DigestGuard {
  private readonly sent = new Map<string, { toNextHop: boolean; method: string }>();
  private readonly realms = new Set<string>();
  private readonly configured?: string;

  constructor(authRealm?: string) {
    this.configured = authRealm?.trim() || undefined;
  }

  /** Every request we send, with whether its destination is the configured server/proxy. */
  outgoingRequest(msg: WireMessage, toNextHop: boolean): void {
    const key = transactionKey(msg);
    if (!key || msg.method === "ACK") return;
    this.sent.delete(key);
    while (this.sent.size >= MAX_CHALLENGE_CONTEXTS) this.sent.delete(this.sent.keys().next().value as string);
    this.sent.set(key, { toNextHop, method: msg.method! });
  }

  /** The request a response answers, if we sent it (and where it went). */
  sentRequest(msg: WireMessage): { toNextHop: boolean; method: string } | undefined {
    const key = transactionKey(msg);
    return key ? this.sent.get(key) : undefined;
  }

  /** Realms learned from the registrar (for diagnostics). */
  get registrarRealms(): string[] {
    return [...this.realms];
  }

  /**
   * Filters a 401/407. `fromRegistrar`: the response came from the registrar's address
   * (a challenge to our REGISTER from there teaches its realm).
   */
  incomingChallenge(msg: WireMessage, fromRegistrar: boolean): ChallengeVerdict {
    const code = msg.statusCode ?? 0;
    if (msg.isRequest || (code !== 401 && code !== 407)) return { msg, refused: [] };
    const key = transactionKey(msg);
    const ctx = key ? this.sent.get(key) : undefined;
    const isChallenge = (l: string) => ["www-authenticate", "proxy-authenticate"].includes(headerName(l));
    const challenges = msg.headers.filter(isChallenge);
    if (challenges.length === 0) return { msg, refused: [] };
    const realmOf = (l: string) => /realm\s*=\s*(?:"([^"]*)"|([^\s,]+))/i.exec(headerValue(l));
    const realm = (l: string) => {
      const m = realmOf(l);
      return m ? (m[1] ?? m[2] ?? "") : "";
    };
    if (ctx?.toNextHop && ctx.method === "REGISTER" && fromRegistrar) {
      for (const l of challenges) {
        const r = realm(l);
        if (r && !this.realms.has(r) && this.realms.size < MAX_REGISTRAR_REALMS) this.realms.add(r);
      }
    }
    const allowed = (l: string) => {
      if (!ctx?.toNextHop) return false;
      const r = realm(l);
      return !!r && (this.realms.has(r) || r === this.configured);
    };
    const refused = challenges.filter((l) => !allowed(l)).map((l) => realm(l) || "(none)");
    if (refused.length === 0) return { msg, refused };
    const headers = msg.headers.filter((l) => !isChallenge(l) || allowed(l));
    return { msg: { ...msg, headers }, refused };
  }
}
