// A UDP relay on 127.0.0.1 that sits between SIP clients and a server and can
// drop chosen packets, e.g. "the first REGISTER towards the server".
//
//   const relay = await createLossyRelay({ targetPort: kam.ports.udp });
//   const rule = relay.drop({ direction: "toServer", count: 1, match: sipRequest("REGISTER") });
//   ... point the client at 127.0.0.1:relay.port ...
//   rule.dropped === 1
//   await relay.close();
//
// Behaves like a NAT: each client address (ip:port) gets its own upstream
// socket (bound to 127.0.0.1 on an ephemeral port), so the server sees one
// distinct source per client and requests the server sends to that source
// reach the right client. Rules are checked in the order they were added; a
// packet is dropped by the first rule that matches it and still has budget.

import * as dgram from "node:dgram";
import { freeUdpPort, LOOPBACK } from "./ports";

export type Direction = "toServer" | "toClient";

export interface PacketInfo {
  direction: Direction;
  /** Client address this packet is from/to. */
  client: { address: string; port: number };
  /** First line of the datagram (e.g. "REGISTER sip:... SIP/2.0" or "SIP/2.0 401 Unauthorized"). */
  firstLine: string;
  size: number;
}

export interface DropOptions {
  /** "toServer", "toClient" or "both" (default "both"). */
  direction?: Direction | "both";
  /** How many matching packets to drop (default 1; Infinity = all). */
  count?: number;
  /** Which packets count (default: every packet). */
  match?: (msg: Buffer, info: PacketInfo) => boolean;
}

export interface DropRule {
  readonly dropped: number;
  /** Matching packets still to be dropped. */
  readonly remaining: number;
  /** Stop applying this rule. */
  cancel(): void;
}

export interface RelayRecord extends PacketInfo {
  time: number;
  dropped: boolean;
}

export interface LossyRelay {
  readonly host: "127.0.0.1";
  /** Clients send here. */
  readonly port: number;
  readonly target: { host: "127.0.0.1"; port: number };
  drop(opts?: DropOptions): DropRule;
  /** Drop everything in both directions until the returned rule is cancelled. */
  blackhole(): DropRule;
  /** Every packet seen, in order. */
  readonly packets: RelayRecord[];
  readonly forwarded: number;
  readonly dropped: number;
  close(): Promise<void>;
}

export interface LossyRelayOptions {
  /** Server port on 127.0.0.1. */
  targetPort: number;
  /** Listening port (default: a free one). */
  port?: number;
}

/** Matches SIP requests of the given method(s) (any request when none). */
export function sipRequest(...methods: string[]): (msg: Buffer) => boolean {
  const set = new Set(methods.map((m) => m.toUpperCase()));
  return (msg) => {
    const first = firstLineOf(msg);
    const m = /^([A-Z]+) \S+ SIP\/2\.0$/.exec(first);
    return !!m && (set.size === 0 || set.has(m[1]));
  };
}

/** Matches SIP responses, optionally only these status codes and/or CSeq method. */
export function sipResponse(codes?: number[], method?: string): (msg: Buffer) => boolean {
  return (msg) => {
    const m = /^SIP\/2\.0 (\d{3}) /.exec(firstLineOf(msg));
    if (!m) return false;
    if (codes && !codes.includes(Number(m[1]))) return false;
    if (method) {
      const cseq = /\r?\n(?:CSeq|cseq):\s*\d+\s+(\w+)/i.exec(msg.toString("utf8"));
      if (!cseq || cseq[1].toUpperCase() !== method.toUpperCase()) return false;
    }
    return true;
  };
}

function firstLineOf(msg: Buffer): string {
  const s = msg.subarray(0, Math.min(msg.length, 512)).toString("utf8");
  const i = s.indexOf("\n");
  return (i < 0 ? s : s.slice(0, i)).replace(/\r$/, "");
}

interface Rule {
  direction: Direction | "both";
  remaining: number;
  dropped: number;
  active: boolean;
  match?: (msg: Buffer, info: PacketInfo) => boolean;
}

export async function createLossyRelay(opts: LossyRelayOptions): Promise<LossyRelay> {
  const target = { host: LOOPBACK as "127.0.0.1", port: opts.targetPort };
  const rules: Rule[] = [];
  const packets: RelayRecord[] = [];
  let forwarded = 0;
  let dropped = 0;
  let closed = false;
  const upstreams = new Map<string, dgram.Socket>();

  const decide = (msg: Buffer, info: PacketInfo): boolean => {
    for (const r of rules) {
      if (!r.active || r.remaining <= 0) continue;
      if (r.direction !== "both" && r.direction !== info.direction) continue;
      if (r.match && !r.match(msg, info)) continue;
      r.remaining--;
      r.dropped++;
      return true;
    }
    return false;
  };

  const handle = (msg: Buffer, info: PacketInfo, send: () => void): void => {
    const drop = decide(msg, info);
    packets.push({ ...info, time: Date.now(), dropped: drop });
    if (packets.length > 10000) packets.splice(0, packets.length - 10000);
    if (drop) dropped++;
    else {
      forwarded++;
      send();
    }
  };

  const bindSocket = (sock: dgram.Socket, port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(port, LOOPBACK, () => {
        sock.removeListener("error", reject);
        sock.on("error", () => {
          /* ICMP port unreachable etc.: ignore, UDP is lossy anyway */
        });
        resolve();
      });
    });

  let front!: dgram.Socket;
  let port = opts.port ?? 0;
  for (let attempt = 0; ; attempt++) {
    if (!opts.port) port = await freeUdpPort();
    front = dgram.createSocket("udp4");
    try {
      await bindSocket(front, port);
      break;
    } catch (err) {
      front.close();
      if (opts.port || attempt >= 5) throw err;
    }
  }

  const upstreamFor = async (client: { address: string; port: number }): Promise<dgram.Socket> => {
    const key = `${client.address}:${client.port}`;
    let up = upstreams.get(key);
    if (up) return up;
    up = dgram.createSocket("udp4");
    upstreams.set(key, up);
    const sock = up;
    sock.on("message", (msg) => {
      if (closed) return;
      const info: PacketInfo = { direction: "toClient", client, firstLine: firstLineOf(msg), size: msg.length };
      handle(msg, info, () => front.send(msg, client.port, client.address));
    });
    await bindSocket(sock, 0);
    return sock;
  };

  // Serialise upstream creation per client so two quick packets share one socket.
  const pendingUp = new Map<string, Promise<dgram.Socket>>();
  front.on("message", (msg, rinfo) => {
    if (closed) return;
    const client = { address: rinfo.address, port: rinfo.port };
    const key = `${client.address}:${client.port}`;
    let p = pendingUp.get(key);
    if (!p) {
      p = upstreamFor(client);
      pendingUp.set(key, p);
    }
    void p.then((up) => {
      if (closed) return;
      const info: PacketInfo = { direction: "toServer", client, firstLine: firstLineOf(msg), size: msg.length };
      handle(msg, info, () => up.send(msg, target.port, target.host));
    });
  });

  const closeSock = (s: dgram.Socket): Promise<void> =>
    new Promise((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    });

  const makeRule = (o: DropOptions): DropRule => {
    const r: Rule = { direction: o.direction ?? "both", remaining: o.count ?? 1, dropped: 0, active: true, match: o.match };
    rules.push(r);
    return {
      get dropped() {
        return r.dropped;
      },
      get remaining() {
        return r.active ? r.remaining : 0;
      },
      cancel() {
        r.active = false;
      },
    };
  };

  return {
    host: LOOPBACK,
    port,
    target,
    drop: (o = {}) => makeRule(o),
    blackhole: () => makeRule({ direction: "both", count: Infinity }),
    packets,
    get forwarded() {
      return forwarded;
    },
    get dropped() {
      return dropped;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(pendingUp.values()).catch(() => undefined);
      await Promise.all([front, ...upstreams.values()].map(closeSock));
      upstreams.clear();
      pendingUp.clear();
    },
  };
}
