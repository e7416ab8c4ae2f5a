// Valid SIP messages toward one phone account, built from what WireTracker
// learned on the wire (real Call-IDs, tags, CSeqs, Vias), so that the mutated
// copies reach dialogs and transactions. Every host is a loopback literal.

import { Prng } from "./prng";
import { Dialog, WireTracker } from "./wire";

export type WireTransport = "UDP" | "TCP" | "WS";

export interface Target {
  transport: WireTransport;
  /** The account's user and AoR domain (host:port of the registrar as the phone sees it). */
  user: string;
  domain: string;
  /** Our side's address as it appears in Via/Contact (the injector or the relay). */
  peerHost: string;
  peerPort: number;
  /** A loopback UDP port that sinks RTP the phone sends for our offers. */
  sinkPort: number;
  /** Registrar port, for Refer-To targets that lead nowhere. */
  registrarPort: number;
  wire: WireTracker;
}

/** Our injected branches start with this, so relays can keep the phone's answers to them away from Kamailio. */
export const FUZZ_BRANCH = "z9hG4bKfz";

export const KINDS = [
  "INVITE",
  "reINVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "INFO",
  "NOTIFY",
  "REFER",
  "MESSAGE",
  "SUBSCRIBE",
  "UPDATE",
  "PRACK",
  "resp-REGISTER",
  "resp-dialog",
] as const;
export type Kind = (typeof KINDS)[number];

export interface Built {
  kind: Kind;
  startLine: string;
  headers: Array<[string, string]>;
  body: string;
  /** Call-ID used (fresh for out-of-dialog requests). */
  callId: string;
}

const CALLERS = ["+4930123456", "0049301234567", "bob", "anonymous", "1000", "%2B4930", "caller.one"];
const REG_CODES = [100, 180, 183, 200, 401, 407, 423, 486, 500, 503, 603];

export function sdpOffer(rng: Prng, host: string, port: number): string {
  const sess = rng.range(1, 2 ** 31);
  return [
    "v=0",
    `o=fuzz ${sess} ${sess} IN IP4 ${host}`,
    "s=-",
    `c=IN IP4 ${host}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 8 0 101`,
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

function via(t: Target, rng: Prng): string {
  const proto = t.transport === "WS" ? "WS" : t.transport;
  return `SIP/2.0/${proto} ${t.peerHost}:${t.peerPort};branch=${FUZZ_BRANCH}${rng.hex(16)};rport`;
}

function phoneUri(t: Target): string {
  return t.wire.contact ?? `sip:${t.user}@${t.domain}`;
}

function callerUri(t: Target, rng: Prng): string {
  return `sip:${rng.pick(CALLERS)}@${t.peerHost}:${t.peerPort}`;
}

function dialogOf(t: Target, rng: Prng): Dialog | undefined {
  const live = t.wire.liveDialogs();
  if (live.length && rng.chance(0.9)) return rng.pick(live);
  const all = [...t.wire.dialogs.values()];
  return all.length ? rng.pick(all) : undefined;
}

/** One valid message of `kind` (falls back to an out-of-dialog request when no dialog is known). */
export function build(kind: Kind, t: Target, rng: Prng): Built {
  const d = dialogOf(t, rng);
  const inDialog = ["reINVITE", "ACK", "BYE", "INFO", "NOTIFY", "REFER", "UPDATE", "PRACK", "resp-dialog"].includes(kind);
  if (kind === "resp-REGISTER") return regResponse(t, rng);
  if (kind === "CANCEL") return cancel(t, rng, d);
  if (inDialog) return dialogRequest(kind, t, rng, d ?? strayDialog(t, rng));
  return outOfDialog(kind, t, rng);
}

function contactOf(t: Target): string {
  const tr = t.transport === "UDP" ? "" : `;transport=${t.transport.toLowerCase()}`;
  return `<sip:fuzz@${t.peerHost}:${t.peerPort}${tr}>`;
}

function outOfDialog(method: Kind, t: Target, rng: Prng): Built {
  const callId = `${rng.hex(20)}@127.0.0.1`;
  const target = rng.chance(0.7) ? phoneUri(t) : `sip:${t.user}@${t.domain}`;
  const headers: Array<[string, string]> = [
    ["Via", via(t, rng)],
    ["Max-Forwards", "70"],
    ["From", `"Fuzz" <${callerUri(t, rng)}>;tag=${rng.hex(10)}`],
    ["To", `<sip:${t.user}@${t.domain}>`],
    ["Call-ID", callId],
    ["CSeq", `${rng.range(1, 9999)} ${method}`],
    ["Contact", contactOf(t)],
    ["User-Agent", "fuzz"],
  ];
  let body = "";
  switch (method) {
    case "INVITE":
      headers.push(["Allow", "INVITE, ACK, CANCEL, BYE, INFO, REFER, NOTIFY, OPTIONS"]);
      headers.push(["Content-Type", "application/sdp"]);
      body = sdpOffer(rng, t.peerHost, t.sinkPort);
      break;
    case "MESSAGE":
      headers.push(["Content-Type", "text/plain"]);
      body = "hello " + rng.hex(8);
      break;
    case "SUBSCRIBE":
      headers.push(["Event", rng.pick(["presence", "message-summary", "dialog", "refer"])], ["Expires", "3600"], ["Accept", "application/pidf+xml"]);
      break;
    case "OPTIONS":
      headers.push(["Accept", "application/sdp"]);
      break;
    default:
      break;
  }
  return { kind: method, startLine: `${method === "resp-dialog" ? "INVITE" : method} ${target} SIP/2.0`, headers, body, callId };
}

/** A dialog the phone never had: requests in it should get 481, responses be dropped. */
function strayDialog(t: Target, rng: Prng): Dialog {
  return {
    callId: `${rng.hex(16)}@127.0.0.1`,
    remote: `<${callerUri(t, rng)}>;tag=${rng.hex(8)}`,
    local: `<sip:${t.user}@${t.domain}>;tag=${rng.hex(8)}`,
    remoteContact: callerUri(t, rng),
    localContact: phoneUri(t),
    inviteCseq: rng.range(1, 100),
    inviteVias: [],
    recordRoutes: [],
    nextCseq: rng.range(101, 200),
    ended: false,
    since: Date.now(),
  };
}

function dialogRequest(kind: Kind, t: Target, rng: Prng, d: Dialog): Built {
  if (kind === "resp-dialog") return dialogResponse(t, rng, d);
  const method = kind === "reINVITE" ? "INVITE" : kind;
  const cseq = method === "ACK" || method === "PRACK" ? d.inviteCseq : d.nextCseq++;
  const headers: Array<[string, string]> = [
    ["Via", via(t, rng)],
    ["Max-Forwards", "70"],
    ["From", d.remote],
    ["To", d.local],
    ["Call-ID", d.callId],
    ["CSeq", `${cseq} ${method}`],
    ["Contact", contactOf(t)],
  ];
  let body = "";
  switch (method) {
    case "INVITE":
    case "UPDATE":
      headers.push(["Content-Type", "application/sdp"]);
      body = sdpOffer(rng, t.peerHost, t.sinkPort);
      break;
    case "INFO":
      headers.push(["Content-Type", "application/dtmf-relay"]);
      body = `Signal=${rng.pick(["1", "5", "9", "*", "#", "A", "16"])}\r\nDuration=${rng.pick([100, 160, 250])}\r\n`;
      break;
    case "NOTIFY":
      headers.push(["Event", "refer"], ["Subscription-State", "active;expires=60"], ["Content-Type", "message/sipfrag;version=2.0"]);
      body = "SIP/2.0 200 OK\r\n";
      break;
    case "REFER":
      // A target that leads nowhere: a user the registrar does not know, on loopback.
      headers.push(["Refer-To", `<sip:nobody-${rng.hex(4)}@127.0.0.1:${t.registrarPort}>`], ["Referred-By", `<${callerUri(t, rng)}>`]);
      break;
    case "PRACK":
      headers.push(["RAck", `1 ${d.inviteCseq} INVITE`]);
      break;
    default:
      break;
  }
  return { kind, startLine: `${method} ${d.localContact || phoneUri(t)} SIP/2.0`, headers, body, callId: d.callId };
}

function cancel(t: Target, rng: Prng, d: Dialog | undefined): Built {
  if (!d) return outOfDialog("OPTIONS", t, rng);
  return {
    kind: "CANCEL",
    startLine: `CANCEL ${d.localContact || phoneUri(t)} SIP/2.0`,
    headers: [
      ["Via", d.inviteVias[0] ?? via(t, rng)],
      ["Max-Forwards", "70"],
      ["From", d.remote],
      ["To", d.local.replace(/;\s*tag=[^;>\s]*/i, "")],
      ["Call-ID", d.callId],
      ["CSeq", `${d.inviteCseq} CANCEL`],
    ],
    body: "",
    callId: d.callId,
  };
}

function regResponse(t: Target, rng: Prng): Built {
  const r = t.wire.register;
  const code = rng.pick(REG_CODES);
  const reason: Record<number, string> = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    401: "Unauthorized",
    407: "Proxy Authentication Required",
    423: "Interval Too Brief",
    486: "Busy Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    603: "Decline",
  };
  const headers: Array<[string, string]> = [];
  for (const v of r?.vias ?? [via(t, rng)])
    headers.push(["Via", v.includes("rport") ? v.replace(/;rport(?!=)/, `;rport=${t.peerPort};received=127.0.0.1`) : v]);
  headers.push(
    ["From", r?.from ?? `<sip:${t.user}@${t.domain}>;tag=${rng.hex(8)}`],
    ["To", `${r?.to ?? `<sip:${t.user}@${t.domain}>`};tag=${rng.hex(8)}`],
    ["Call-ID", r?.callId ?? rng.hex(16)],
    ["CSeq", `${r?.cseq ?? 1} REGISTER`],
  );
  const realm = rng.pick(["127.0.0.1", "evil", "", 'a"b']);
  if (code === 401) headers.push(["WWW-Authenticate", `Digest realm="${realm}", nonce="${rng.hex(24)}", qop="auth", algorithm=MD5`]);
  if (code === 407) headers.push(["Proxy-Authenticate", `Digest realm="${realm}", nonce="${rng.hex(24)}", algorithm=MD5`]);
  if (code === 200)
    headers.push([
      "Contact",
      `<${r ? (/<([^>]+)>/.exec(r.contact)?.[1] ?? phoneUri(t)) : phoneUri(t)}>;expires=${rng.pick([0, 1, 60, 3600, 4294967295])}`,
    ]);
  if (code === 423) headers.push(["Min-Expires", String(rng.pick([60, 3600, 999999999]))]);
  if (code === 503 || code === 500) headers.push(["Retry-After", String(rng.pick([1, 30, 3000000, 4294967296]))]);
  return { kind: "resp-REGISTER", startLine: `SIP/2.0 ${code} ${reason[code]}`, headers, body: "", callId: r?.callId ?? "" };
}

function dialogResponse(t: Target, rng: Prng, d: Dialog): Built {
  // A response to a request the phone may have sent in this dialog (BYE, re-INVITE, INFO).
  const code = rng.pick([100, 180, 200, 401, 407, 481, 486, 500, 503]);
  const method = rng.pick(["BYE", "INVITE", "INFO", "NOTIFY"]);
  const headers: Array<[string, string]> = [
    ["Via", `SIP/2.0/${t.transport} ${t.peerHost}:${t.peerPort};branch=z9hG4bK${rng.hex(12)}`],
    ["From", d.local],
    ["To", d.remote],
    ["Call-ID", d.callId],
    ["CSeq", `${d.nextCseq} ${method}`],
  ];
  if (code === 401 || code === 407)
    headers.push([
      code === 401 ? "WWW-Authenticate" : "Proxy-Authenticate",
      `Digest realm="${rng.pick(["evil.example", "127.0.0.1"])}", nonce="${rng.hex(16)}", qop="auth"`,
    ]);
  return { kind: "resp-dialog", startLine: `SIP/2.0 ${code} ${code === 200 ? "OK" : "Whatever"}`, headers, body: "", callId: d.callId };
}

/** Serialises with a correct Content-Length (mutators may later break it on purpose). */
export function serialise(b: { startLine: string; headers: Array<[string, string]>; body: string }, fixLength = true): string {
  const headers = fixLength
    ? [...b.headers.filter(([n]) => !/^(content-length|l)$/i.test(n)), ["Content-Length", String(Buffer.byteLength(b.body))] as [string, string]]
    : b.headers;
  return `${b.startLine}\r\n${headers.map(([n, v]) => `${n}: ${v}`).join("\r\n")}\r\n\r\n${b.body}`;
}
