import net from "net";
import tls from "tls";
import { Connection, ConnectionOptions, readableTlsError } from "./connection";
import type { Endpoint } from "../endpoint";
import { StreamFramer } from "./stream-framer";

const PONG_TIMEOUT_MS = 10_000;

/** SIP over TCP or TLS: one connection to the next hop, RFC 5626 ping/pong keep-alive. */
export class StreamConnection extends Connection {
  readonly reliable = true;
  local: Endpoint = { address: "0.0.0.0", port: 0 };
  private socket?: net.Socket;
  private keepAlive?: NodeJS.Timeout;
  private pongTimer?: NodeJS.Timeout;
  private closed = false;
  /** RFC 5626 keep-alive counters (for diagnostics and tests). */
  override readonly keepAliveStats = { pingsSent: 0, pongsReceived: 0 };

  constructor(private readonly opts: ConnectionOptions) {
    super();
  }

  open(): Promise<void> {
    const { remote, kind } = this.opts;
    return new Promise((resolve, reject) => {
      const common = { host: remote.address, port: remote.port, localAddress: this.opts.localAddress || undefined };
      const socket: net.Socket =
        kind === "tls"
          ? tls.connect({
              ...common,
              servername: net.isIP(this.opts.remoteHost) ? undefined : this.opts.remoteHost,
              rejectUnauthorized: this.opts.tlsRejectUnauthorized !== false,
              ca: this.opts.tlsCa,
              cert: this.opts.tlsCert || undefined,
              key: this.opts.tlsKey || undefined,
            })
          : net.connect(common);
      const readyEvent = kind === "tls" ? "secureConnect" : "connect";
      const onError = (err: Error) => {
        socket.destroy();
        reject(readableTlsError(err));
      };
      socket.once("error", onError);
      socket.setTimeout(10_000, () => socket.destroy(new Error("connection timeout")));
      socket.once(readyEvent, () => {
        socket.off("error", onError);
        socket.setTimeout(0);
        socket.setNoDelay(true);
        this.socket = socket;
        this.local = { address: socket.localAddress ?? "0.0.0.0", port: socket.localPort ?? 0 };
        this.attach(socket);
        resolve();
      });
    });
  }

  private attach(socket: net.Socket): void {
    const source = { address: this.opts.remote.address, port: this.opts.remote.port };
    const framer = new StreamFramer({
      message: (raw) => this.emit("message", raw, source),
      ping: () => socket.write("\r\n"),
      pong: () => {
        this.keepAliveStats.pongsReceived++;
        if (this.pongTimer) clearTimeout(this.pongTimer);
        this.pongTimer = undefined;
      },
      error: (err) => socket.destroy(err), // the stream is out of sync: start over
    });
    socket.on("data", (chunk) => {
      // Whatever a listener does with a message, the socket's event handler must never throw.
      try {
        framer.push(chunk);
      } catch {
        socket.destroy(new Error("failed to handle received data"));
      }
    });
    // Reported through close, with its text: a TLS 1.3 server refuses a client certificate only
    // after the handshake, and its alert ("certificate required") is the useful reason.
    let lastError: Error | undefined;
    socket.on("error", (err) => {
      lastError = readableTlsError(err);
    });
    socket.on("close", (hadError) => {
      this.stopKeepAlive();
      if (this.socket === socket) this.socket = undefined;
      if (!this.closed)
        this.emit(
          "close",
          new Error(lastError ? `connection lost: ${lastError.message}` : hadError ? "connection lost" : "connection closed by peer"),
        );
    });
    if (this.opts.keepAliveSeconds > 0) {
      this.keepAlive = setInterval(() => {
        socket.write("\r\n\r\n");
        this.keepAliveStats.pingsSent++;
        if (!this.pongTimer) {
          this.pongTimer = setTimeout(() => {
            this.emit("dead");
            socket.destroy(new Error("keep-alive pong missing"));
          }, PONG_TIMEOUT_MS);
          this.pongTimer.unref();
        }
      }, this.opts.keepAliveSeconds * 1000);
      this.keepAlive.unref();
    }
  }

  send(raw: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = this.socket;
      if (!s || s.destroyed) {
        reject(new Error("connection is closed"));
        return;
      }
      s.write(raw, (err) => (err ? reject(err) : resolve()));
    });
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.keepAlive = this.pongTimer = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopKeepAlive();
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once("close", () => resolve());
        s.end();
        setTimeout(() => s.destroy(), 500).unref();
      });
    }
  }
}
