// The local IP the OS would use toward the server: a connected UDP socket tells us
// without sending a packet, so users on a LAN never have to type their own address.
// The socket is of the next hop's family, so an IPv6 server gets an IPv6 Via/Contact/c=.
import dgram from "dgram";
import { isIPv4, isIPv6 } from "net";

export function localAddressToward(remoteIp: string, port: number): Promise<string> {
  return routeSourceToward(remoteIp, port).then((addr) => addr ?? (isIPv6(plainIp(remoteIp)) ? "::1" : "127.0.0.1"));
}

/** The source address of the route to `remoteIp`, or undefined when there is none (no such family, no route). */
export function routeSourceToward(remoteIp: string, port = 9): Promise<string | undefined> {
  const remote = plainIp(remoteIp);
  const v6 = isIPv6(remote);
  if (!v6 && !isIPv4(remote)) return Promise.resolve(undefined); // a name: never looked up here
  return new Promise((resolve) => {
    let sock: dgram.Socket;
    try {
      sock = dgram.createSocket(v6 ? "udp6" : "udp4");
    } catch {
      resolve(undefined); // no IPv6 in this kernel
      return;
    }
    const done = (addr: string | undefined) => {
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      resolve(addr);
    };
    sock.once("error", () => done(undefined));
    try {
      sock.connect(port, remote, () => {
        try {
          done(sock.address().address);
        } catch {
          done(undefined);
        }
      });
    } catch {
      done(undefined);
    }
  });
}

/** "[::1]" → "::1"; "::ffff:1.2.3.4" is an IPv4 peer: ask (and answer) in IPv4, never with a mapped address. */
function plainIp(ip: string): string {
  const bare = ip.trim().replace(/^\[(.*)\]$/, "$1");
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  return mapped && isIPv4(mapped[1]) ? mapped[1] : bare;
}
