// Shared helpers for the media unit tests.
import dgram from "node:dgram";
import type { Clock } from "../../../src/clock.js";
import { Pacer } from "../../../src/media/pacer.js";
import { parseRtp, type RtpPacket } from "../../../src/media/rtp-packet.js";

/** A pacer whose timer never fires: tests call session.tick() themselves. */
export function manualPacer(): Pacer {
  const clock: Clock = { now: () => 0, setTimeout: () => ({}), clearTimeout: () => undefined };
  return new Pacer({ clock });
}

/** Polls until `predicate` holds; rejects after `limitMs` so a broken test fails instead of hanging. */
export function waitFor(predicate: () => boolean, limitMs = 3000, what = "condition"): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > limitMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 5);
    };
    check();
  });
}

/** A raw UDP socket on 127.0.0.1 that records every RTP packet it receives. */
export class RawPeer {
  readonly packets: { packet: RtpPacket; from: dgram.RemoteInfo }[] = [];
  readonly raw: Buffer[] = [];
  private constructor(readonly socket: dgram.Socket) {
    socket.on("message", (msg, from) => {
      this.raw.push(msg);
      const packet = parseRtp(msg);
      if (packet) this.packets.push({ packet, from });
    });
  }

  /** Binds a free port on `address` (any 127/8 address: Linux routes all of it to lo). */
  static open(address = "127.0.0.1"): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket("udp4");
      socket.once("error", reject);
      socket.bind(0, address, () => resolve(new RawPeer(socket)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(buf: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(buf, port, "127.0.0.1", (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
