// A light view of a SIP message for the layers below sip.js: enough to route,
// retransmit and rewrite it, without parsing bodies or most headers.

export interface ViaInfo {
  protocol: string;
  host: string;
  port?: number;
  branch?: string;
  params: string;
}

export interface WireMessage {
  raw: string;
  isRequest: boolean;
  method?: string; // requests
  requestUri?: string; // requests
  statusCode?: number; // responses
  reason?: string; // responses
  cseqMethod: string;
  callId: string;
  toTag?: string;
  topVia?: ViaInfo;
  /** Header lines (without the start line), as received. */
  headers: string[];
  body: string;
}

// RFC 3261 §7.3.3 compact forms.
const COMPACT: Record<string, string> = {
  v: "via",
  m: "contact",
  i: "call-id",
  f: "from",
  t: "to",
  l: "content-length",
  c: "content-type",
  k: "supported",
  s: "subject",
  e: "content-encoding",
  o: "event",
  r: "refer-to",
};

export function headerName(line: string): string {
  const colon = line.indexOf(":");
  const name = (colon < 0 ? line : line.slice(0, colon)).trim().toLowerCase();
  return COMPACT[name] ?? name;
}

export function headerValue(line: string): string {
  const colon = line.indexOf(":");
  return colon < 0 ? "" : line.slice(colon + 1).trim();
}

export function parseVia(value: string): ViaInfo | undefined {
  // "SIP/2.0/UDP host:port;branch=...;rport" (first of possibly several comma-separated values)
  const first = value.split(",")[0].trim();
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[^\]]+\]|[^\s;:]+)(?::(\d+))?\s*(.*)$/.exec(first);
  if (!m) return undefined;
  const params = m[4] ?? "";
  const branch = /;\s*branch=([^;\s,]+)/i.exec(params)?.[1];
  return { protocol: m[1].toUpperCase(), host: m[2], port: m[3] ? Number(m[3]) : undefined, branch, params };
}

/** Splits a raw message into head and body; unfolds continuation lines. Returns undefined if not SIP. */
export function parseWireMessage(raw: string): WireMessage | undefined {
  const split = raw.indexOf("\r\n\r\n");
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split + 4);
  const lines: string[] = [];
  for (const line of head.split("\r\n")) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && lines.length > 0) lines[lines.length - 1] += " " + line.trim();
    else lines.push(line);
  }
  const start = lines.shift();
  if (!start) return undefined;
  let msg: Partial<WireMessage>;
  const status = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/.exec(start);
  if (status) {
    msg = { isRequest: false, statusCode: Number(status[1]), reason: status[2] };
  } else {
    const req = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/.exec(start);
    if (!req) return undefined;
    msg = { isRequest: true, method: req[1].toUpperCase(), requestUri: req[2] };
  }
  let cseqMethod: string | undefined;
  let callId: string | undefined;
  for (const line of lines) {
    const name = headerName(line);
    if (name === "via" && !msg.topVia) msg.topVia = parseVia(headerValue(line));
    else if (name === "cseq") cseqMethod = headerValue(line).split(/\s+/)[1]?.toUpperCase();
    else if (name === "call-id") callId = headerValue(line);
    else if (name === "to") msg.toTag = /;\s*tag=([^;\s>]+)/i.exec(headerValue(line))?.[1];
  }
  if (!cseqMethod || !callId || !msg.topVia) return undefined;
  return { ...msg, raw, cseqMethod, callId, headers: lines, body } as WireMessage;
}

/** Replaces the start line + headers of a raw message, keeping its body. */
export function rebuild(startLine: string, headers: string[], body: string): string {
  return startLine + "\r\n" + headers.join("\r\n") + "\r\n\r\n" + body;
}

export function startLineOf(raw: string): string {
  const end = raw.indexOf("\r\n");
  return end < 0 ? raw : raw.slice(0, end);
}

/** Transaction key of a message (RFC 3261 §17.1.3 / §17.2.3, branch-based). */
export function transactionKey(msg: WireMessage): string | undefined {
  const branch = msg.topVia?.branch;
  if (!branch) return undefined;
  const method = msg.isRequest ? (msg.method === "ACK" ? "INVITE" : msg.method!) : msg.cseqMethod;
  return branch + " " + method;
}
