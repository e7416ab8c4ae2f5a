// The local IP the OS would use toward the server: a connected UDP socket tells us
// without sending a packet, so users on a LAN never have to type their own address.
import dgram from "dgram";
import { isIPv6 } from "net";

export function localAddressToward(remoteIp: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(isIPv6(remoteIp) ? "udp6" : "udp4");
    const done = (addr: string) => { try { sock.close(); } catch { /* already closed */ } resolve(addr); };
    sock.once("error", () => done(isIPv6(remoteIp) ? "::1" : "127.0.0.1"));
    sock.connect(port, remoteIp, () => done(sock.address().address));
  });
}
