// A response built without sip.js, for requests sip.js must not (or could not) handle:
// 503 to a throttled INVITE, 500 when handling a request failed (RFC 3261 §8.2.6).

import { WireMessage, headerName } from "./wire-message";
import crypto from "crypto";

export function statelessResponse(req: WireMessage, code: number, reason: string, extra: string[] = []): string | undefined {
  if (!req.isRequest || req.method === "ACK") return undefined; // an ACK is never answered
  const keep = ["via", "from", "to", "call-id", "cseq"];
  const headers: string[] = [];
  for (const line of req.headers) {
    const name = headerName(line);
    if (!keep.includes(name)) continue;
    if (name === "to" && !/;\s*tag=/i.test(line)) headers.push(`${line};tag=${crypto.randomBytes(5).toString("hex")}`);
    else headers.push(line);
  }
  headers.push(...extra, "Content-Length: 0");
  return `SIP/2.0 ${code} ${reason}\r\n${headers.join("\r\n")}\r\n\r\n`;
}
