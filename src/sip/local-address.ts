// The local IP the OS would use toward the server: a connected UDP socket tells us
// without sending a packet, so users on a LAN never have to type their own address.
// The socket is of the next hop's family, so an IPv6 server gets an IPv6 Via/Contact/c=.
import dgram from "dgram";
import { isIPv4, isIPv6 } from "net";

export function localAddressToward(remoteIp: string, port: number): Promise<string> {
  // "::ffff:1.2.3.4" is an IPv4 peer: ask (and answer) in IPv4, never with a mapped address.
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(remoteIp.trim());
  const remote = mapped && isIPv4(mapped[1]) ? mapped[1] : remoteIp.trim().replace(/^\[(.*)\]$/, "$1");
  const v6 = isIPv6(remote);
  return new Promise((resolve) => {
    const fallback = v6 ? "::1" : "127.0.0.1";
    let sock: dgram.Socket;
    try {
      sock = dgram.createSocket(v6 ? "udp6" : "udp4");
    } catch {
      resolve(fallback); // no IPv6 in this kernel
      return;
    }
    const done = (addr: string) => { try { sock.close(); } catch { /* already closed */ } resolve(addr); };
    sock.once("error", () => done(fallback));
    try {
      sock.connect(port, remote, () => {
        try { done(sock.address().address); } catch { done(fallback); }
      });
    } catch {
      done(fallback);
    }
  });
}
