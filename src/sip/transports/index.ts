// Connection registry: each transport kind plugs in here, the SIP layer never names one.
import { Connection, ConnectionOptions } from "./connection";
import { UdpConnection } from "./udp-connection";
import { StreamConnection } from "./stream-connection";
import { WsConnection } from "./ws-connection";
import { TransportKind } from "../../types";

type Factory = (opts: ConnectionOptions) => Connection;

const registry = new Map<TransportKind, Factory>([
  ["udp", (o) => new UdpConnection(o)],
  ["tcp", (o) => new StreamConnection(o)],
  ["tls", (o) => new StreamConnection(o)],
  ["ws", (o) => new WsConnection(o)],
  ["wss", (o) => new WsConnection(o)],
]);

export function createConnection(opts: ConnectionOptions): Connection {
  const factory = registry.get(opts.kind);
  if (!factory) throw new Error(`unknown transport "${opts.kind}" (use udp, tcp, tls, ws or wss)`);
  return factory(opts);
}

export const DEFAULT_PORTS: Record<TransportKind, number> = { udp: 5060, tcp: 5060, tls: 5061, ws: 80, wss: 443 };

export { Connection, ConnectionOptions };
