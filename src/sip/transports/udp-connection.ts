import dgram from "dgram";
import { isIPv6 } from "net";
import { Connection, ConnectionOptions } from "./connection";
import type { Endpoint } from "../endpoint";
import { localAddressToward } from "../local-address";

export class UdpConnection extends Connection {
  readonly reliable = false;
  local: Endpoint = { address: "0.0.0.0", port: 0 };
  private socket?: dgram.Socket;
  private keepAlive?: NodeJS.Timeout;

  constructor(private readonly opts: ConnectionOptions) {
    super();
  }

  async open(): Promise<void> {
    const { remote } = this.opts;
    const advertised = this.opts.localAddress || (await localAddressToward(remote.address, remote.port));
    const socket = dgram.createSocket({ type: isIPv6(remote.address) ? "udp6" : "udp4", reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(this.opts.localPort || 0, this.opts.localAddress || undefined, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.on("message", (data, rinfo) => {
      const raw = data.toString("utf8");
      if (/^\s*$/.test(raw)) return; // keep-alive from the peer
      try {
        this.emit("message", raw, { address: rinfo.address, port: rinfo.port });
      } catch {
        /* never out of the socket handler */
      }
    });
    // ICMP errors and the like: UDP has no connection to lose, keep running.
    socket.on("error", () => undefined);
    this.socket = socket;
    this.local = { address: advertised, port: socket.address().port };
    if (this.opts.keepAliveSeconds > 0) {
      // CRLFCRLF keeps the NAT binding toward the server open (RFC 5626 §4.4.1 style).
      this.keepAlive = setInterval(() => {
        this.socket?.send("\r\n\r\n", remote.port, remote.address, () => undefined);
      }, this.opts.keepAliveSeconds * 1000);
      this.keepAlive.unref();
    }
  }

  send(raw: string, dest?: Endpoint): Promise<void> {
    const to = dest ?? this.opts.remote;
    return new Promise((resolve, reject) => {
      if (!this.socket) {
        reject(new Error("UDP socket is closed"));
        return;
      }
      this.socket.send(raw, to.port, to.address, (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s)
      await new Promise<void>((resolve) => {
        try {
          s.close(() => resolve());
        } catch {
          resolve();
        }
      });
    this.emit("close");
  }
}
