// What the fuzzer learns from the real traffic: the phone's registration
// transaction, its Contact, and every dialog it answered (Call-ID, tags, CSeq,
// the RTP port of its SDP). The corpus builds in-dialog messages from this, so
// mutated messages reach the dialog and transaction code, not only the parser.

export interface SipHead {
  request: boolean;
  method: string;
  status: number;
  ruri: string;
  headers: Array<[string, string]>;
  body: string;
}

const COMPACT: Record<string, string> = {
  i: "call-id",
  f: "from",
  t: "to",
  v: "via",
  m: "contact",
  l: "content-length",
  c: "content-type",
  k: "supported",
  o: "event",
  r: "refer-to",
  e: "content-encoding",
  s: "subject",
};

/** A tolerant parser for messages seen on the wire (our own or real peers'); undefined when not SIP. */
export function parseSip(raw: string): SipHead | undefined {
  const split = raw.indexOf("\r\n\r\n");
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split + 4);
  const lines = head.split("\r\n");
  const first = lines.shift() ?? "";
  const req = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(first);
  const res = /^SIP\/2\.0 (\d{3})/.exec(first);
  if (!req && !res) return undefined;
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    headers.push([COMPACT[name] ?? name, line.slice(i + 1).trim()]);
  }
  const cseq = headerOf(headers, "cseq") ?? "";
  return {
    request: !!req,
    method: req ? req[1] : (cseq.split(/\s+/)[1] ?? ""),
    status: res ? Number(res[1]) : 0,
    ruri: req ? req[2] : "",
    headers,
    body,
  };
}

export function headerOf(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([n]) => n === name)?.[1];
}

export function headersOf(headers: Array<[string, string]>, name: string): string[] {
  return headers.filter(([n]) => n === name).map(([, v]) => v);
}

export function tagOf(nameAddr: string | undefined): string | undefined {
  return nameAddr ? /;\s*tag=([^;>\s]+)/i.exec(nameAddr)?.[1] : undefined;
}

export interface RegisterTxn {
  callId: string;
  cseq: number;
  vias: string[];
  from: string;
  to: string;
  contact: string;
}

export interface Dialog {
  callId: string;
  /** The caller's From (with its tag), as sent to the phone. */
  remote: string;
  /** The phone's To with its tag (from its 2xx). */
  local: string;
  /** The caller's Contact (a request target for the phone). */
  remoteContact: string;
  /** Where the phone wants in-dialog requests (its Contact in the 2xx). */
  localContact: string;
  inviteCseq: number;
  inviteVias: string[];
  recordRoutes: string[];
  /** The phone's RTP port from its SDP answer. */
  rtpPort?: number;
  rtpHost?: string;
  nextCseq: number;
  ended: boolean;
  since: number;
}

interface PendingInvite {
  from: string;
  to: string;
  contact: string;
  cseq: number;
  vias: string[];
  recordRoutes: string[];
}

/** Learns from messages to and from one phone account. Bounded: at most MAX_DIALOGS dialogs kept. */
export class WireTracker {
  static readonly MAX_DIALOGS = 64;
  register?: RegisterTxn;
  /** The phone's Contact URI from its REGISTER. */
  contact?: string;
  readonly dialogs = new Map<string, Dialog>();
  private readonly pending = new Map<string, PendingInvite>();
  /** Messages seen, by direction. */
  toPhone = 0;
  fromPhone = 0;

  /** A message the phone sent. */
  fromPhoneMsg(raw: string): void {
    this.fromPhone++;
    const m = parseSip(raw);
    if (!m) return;
    const callId = headerOf(m.headers, "call-id") ?? "";
    if (m.request && m.method === "REGISTER") {
      const contact = headerOf(m.headers, "contact") ?? "";
      this.register = {
        callId,
        cseq: Number((headerOf(m.headers, "cseq") ?? "1").split(/\s+/)[0]) || 1,
        vias: headersOf(m.headers, "via"),
        from: headerOf(m.headers, "from") ?? "",
        to: headerOf(m.headers, "to") ?? "",
        contact,
      };
      const uri = /<([^>]+)>/.exec(contact)?.[1] ?? contact.split(";")[0];
      if (uri && !/expires=0/i.test(contact) && !/^\*$/.test(contact)) this.contact = uri;
      return;
    }
    if (!m.request && m.method === "INVITE" && m.status >= 200 && m.status < 300) {
      const p = this.pending.get(callId);
      if (!p) return;
      this.pending.delete(callId);
      const sdp = m.body;
      const port = Number(/^m=audio (\d+)/m.exec(sdp)?.[1] ?? NaN);
      const host = /^c=IN IP[46] (\S+)/m.exec(sdp)?.[1];
      this.dialogs.set(callId, {
        callId,
        remote: p.from,
        local: headerOf(m.headers, "to") ?? p.to,
        remoteContact: /<([^>]+)>/.exec(p.contact)?.[1] ?? p.contact,
        localContact: /<([^>]+)>/.exec(headerOf(m.headers, "contact") ?? "")?.[1] ?? "",
        inviteCseq: p.cseq,
        inviteVias: p.vias,
        recordRoutes: p.recordRoutes,
        rtpPort: Number.isFinite(port) ? port : undefined,
        rtpHost: host,
        nextCseq: p.cseq + 1,
        ended: false,
        since: Date.now(),
      });
      while (this.dialogs.size > WireTracker.MAX_DIALOGS) this.dialogs.delete(this.dialogs.keys().next().value as string);
      return;
    }
    if (m.request && m.method === "BYE") this.end(callId);
    if (!m.request && m.method === "BYE") this.end(callId);
  }

  /** A message sent toward the phone (relayed or injected). */
  toPhoneMsg(raw: string): void {
    this.toPhone++;
    const m = parseSip(raw);
    if (!m) return;
    const callId = headerOf(m.headers, "call-id") ?? "";
    if (m.request && m.method === "INVITE" && !tagOf(headerOf(m.headers, "to"))) {
      if (this.pending.size >= WireTracker.MAX_DIALOGS) this.pending.delete(this.pending.keys().next().value as string);
      this.pending.set(callId, {
        from: headerOf(m.headers, "from") ?? "",
        to: headerOf(m.headers, "to") ?? "",
        contact: headerOf(m.headers, "contact") ?? "",
        cseq: Number((headerOf(m.headers, "cseq") ?? "1").split(/\s+/)[0]) || 1,
        vias: headersOf(m.headers, "via"),
        recordRoutes: headersOf(m.headers, "record-route"),
      });
    }
    if (m.request && m.method === "BYE") this.end(callId);
  }

  private end(callId: string): void {
    const d = this.dialogs.get(callId);
    if (d) d.ended = true;
  }

  liveDialogs(): Dialog[] {
    return [...this.dialogs.values()].filter((d) => !d.ended);
  }
}
