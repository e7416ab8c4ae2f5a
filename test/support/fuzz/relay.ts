// Fuzzing relays between the phone and Kamailio, one per transport. They
// forward the real traffic message by message (so the WireTracker learns
// Call-IDs, tags and CSeqs) and inject mutated messages into the stream toward
// the phone, always between two whole messages. The phone's answers to injected
// requests (Via branch FUZZ_BRANCH) are kept from Kamailio: it never sent them.
//
//   UDP: phone <-> relay <-> Kamailio, one upstream socket per phone address.
//   TCP: one upstream connection per phone connection; Content-Length framing.
//   WS:  one upstream WebSocket (subprotocol "sip") per phone WebSocket.

import * as dgram from "node:dgram";
import * as net from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { FUZZ_BRANCH } from "./corpus";
import { WireTracker } from "./wire";

export type RelayKind = "udp" | "tcp" | "ws";

export interface FuzzRelay {
  readonly kind: RelayKind;
  readonly port: number;
  readonly wire: WireTracker;
  /** Connections (or UDP clients) the phone has opened so far. */
  readonly connections: number;
  /** Writes `bytes` toward the phone; false when no connection is open. */
  inject(bytes: Buffer): boolean;
  /** Messages the phone sent in reply to injected ones (not forwarded). */
  readonly answered: number;
  close(): Promise<void>;
}

/** Whole SIP messages from a byte stream; CRLF keep-alives are passed on as they come. Bounded by MAX_FRAME. */
class Framer {
  static readonly MAX_FRAME = 256 * 1024;
  private buf: Buffer = Buffer.alloc(0);
  constructor(
    private readonly onMsg: (b: Buffer) => void,
    private readonly onRaw: (b: Buffer) => void,
  ) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      let lead = 0;
      while (lead < this.buf.length && (this.buf[lead] === 13 || this.buf[lead] === 10)) lead++;
      if (lead) {
        this.onRaw(this.buf.subarray(0, lead));
        this.buf = this.buf.subarray(lead);
      }
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this.buf.length > Framer.MAX_FRAME) {
          this.onRaw(this.buf);
          this.buf = Buffer.alloc(0);
        }
        return;
      }
      const head = this.buf.subarray(0, end).toString("latin1");
      const cl = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
      const total = end + 4 + (cl ? Number(cl[1]) : 0);
      if (this.buf.length < total) return;
      this.onMsg(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
  }
}

const isAnswerToInjected = (b: Buffer): boolean => {
  const head = b.subarray(0, 2048).toString("latin1");
  return head.startsWith("SIP/2.0") && head.includes(`branch=${FUZZ_BRANCH}`);
};

export async function startRelay(kind: RelayKind, port: number, upstreamPort: number, wsPath = "/"): Promise<FuzzRelay> {
  if (kind === "udp") return udpRelay(port, upstreamPort);
  if (kind === "tcp") return tcpRelay(port, upstreamPort);
  return wsRelay(port, upstreamPort, wsPath);
}

async function udpRelay(port: number, upstreamPort: number): Promise<FuzzRelay> {
  const wire = new WireTracker();
  const front = dgram.createSocket("udp4");
  const ups = new Map<string, dgram.Socket>();
  let last: { address: string; port: number } | undefined;
  let answered = 0;
  front.on("error", () => undefined);
  front.on("message", (msg, rinfo) => {
    last = { address: rinfo.address, port: rinfo.port };
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = ups.get(key);
    if (!up) {
      up = dgram.createSocket("udp4");
      up.on("error", () => undefined);
      up.on("message", (m) => {
        wire.toPhoneMsg(m.toString("utf8"));
        front.send(m, rinfo.port, rinfo.address);
      });
      up.bind(0, "127.0.0.1");
      ups.set(key, up);
    }
    wire.fromPhoneMsg(msg.toString("utf8"));
    if (isAnswerToInjected(msg)) {
      answered++;
      return;
    }
    up.send(msg, upstreamPort, "127.0.0.1");
  });
  await new Promise<void>((r) => front.bind(port, "127.0.0.1", () => r()));
  return {
    kind: "udp",
    port,
    wire,
    get connections() {
      return ups.size;
    },
    get answered() {
      return answered;
    },
    inject(bytes) {
      if (!last) return false;
      wire.toPhoneMsg(bytes.toString("utf8"));
      front.send(bytes, last.port, last.address);
      return true;
    },
    async close() {
      for (const s of [front, ...ups.values()])
        await new Promise<void>((r) => {
          try {
            s.close(() => r());
          } catch {
            r();
          }
        });
    },
  };
}

async function tcpRelay(port: number, upstreamPort: number): Promise<FuzzRelay> {
  const wire = new WireTracker();
  const live = new Set<net.Socket>();
  let current: net.Socket | undefined;
  let connections = 0;
  let answered = 0;
  const server = net.createServer((client) => {
    connections++;
    live.add(client);
    current = client;
    const up = net.connect({ port: upstreamPort, host: "127.0.0.1" });
    live.add(up);
    const pending: Buffer[] = [];
    let upReady = false;
    up.on("connect", () => {
      upReady = true;
      for (const b of pending.splice(0)) up.write(b);
    });
    const toUp = (b: Buffer): void => {
      if (upReady) up.write(b);
      else pending.push(b);
    };
    const fromPhone = new Framer((m) => {
      wire.fromPhoneMsg(m.toString("utf8"));
      if (isAnswerToInjected(m)) {
        answered++;
        return;
      }
      toUp(m);
    }, toUp);
    const toPhone = new Framer(
      (m) => {
        wire.toPhoneMsg(m.toString("utf8"));
        if (!client.destroyed) client.write(m);
      },
      (b) => {
        if (!client.destroyed) client.write(b);
      },
    );
    client.on("data", (d) => fromPhone.push(d));
    up.on("data", (d) => toPhone.push(d));
    const end = (): void => {
      client.destroy();
      up.destroy();
      live.delete(client);
      live.delete(up);
      if (current === client) current = undefined;
    };
    client.on("error", end);
    client.on("close", end);
    up.on("error", end);
    up.on("close", end);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return {
    kind: "tcp",
    port,
    wire,
    get connections() {
      return connections;
    },
    get answered() {
      return answered;
    },
    inject(bytes) {
      if (!current || current.destroyed) return false;
      wire.toPhoneMsg(bytes.toString("utf8"));
      current.write(bytes);
      return true;
    },
    async close() {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function wsRelay(port: number, upstreamPort: number, wsPath: string): Promise<FuzzRelay> {
  const wire = new WireTracker();
  const live = new Set<WebSocket>();
  let current: WebSocket | undefined;
  let connections = 0;
  let answered = 0;
  const server = new WebSocketServer({ host: "127.0.0.1", port, handleProtocols: (p) => (p.has("sip") ? "sip" : false) });
  server.on("error", () => undefined);
  server.on("connection", (client) => {
    connections++;
    live.add(client);
    current = client;
    const up = new WebSocket(`ws://127.0.0.1:${upstreamPort}${wsPath}`, "sip");
    live.add(up);
    const pending: Buffer[] = [];
    up.on("open", () => {
      for (const b of pending.splice(0)) up.send(b.toString("utf8"));
    });
    client.on("message", (data) => {
      const b = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      wire.fromPhoneMsg(b.toString("utf8"));
      if (isAnswerToInjected(b)) {
        answered++;
        return;
      }
      if (up.readyState === WebSocket.OPEN) up.send(b.toString("utf8"));
      else pending.push(b);
    });
    up.on("message", (data) => {
      const s = (Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)).toString("utf8");
      wire.toPhoneMsg(s);
      if (client.readyState === WebSocket.OPEN) client.send(s);
    });
    const end = (): void => {
      client.terminate();
      up.terminate();
      live.delete(client);
      live.delete(up);
      if (current === client) current = undefined;
    };
    client.on("error", end);
    client.on("close", end);
    up.on("error", end);
    up.on("close", end);
  });
  await new Promise<void>((r, j) => {
    server.once("listening", () => r());
    server.once("error", j);
  });
  return {
    kind: "ws",
    port,
    wire,
    get connections() {
      return connections;
    },
    get answered() {
      return answered;
    },
    inject(bytes) {
      if (!current || current.readyState !== WebSocket.OPEN) return false;
      wire.toPhoneMsg(bytes.toString("utf8"));
      // Text frames must be UTF-8 (a receiver closes with 1007 otherwise): send the rest as binary frames.
      const valid = Buffer.from(bytes.toString("utf8"), "utf8").equals(bytes);
      current.send(bytes, { binary: !valid });
      return true;
    },
    async close() {
      for (const s of live) s.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
