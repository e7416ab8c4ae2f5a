import WebSocket from "ws";
import net from "net";
import { Connection, ConnectionOptions, readableTlsError } from "./connection";
import type { Endpoint } from "../endpoint";
import { MAX_SIP_MESSAGE_BYTES } from "./stream-framer";

/** SIP over WebSocket (RFC 7118) with the `ws` package: never touches the global WebSocket. */
export class WsConnection extends Connection {
  readonly reliable = true;
  local: Endpoint = { address: "0.0.0.0", port: 0 };
  private ws?: WebSocket;
  private keepAlive?: NodeJS.Timeout;
  private alive = true;
  private closed = false;

  constructor(private readonly opts: ConnectionOptions) {
    super();
  }

  open(): Promise<void> {
    const { remote, remoteHost, kind } = this.opts;
    const scheme = kind === "wss" ? "wss" : "ws";
    const host = net.isIPv6(remoteHost) ? `[${remoteHost}]` : remoteHost;
    const url = `${scheme}://${host}:${remote.port}${this.opts.wsPath || "/"}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, "sip", {
        rejectUnauthorized: this.opts.tlsRejectUnauthorized !== false,
        ca: this.opts.tlsCa,
        cert: this.opts.tlsCert || undefined,
        key: this.opts.tlsKey || undefined,
        localAddress: this.opts.localAddress || undefined,
        handshakeTimeout: 10_000,
        // One SIP message per frame (RFC 7118): nothing larger is buffered.
        maxPayload: MAX_SIP_MESSAGE_BYTES,
        // Connect to the address we resolved, keep the name for Host/SNI.
        lookup: (_h: string, o: unknown, cb: (e: Error | null, a: string, f: number) => void) =>
          cb(null, remote.address, net.isIPv6(remote.address) ? 6 : 4),
      });
      const onError = (err: Error) => {
        ws.terminate();
        reject(readableTlsError(err));
      };
      ws.once("error", onError);
      // The handshake's response carries the socket (public `upgrade` event): our local address:port.
      let sock: net.Socket | undefined;
      ws.once("upgrade", (response) => {
        sock = response.socket;
      });
      ws.once("open", () => {
        ws.off("error", onError);
        ws.on("error", () => undefined);
        if (ws.protocol !== "sip") {
          ws.terminate();
          reject(new Error("server did not accept the 'sip' WebSocket subprotocol"));
          return;
        }
        this.local = { address: sock?.localAddress ?? "0.0.0.0", port: sock?.localPort ?? 0 };
        this.ws = ws;
        const source = { address: remote.address, port: remote.port };
        ws.on("message", (data) => {
          try {
            // binaryType is the default "nodebuffer": one Buffer per message (the other shapes for completeness).
            const text = Buffer.isBuffer(data)
              ? data.toString()
              : Array.isArray(data)
                ? Buffer.concat(data).toString()
                : Buffer.from(data).toString();
            this.emit("message", text, source);
          } catch {
            /* the transport logs its own failures */
          }
        });
        ws.on("pong", () => {
          this.alive = true;
        });
        ws.on("close", () => {
          this.stopKeepAlive();
          if (this.ws === ws) this.ws = undefined;
          if (!this.closed) this.emit("close", new Error("WebSocket closed"));
        });
        if (this.opts.keepAliveSeconds > 0) {
          this.keepAlive = setInterval(() => {
            if (!this.alive) {
              this.emit("dead");
              ws.terminate();
              return;
            }
            this.alive = false;
            ws.ping();
          }, this.opts.keepAliveSeconds * 1000);
          this.keepAlive.unref();
        }
        resolve();
      });
    });
  }

  send(raw: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        reject(new Error("WebSocket is closed"));
        return;
      }
      ws.send(raw, (err) => (err ? reject(err) : resolve()));
    });
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopKeepAlive();
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        ws.once("close", () => resolve());
        ws.close(1000);
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000).unref();
      });
    } else ws?.terminate();
  }
}
