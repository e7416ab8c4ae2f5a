// One OPTIONS request to a SIP server over a socket of its own, for the SIP doctor: does this
// transport answer, how fast, and from which address and port did the server see us (Via
// received/rport, RFC 3581)? Independent of the running account, so it can try a transport the
// account does not use. The answer is read defensively and bounded.
import * as dgram from "dgram";
import { randomBytes } from "crypto";
import * as net from "net";
import * as tls from "tls";
import type { Endpoint } from "../sip/endpoint";
import { headerName, headerValue, parseWireMessage, type WireMessage } from "../sip/wire-message";

export type ProbeTransport = "udp" | "tcp" | "tls";

/** How long one probe waits for a final answer (UDP retransmits at 0.5, 1.5 and 3.5 s). */
export const PROBE_TIMEOUT_MS = 4000;
/** Largest answer read; a longer one is cut and judged by its head. */
export const PROBE_MAX_RESPONSE_BYTES = 65_536;

export interface ProbeTarget {
  transport: ProbeTransport;
  address: string;
  port: number;
  /** Name for TLS SNI and certificate checks, and for the request URI. */
  host: string;
  /** User part of From (the account's user name; never a secret). */
  user: string;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; cert?: string | Buffer; key?: string | Buffer };
  localAddress?: string;
  timeoutMs?: number;
}

export interface ProbeResult {
  transport: ProbeTransport;
  address: string;
  port: number;
  /** A final answer came (any status: even 404 or 405 proves the server is there). */
  answered: boolean;
  rttMs?: number;
  statusCode?: number;
  reason?: string;
  /** Our socket's address as the system chose it. */
  local?: Endpoint;
  /** Where the server saw us (Via received / rport of the answer), when it said so. */
  seenAs?: { address?: string; port?: number };
  /** Methods in Allow, upper case. */
  allow?: string[];
  /** Codecs of an SDP body, if the server sent one ("PCMU", "telephone-event"...). */
  sdpCodecs?: string[];
  error?: string;
}

const token = (): string => randomBytes(8).toString("hex");

function hostForUri(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function request(t: ProbeTarget, local: Endpoint, branch: string, callId: string): string {
  const via = `SIP/2.0/${t.transport.toUpperCase()} ${hostForUri(local.address)}:${local.port};branch=z9hG4bK${branch};rport`;
  const domain = hostForUri(t.host);
  // Addressed to the server itself (address and port), as a keep-alive ping is: a proxy answers
  // that itself, while a request for its domain might be routed on.
  return [
    `OPTIONS sip:${hostForUri(t.address)}:${t.port} SIP/2.0`,
    `Via: ${via}`,
    "Max-Forwards: 70",
    `From: <sip:${t.user.replace(/[^\w.!~*'()&=+$,;?/%-]/g, "")}@${domain}>;tag=${token()}`,
    `To: <sip:${domain}>`,
    `Call-ID: ${callId}`,
    "CSeq: 1 OPTIONS",
    "Accept: application/sdp",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

/** Reads what the doctor needs from a final answer. */
export function readAnswer(msg: WireMessage): Pick<ProbeResult, "statusCode" | "reason" | "seenAs" | "allow" | "sdpCodecs"> {
  const params = msg.topVia?.params ?? "";
  const received = /;\s*received=([^;\s,]+)/i.exec(params)?.[1];
  const rport = Number(/;\s*rport=(\d{1,5})/i.exec(params)?.[1]);
  const allow = msg.headers
    .filter((l) => headerName(l) === "allow")
    .flatMap((l) => headerValue(l).split(","))
    .map((m) => m.trim().toUpperCase())
    .filter((m) => /^[A-Z]{2,20}$/.test(m))
    .slice(0, 32);
  const sdpCodecs = [...msg.body.matchAll(/^a=rtpmap:\d+\s+([\w.-]{1,32})\//gm)].map((m) => m[1]).slice(0, 32);
  return {
    statusCode: msg.statusCode,
    reason: msg.reason?.slice(0, 100),
    seenAs: received || rport ? { address: received, port: rport > 0 && rport < 65536 ? rport : undefined } : undefined,
    allow: allow.length ? allow : undefined,
    sdpCodecs: sdpCodecs.length ? sdpCodecs : undefined,
  };
}

/** A final answer to our request, or undefined (not SIP, provisional, someone else's). */
function finalAnswer(raw: string, callId: string): WireMessage | undefined {
  const msg = parseWireMessage(raw);
  if (!msg || msg.isRequest || msg.callId !== callId) return undefined;
  return (msg.statusCode ?? 0) >= 200 ? msg : undefined;
}

export function probeOptions(t: ProbeTarget): Promise<ProbeResult> {
  return t.transport === "udp" ? probeUdp(t) : probeStream(t);
}

function probeUdp(t: ProbeTarget): Promise<ProbeResult> {
  const base: ProbeResult = { transport: "udp", address: t.address, port: t.port, answered: false };
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(t.address) ? "udp6" : "udp4");
    const callId = token();
    const branch = token();
    const timers: NodeJS.Timeout[] = [];
    let start = 0;
    let done = false;
    const finish = (r: Partial<ProbeResult>): void => {
      if (done) return;
      done = true;
      timers.forEach(clearTimeout);
      socket.close();
      resolve({ ...base, ...r });
    };
    socket.on("error", (e) => finish({ error: e.message }));
    socket.on("message", (data, from) => {
      if (from.address !== t.address || from.port !== t.port || data.length > PROBE_MAX_RESPONSE_BYTES) return;
      const msg = finalAnswer(data.toString("latin1"), callId);
      if (msg) finish({ answered: true, rttMs: Date.now() - start, local: localOf(socket), ...readAnswer(msg) });
    });
    socket.bind({ port: 0, address: t.localAddress }, () => {
      socket.connect(t.port, t.address, () => {
        const local = localOf(socket)!;
        const wire = Buffer.from(request(t, local, branch, callId), "latin1");
        start = Date.now();
        const send = (): void => socket.send(wire, () => undefined);
        send();
        for (const at of [500, 1500, 3500]) if (at < (t.timeoutMs ?? PROBE_TIMEOUT_MS)) timers.push(setTimeout(send, at));
        timers.push(setTimeout(() => finish({ local, error: "no answer" }), t.timeoutMs ?? PROBE_TIMEOUT_MS));
      });
    });
  });
}

function localOf(s: dgram.Socket): Endpoint | undefined {
  try {
    const a = s.address();
    return { address: a.address, port: a.port };
  } catch {
    return undefined;
  }
}

function probeStream(t: ProbeTarget): Promise<ProbeResult> {
  const base: ProbeResult = { transport: t.transport, address: t.address, port: t.port, answered: false };
  return new Promise((resolve) => {
    const callId = token();
    const start = Date.now();
    let buffered = "";
    let done = false;
    const socket: net.Socket =
      t.transport === "tls"
        ? tls.connect({
            socket: net.connect({ host: t.address, port: t.port, localAddress: t.localAddress }),
            servername: net.isIP(t.host) ? undefined : t.host,
            ca: t.tls?.ca || undefined,
            cert: t.tls?.cert || undefined,
            key: t.tls?.key || undefined,
            rejectUnauthorized: t.tls?.rejectUnauthorized ?? true,
          })
        : net.connect({ host: t.address, port: t.port, localAddress: t.localAddress });
    const timer = setTimeout(() => finish({ error: "no answer" }), t.timeoutMs ?? PROBE_TIMEOUT_MS);
    function finish(r: Partial<ProbeResult>): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...base, ...r });
    }
    const local = (): Endpoint | undefined => (socket.localAddress ? { address: socket.localAddress, port: socket.localPort ?? 0 } : undefined);
    socket.on("error", (e: NodeJS.ErrnoException) => finish({ local: local(), error: e.code === "ECONNREFUSED" ? "connection refused" : e.message }));
    socket.on(t.transport === "tls" ? "secureConnect" : "connect", () => {
      socket.write(request(t, local()!, token(), callId), "latin1");
    });
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      if (buffered.length > PROBE_MAX_RESPONSE_BYTES) buffered = buffered.slice(0, PROBE_MAX_RESPONSE_BYTES);
      // Answers are framed by the blank line and Content-Length; a provisional one may come first.
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/^(?:content-length|l)\s*:\s*(\d+)/im.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const one = buffered.slice(0, end + 4 + length);
        buffered = buffered.slice(end + 4 + length);
        const msg = finalAnswer(one, callId);
        if (msg) return finish({ answered: true, rttMs: Date.now() - start, local: local(), ...readAnswer(msg) });
      }
    });
    socket.on("close", () => finish({ local: local(), error: "connection closed without an answer" }));
  });
}
