// Mutation operators for SIP (structured and byte-level), SDP and RTP. Every
// choice comes from the Prng, so (seed, index) reproduces a message exactly.

import { Built, serialise } from "./corpus";
import { Prng } from "./prng";
import { loopbackOnly } from "./safety";

type Msg = { startLine: string; headers: Array<[string, string]>; body: string };

const HUGE_NUMBERS = [
  "-1",
  "0",
  "-0",
  "4294967295",
  "4294967296",
  "18446744073709551616",
  "99999999999999999999999999",
  "1e9",
  "0x10",
  "3000000",
  "2147483648",
  "-2147483649",
  " ",
  "",
  "NaN",
  "1.5",
  "+5",
  "٣",
];
const BAD_ESCAPES = ["%C3%28", "%FF", "%E0%80%80", "%ED%A0%80", "%", "%G1", "%00", "%C0%AF", "%F8%88%80%80%80", "%%", "%2", "%u0041"];
const ODD_URIS = [
  "sip:",
  "sip:@",
  "sip:@:",
  "<sip:a@[::1>",
  "<sips:%00@127.0.0.1>",
  "tel:+1;phone-context=",
  "<sip:x@127.0.0.1:99999>",
  "<sip:x@127.0.0.1:-1>",
  "<sip:x@127.0.0.1;transport=>",
  "<sip:x@127.0.0.1;lr;lr;lr;maddr=127.0.0.1>",
  "<<sip:x@127.0.0.1>>",
  "<sip:x@127.0.0.1",
  "sip:x@127.0.0.1>",
  '"unterminated <sip:a@127.0.0.1>',
  "<urn:uuid:00000000-0000-0000-0000-000000000000>",
  "*",
  "<sip:%C3%28@127.0.0.1>",
  "<sip:a:b:c@127.0.0.1>",
  "<sip:[::1]:5060>",
  "<sip:x@[::1]>",
  "<sip:" + "a".repeat(3000) + "@127.0.0.1>",
];
const UNICODE = ["é", "😀", "\u202e", "\ufeff", "\u0000", "\uffff", "ß", "\u00a0", "\u2028", "\ud800"];
const COMPACT: Record<string, string> = {
  "call-id": "i",
  from: "f",
  to: "t",
  via: "v",
  contact: "m",
  "content-length": "l",
  "content-type": "c",
  supported: "k",
  event: "o",
  "refer-to": "r",
  subject: "s",
};
const NUMERIC_HEADERS = ["CSeq", "Content-Length", "Expires", "Retry-After", "Max-Forwards", "Min-Expires", "RSeq", "Session-Expires"];
const EXTRA_HEADERS = [
  "Expires",
  "Retry-After",
  "Max-Forwards",
  "Min-Expires",
  "Require",
  "Proxy-Require",
  "Supported",
  "Allow",
  "Route",
  "Record-Route",
  "Authorization",
  "Proxy-Authorization",
  "WWW-Authenticate",
  "Proxy-Authenticate",
  "Content-Encoding",
  "Accept-Contact",
  "Replaces",
  "Refer-To",
  "Event",
  "Subscription-State",
  "Session-Expires",
  "RAck",
  "RSeq",
  "P-Asserted-Identity",
  "Reason",
  "Timestamp",
];

export interface Mutated {
  bytes: Buffer;
  ops: string[];
}

/** Applies 0..4 operators; about 1 in 10 messages is left valid so state (dialogs, ACKs, BYEs) still moves. */
export function mutateSip(b: Built, rng: Prng, maxBytes: number): Mutated {
  const m: Msg = { startLine: b.startLine, headers: b.headers.map(([n, v]) => [n, v] as [string, string]), body: b.body };
  const ops: string[] = [];
  const clean = rng.chance(0.1);
  const nStruct = clean ? 0 : rng.range(0, 3);
  let fixLength = true;
  for (let i = 0; i < nStruct; i++) {
    const op = rng.pick(STRUCT_OPS);
    const r = op.fn(m, rng);
    if (r === "keep-length") fixLength = false;
    ops.push(op.name);
  }
  let text = serialise(m, fixLength);
  let buf: Buffer = Buffer.from(text, "utf8");
  const nBytes = clean ? 0 : rng.chance(0.45) ? rng.range(1, 3) : 0;
  for (let i = 0; i < nBytes; i++) {
    const op = rng.pick(BYTE_OPS);
    buf = op.fn(buf, rng);
    ops.push(op.name);
  }
  if (buf.length > maxBytes) {
    buf = buf.subarray(0, maxBytes);
    ops.push("cap");
  }
  // Loopback only, whatever the mutation (or the cap) did to hosts; last, so nothing undoes it (latin1 keeps every byte as is).
  text = loopbackOnly(buf.toString("latin1"));
  buf = Buffer.from(text, "latin1");
  if (!ops.length) ops.push("valid");
  return { bytes: buf, ops };
}

const STRUCT_OPS: Array<{ name: string; fn: (m: Msg, rng: Prng) => void | "keep-length" }> = [
  {
    name: "drop-header",
    fn: (m, rng) => {
      if (m.headers.length) m.headers.splice(rng.int(m.headers.length), 1);
    },
  },
  {
    name: "dup-header",
    fn: (m, rng) => {
      if (m.headers.length) {
        const h = rng.pick(m.headers);
        m.headers.splice(rng.int(m.headers.length), 0, [h[0], h[1]]);
      }
    },
  },
  {
    name: "many-headers",
    fn: (m, rng) => {
      const h = rng.pick(m.headers.length ? m.headers : [["Via", "x"] as [string, string]]);
      for (let i = rng.range(50, 400); i > 0; i--) m.headers.push([h[0], h[1]]);
    },
  },
  {
    name: "shuffle-headers",
    fn: (m, rng) => {
      for (let i = m.headers.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [m.headers[i], m.headers[j]] = [m.headers[j], m.headers[i]];
      }
    },
  },
  { name: "number", fn: (m, rng) => setNumber(m, rng) },
  {
    name: "content-length",
    fn: (m, rng) => {
      m.headers = m.headers.filter(([n]) => !/^(content-length|l)$/i.test(n));
      m.headers.push(["Content-Length", rng.pick(HUGE_NUMBERS)]);
      return "keep-length";
    },
  },
  {
    name: "no-content-length",
    fn: (m) => {
      m.headers = m.headers.filter(([n]) => !/^(content-length|l)$/i.test(n));
      return "keep-length";
    },
  },
  { name: "bad-escape", fn: (m, rng) => badEscape(m, rng) },
  { name: "odd-uri", fn: (m, rng) => oddUri(m, rng) },
  {
    name: "compact",
    fn: (m) => {
      m.headers = m.headers.map(([n, v]) => [COMPACT[n.toLowerCase()] ?? n, v]);
    },
  },
  {
    name: "fold",
    fn: (m, rng) => {
      if (!m.headers.length) return;
      const h = rng.pick(m.headers);
      const i = rng.int(h[1].length + 1);
      h[1] = h[1].slice(0, i) + rng.pick(["\r\n ", "\r\n\t", "\n ", "\r\n", "\r\n\r\n"]) + h[1].slice(i);
    },
  },
  {
    name: "nul",
    fn: (m, rng) => {
      const h = m.headers.length ? rng.pick(m.headers) : undefined;
      if (h) h[1] = insertAt(h[1], "\0".repeat(rng.range(1, 3)), rng);
      else m.startLine += "\0";
    },
  },
  {
    name: "unicode",
    fn: (m, rng) => {
      const u = rng.pick(UNICODE).repeat(rng.range(1, 20));
      if (m.headers.length && rng.chance(0.7)) {
        const h = rng.pick(m.headers);
        h[1] = insertAt(h[1], u, rng);
      } else m.startLine = insertAt(m.startLine, u, rng);
    },
  },
  {
    name: "huge-header",
    fn: (m, rng) => {
      m.headers.push([rng.pick(["Subject", "Via", "From", "X-Junk", "Contact", "Call-ID"]), "x".repeat(rng.pick([1000, 8000, 30000, 70000]))]);
    },
  },
  {
    name: "extra-header",
    fn: (m, rng) => {
      m.headers.splice(rng.int(m.headers.length + 1), 0, [
        rng.pick(EXTRA_HEADERS),
        rng.pick([...HUGE_NUMBERS, ...ODD_URIS, 'Digest realm="evil", nonce="1"', "100rel, timer, replaces", "foo;;;==;", "<sip:127.0.0.1;lr>"]),
      ]);
    },
  },
  { name: "start-line", fn: (m, rng) => startLine(m, rng) },
  { name: "sdp", fn: (m, rng) => sdpMutate(m, rng) },
  {
    name: "body-junk",
    fn: (m, rng) => {
      m.body = rng.chance(0.5) ? rng.bytes(rng.range(0, 2000)).toString("latin1") : m.body.repeat(rng.range(2, 50));
    },
  },
  {
    name: "content-type",
    fn: (m, rng) => {
      m.headers = m.headers.filter(([n]) => !/^(content-type|c)$/i.test(n));
      m.headers.push([
        "Content-Type",
        rng.pick([
          "application/sdp",
          "multipart/mixed;boundary=x",
          "application/dtmf-relay",
          "message/sipfrag",
          "text/plain;charset=\u00ff",
          "",
          "/",
          "application/sdp;;;",
        ]),
      ]);
    },
  },
  {
    name: "lf-only",
    fn: (m) => {
      m.startLine = m.startLine.replace(/\r/g, "");
      m.headers = m.headers.map(([n, v]) => [n, v]);
    },
  },
  {
    name: "header-name",
    fn: (m, rng) => {
      if (!m.headers.length) return;
      const h = rng.pick(m.headers);
      h[0] = rng.pick(["", " ", h[0].toUpperCase(), h[0] + " ", "\t" + h[0], h[0] + "\0", "X:" + h[0], "Ω"]);
    },
  },
];

function insertAt(s: string, what: string, rng: Prng): string {
  const i = rng.int(s.length + 1);
  return s.slice(0, i) + what + s.slice(i);
}

function setNumber(m: Msg, rng: Prng): void {
  const name = rng.pick(NUMERIC_HEADERS);
  const val = rng.pick(HUGE_NUMBERS);
  const h = m.headers.find(([n]) => n.toLowerCase() === name.toLowerCase());
  if (name === "CSeq") {
    if (h) h[1] = h[1].replace(/^\s*\S*/, val);
    else m.headers.push(["CSeq", `${val} INVITE`]);
    return;
  }
  if (h) h[1] = val;
  else m.headers.push([name, val]);
}

function badEscape(m: Msg, rng: Prng): void {
  const esc = rng.pick(BAD_ESCAPES).repeat(rng.range(1, 3));
  const targets = m.headers.filter(([n]) => /^(from|to|contact|f|t|m|p-asserted-identity|refer-to|referred-by)$/i.test(n));
  if (targets.length && rng.chance(0.8)) {
    const h = rng.pick(targets);
    // Into the user part (before '@') when there is one, else anywhere in the URI.
    h[1] = /sips?:([^@>]*)@/i.test(h[1])
      ? h[1].replace(/(sips?:)([^@>]*)@/i, (_a, s: string, u: string) => `${s}${u.slice(0, rng.int(u.length + 1))}${esc}@`)
      : insertAt(h[1], esc, rng);
  } else {
    m.startLine = m.startLine.replace(/(sips?:)([^@ ]*)@/i, (_a, s: string, u: string) => `${s}${u}${esc}@`);
  }
}

function oddUri(m: Msg, rng: Prng): void {
  const uri = rng.pick(ODD_URIS);
  const which = rng.int(3);
  if (which === 0 && !m.startLine.startsWith("SIP/2.0")) {
    const p = m.startLine.split(" ");
    p[1] = uri.replace(/^<|>$/g, "");
    m.startLine = p.join(" ");
    return;
  }
  const targets = m.headers.filter(([n]) => /^(from|to|contact|route|record-route|refer-to|f|t|m|r)$/i.test(n));
  if (!targets.length) return;
  const h = rng.pick(targets);
  const tag = /;tag=[^;>\s]+/.exec(h[1])?.[0] ?? "";
  h[1] = uri + (rng.chance(0.7) ? tag : "");
}

function startLine(m: Msg, rng: Prng): void {
  const variants = [
    (s: string) => s.toLowerCase(),
    (s: string) => s.replace("SIP/2.0", rng.pick(["SIP/3.0", "SIP/2.00", "sip/2.0", "SIP/2", "HTTP/1.1", ""])),
    (s: string) => s.replace(/^\S+/, rng.pick(["INVITE", "FOO", "REGISTER", "PUBLISH", "", "INV ITE", "\0INVITE", "A".repeat(200)])),
    (s: string) => s.replace(/^SIP\/2\.0 \d{3}/, `SIP/2.0 ${rng.pick(["000", "099", "699", "700", "999", "1000", "-100", "2OO", "20"])}`),
    (s: string) => s.replace(/ /g, rng.pick(["  ", "\t", ""])),
    (s: string) => s + " extra",
  ];
  m.startLine = rng.pick(variants)(m.startLine);
}

function sdpMutate(m: Msg, rng: Prng): void {
  if (!m.body.startsWith("v=")) {
    // Give messages without SDP one, so SDP paths are reached from every method.
    m.body =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    m.headers = m.headers.filter(([n]) => !/^(content-type|c)$/i.test(n));
    m.headers.push(["Content-Type", "application/sdp"]);
  }
  const lines = m.body.split("\r\n");
  const ops = [
    () => {
      const i = lines.findIndex((l) => l.startsWith("c="));
      if (i >= 0) lines.splice(i, 1);
    },
    () =>
      replaceLine(
        lines,
        "c=",
        rng.pick([
          "c=IN IP6 ::1",
          "c=IN IP4 127.0.0.1/127",
          "c=IN IP4",
          "c=IN IP7 127.0.0.1",
          "c=IN IP4 0.0.0.0",
          "c=IN IP6 [::1]",
          "c=",
          "c=IN IP4 127.0.0.1 extra",
        ]),
      ),
    () =>
      replaceLine(
        lines,
        "m=",
        `m=audio ${rng.pick(["0", "1", "65535", "65536", "-1", "99999999", "abc", "40000/2", "40000/99999"])} ${rng.pick(["RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF", "RTP/AVP/TCP", ""])} ${rng.pick(["0", "8", "101", "255", "-1", "0 8 101 13 18 9 3 4 96 97 98 99 100 102 103 104 105 106 107", "", "x"])}`,
      ),
    () =>
      lines.push(
        `a=rtpmap:${rng.pick(["101", "0", "8", "255", "-1", "x"])} ${rng.pick(["telephone-event/8000", "PCMA/0", "PCMU/-8000", "opus/48000/2", "telephone-event/4294967296", "/", "PCMA"])}`,
      ),
    () => lines.push(`a=fmtp:101 ${rng.pick(["0-16", "0-99999", "16-0", "", "a-b", "0-15,".repeat(200)])}`),
    () => lines.push(`a=ptime:${rng.pick(["0", "-5", "1", "1000000000", "abc", "20.5", ""])}`),
    () => lines.push(`a=maxptime:${rng.pick(["0", "-1", "99999999999"])}`),
    () =>
      lines.push(
        rng.pick([
          "a=sendonly",
          "a=recvonly",
          "a=inactive",
          "a=rtcp:0",
          "a=rtcp:9 IN IP4 127.0.0.1",
          "a=rtcp-mux",
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA",
        ]),
      ),
    () => lines.push("a=x-huge:" + "z".repeat(rng.pick([1000, 20000, 60000]))),
    () => {
      for (let i = rng.range(20, 200); i > 0; i--) lines.push("m=audio 40002 RTP/AVP 0");
    },
    () => {
      lines.splice(0, 1);
    },
    () => {
      lines.reverse();
    },
    () => replaceLine(lines, "v=", rng.pick(["v=1", "v=", "v=-1"])),
  ];
  for (let i = rng.range(1, 3); i > 0; i--) rng.pick(ops)();
  m.body = lines.join(rng.chance(0.9) ? "\r\n" : "\n");
}

function replaceLine(lines: string[], prefix: string, value: string): void {
  const i = lines.findIndex((l) => l.startsWith(prefix));
  if (i >= 0) lines[i] = value;
  else lines.push(value);
}

const BYTE_OPS: Array<{ name: string; fn: (b: Buffer, rng: Prng) => Buffer }> = [
  {
    name: "bit-flip",
    fn: (b, rng) => {
      const c = Buffer.from(b);
      for (let i = rng.range(1, 8); i > 0 && c.length; i--) c[rng.int(c.length)] ^= 1 << rng.int(8);
      return c;
    },
  },
  {
    name: "byte-set",
    fn: (b, rng) => {
      const c = Buffer.from(b);
      for (let i = rng.range(1, 4); i > 0 && c.length; i--)
        c[rng.int(c.length)] = rng.pick([0, 0x0a, 0x0d, 0x20, 0x3a, 0x3b, 0x3c, 0x3e, 0x40, 0x25, 0x22, 0x5c, 0x7f, 0x80, 0xc0, 0xff]);
      return c;
    },
  },
  { name: "truncate", fn: (b, rng) => b.subarray(0, rng.int(b.length + 1)) },
  {
    name: "delete-range",
    fn: (b, rng) => {
      const i = rng.int(b.length + 1);
      const n = rng.range(1, 64);
      return Buffer.concat([b.subarray(0, i), b.subarray(i + n)]);
    },
  },
  {
    name: "insert-random",
    fn: (b, rng) => {
      const i = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, i), rng.bytes(rng.range(1, 64)), b.subarray(i)]);
    },
  },
  {
    name: "dup-chunk",
    fn: (b, rng) => {
      const i = rng.int(b.length + 1);
      const n = rng.range(1, 256);
      return Buffer.concat([b.subarray(0, i), b.subarray(i, i + n), b.subarray(i)]);
    },
  },
  { name: "crlf-to-lf", fn: (b) => Buffer.from(b.toString("latin1").replace(/\r\n/g, "\n"), "latin1") },
  {
    name: "invalid-utf8",
    fn: (b, rng) => {
      const i = rng.int(b.length + 1);
      return Buffer.concat([
        b.subarray(0, i),
        Buffer.from(rng.pick([[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]])),
        b.subarray(i),
      ]);
    },
  },
];

// ---- RTP -------------------------------------------------------------------

export interface RtpState {
  ssrc: number;
  seq: number;
  ts: number;
}

/** One RTP (or RTP-like) datagram: mostly well-formed G.711 / RFC 4733 with one defect. */
export function mutatedRtp(rng: Prng, st: RtpState): { bytes: Buffer; ops: string[] } {
  const ops: string[] = [];
  const event = rng.chance(0.4);
  let payload: Buffer;
  let pt = rng.pick([0, 8]);
  let marker = 0;
  if (event) {
    pt = 101;
    const e = Buffer.alloc(4);
    e[0] = rng.chance(0.8) ? rng.range(0, 15) : rng.range(0, 255);
    e[1] = (rng.chance(0.3) ? 0x80 : 0) | rng.range(0, 63);
    e.writeUInt16BE(rng.pick([0, 1, 160, 800, 65535, rng.range(0, 65535)]), 2);
    payload = rng.chance(0.8) ? e : e.subarray(0, rng.int(4));
    if (rng.chance(0.1)) payload = Buffer.concat([e, rng.bytes(rng.range(1, 16))]);
    marker = rng.chance(0.3) ? 1 : 0;
    ops.push("event");
  } else {
    payload = rng.bytes(rng.pick([160, 160, 0, 1, 80, 320, 1200]));
  }
  let version = 2;
  let cc = 0;
  let ext = false;
  let pad = false;
  let ssrc = st.ssrc;
  const csrcs: Buffer[] = [];
  let extBlock = Buffer.alloc(0);
  let padding = Buffer.alloc(0);
  const n = rng.range(0, 3);
  for (let i = 0; i < n; i++) {
    const op = rng.int(9);
    if (op === 0) {
      version = rng.pick([0, 1, 3]);
      ops.push("version");
    }
    if (op === 1) {
      cc = rng.range(1, 15);
      const real = rng.chance(0.5) ? cc : rng.int(cc);
      for (let k = 0; k < real; k++) csrcs.push(rng.bytes(4));
      ops.push("csrc");
    }
    if (op === 2) {
      ext = true;
      const words = rng.pick([0, 1, 2, 1000, 65535]);
      const have = rng.chance(0.5) ? words : rng.int(3);
      extBlock = Buffer.concat([Buffer.from([0xbe, 0xde, words >> 8, words & 255]), rng.bytes(have * 4)]);
      ops.push("extension");
    }
    if (op === 3) {
      pad = true;
      padding = Buffer.from([...rng.bytes(rng.range(0, 6)), rng.pick([0, 1, 4, 200, 255])]);
      ops.push("padding");
    }
    if (op === 4) {
      ssrc = rng.u32();
      ops.push("ssrc");
    }
    if (op === 5) {
      pt = rng.range(0, 127);
      ops.push("pt");
    }
    if (op === 6) {
      st.seq = (st.seq + rng.pick([0, 1, 2, 100, 30000, 65535])) & 0xffff;
      ops.push("seq-jump");
    }
    if (op === 7) {
      st.ts = (st.ts + rng.pick([0, 2 ** 31, 1, 160 * 1000])) >>> 0;
      ops.push("ts-jump");
    }
    if (op === 8) {
      ops.push("junk");
      return { bytes: rng.bytes(rng.range(0, 40)), ops };
    }
  }
  const h = Buffer.alloc(12);
  h[0] = (version << 6) | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | (cc & 0x0f);
  h[1] = (marker << 7) | (pt & 0x7f);
  st.seq = (st.seq + 1) & 0xffff;
  st.ts = (st.ts + 160) >>> 0;
  h.writeUInt16BE(st.seq, 2);
  h.writeUInt32BE(st.ts, 4);
  h.writeUInt32BE(ssrc >>> 0, 8);
  let bytes = Buffer.concat([h, ...csrcs, extBlock, payload, padding]);
  if (rng.chance(0.05)) {
    bytes = bytes.subarray(0, rng.int(bytes.length));
    ops.push("truncate");
  }
  if (!ops.length) ops.push("valid");
  return { bytes, ops };
}
