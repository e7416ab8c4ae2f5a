// The receive path of SipTransport with a fake connection: nothing from the network may
// throw out of it; untrusted requests vanish; sip.js failures become a 500.
import assert from "assert";
import { EventEmitter } from "events";
import { SipTransport, SipTransportOptions } from "../../../src/sip/sip-transport";
import type { Endpoint } from "../../../src/sip/endpoint";
import { LOG_LINES_PER_WINDOW, LOG_WINDOW_MS } from "../../../src/sip/rate-limited-log";

class FakeConnection extends EventEmitter {
  readonly reliable = true;
  readonly local = { address: "127.0.0.1", port: 5070 };
  sent: Array<{ raw: string; dest?: Endpoint }> = [];
  async send(raw: string, dest?: Endpoint) {
    this.sent.push({ raw, dest });
  }
  async close() {
    /* nothing */
  }
}

const REG = { address: "127.0.0.1", port: 5060 };
const EVIL = { address: "127.0.0.2", port: 5060 };

function invite(branch: string, fromUser = "bob", callId = "c-" + branch): string {
  return [
    "INVITE sip:alice@127.0.0.1:5070 SIP/2.0",
    `Via: SIP/2.0/UDP 127.0.0.9:5060;branch=${branch}`,
    `From: <sip:${fromUser}@127.0.0.1>;tag=f1`,
    "To: <sip:alice@127.0.0.1>",
    `Call-ID: ${callId}`,
    "CSeq: 1 INVITE",
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

function setup(opts: Partial<SipTransportOptions> = {}) {
  const logs: string[] = [];
  let now = 0;
  const t = new SipTransport({
    kind: "tcp",
    nextHop: { host: "127.0.0.1", port: 5060 },
    placeholder: "ph.invalid",
    keepAliveSeconds: 0,
    log: (level, text) => logs.push(`${level}: ${text}`),
    now: () => now,
    ...opts,
  });
  const conn = new FakeConnection();
  (t as unknown as { connection: FakeConnection }).connection = conn;
  t.trust.setResolvedAddresses(["127.0.0.1"]);
  const delivered: string[] = [];
  t.onMessage = (m) => delivered.push(m);
  const receive = (raw: string, src: Endpoint) => (t as unknown as { receive(r: string, s: Endpoint): void }).receive(raw, src);
  return {
    t,
    conn,
    logs,
    delivered,
    receive,
    tick: (ms: number) => {
      now += ms;
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe("SIP transport receive guard", () => {
  it("an exception in sip.js (onMessage) does not escape; the request is answered 500 and logged once per window", async () => {
    const { t, conn, logs, receive } = setup();
    t.onMessage = () => {
      throw new URIError("URI malformed");
    };
    for (let i = 0; i < 25; i++) assert.doesNotThrow(() => receive(invite(`z9hG4bKe${i}`), REG));
    await flush();
    assert.strictEqual(t.securityCounters.failures, 25);
    assert.match(conn.sent[0].raw, /^SIP\/2\.0 500 /);
    assert.match(conn.sent[0].raw, /\r\nTo: <sip:alice@127\.0\.0\.1>;tag=\w+\r\n/);
    assert.match(conn.sent[0].raw, /\r\nCall-ID: c-z9hG4bKe0\r\n/);
    const failLines = logs.filter((l) => /failed to handle/.test(l));
    assert.ok(failLines.length >= 1 && failLines.length <= 10, `rate limited: ${failLines.length}`);
  });

  it("untrusted out-of-dialog requests are dropped silently; the registrar's reach sip.js", async () => {
    const { t, conn, delivered, receive, logs } = setup({ kind: "udp" });
    receive(invite("z9hG4bKa1"), EVIL);
    receive(
      invite("z9hG4bKa2")
        .replace(/^INVITE/, "OPTIONS")
        .replace("1 INVITE", "1 OPTIONS"),
      EVIL,
    );
    await flush();
    assert.strictEqual(delivered.length, 0);
    assert.strictEqual(conn.sent.length, 0, "no response at all");
    assert.strictEqual(t.securityCounters.untrusted, 2);
    assert.ok(
      logs.some((l) => /^debug: dropped INVITE from untrusted 127\.0\.0\.2:5060/.test(l)),
      logs.join("\n"),
    );
    receive(invite("z9hG4bKa3"), REG);
    assert.strictEqual(delivered.length, 1);
  });

  it("an INVITE flood from the registrar gets 503 Retry-After beyond the bucket; an unlisted source (acceptFrom anyone) is dropped silently", async () => {
    const { t, conn, delivered, receive, tick } = setup({ kind: "udp", acceptFrom: "anyone" });
    for (let i = 0; i < 100; i++) receive(invite(`z9hG4bKr${i}`), REG);
    await flush();
    const limited = conn.sent.filter((s) => /^SIP\/2\.0 503 /.test(s.raw));
    assert.ok(delivered.length >= 20 && delivered.length < 100, `delivered ${delivered.length}`);
    assert.strictEqual(limited.length, 100 - delivered.length);
    assert.match(limited[0].raw, /\r\nRetry-After: \d+\r\n/);
    const before = delivered.length;
    for (let i = 0; i < 100; i++) receive(invite(`z9hG4bKs${i}`), EVIL);
    await flush();
    assert.ok(delivered.length - before <= 5, `from anyone: ${delivered.length - before}`);
    assert.strictEqual(conn.sent.length, limited.length, "no 503 to an unlisted source");
    assert.ok(t.securityCounters.throttled >= 95 + 100 - delivered.length);
    tick(10_000);
    receive(invite("z9hG4bKlater"), REG);
    assert.strictEqual(delivered[delivered.length - 1].includes("z9hG4bKlater"), true, "a legitimate call later gets through");
  });

  it("a flood of garbage is counted, and reported to onMalformed at most LOG_LINES_PER_WINDOW times a minute", () => {
    const malformed: string[] = [];
    const { receive, t, tick } = setup({ kind: "udp", acceptFrom: "anyone", onMalformed: (reason) => malformed.push(reason) });
    const samples = ["", "\0\0\0", "SIP/2.0 200", "INVITE x SIP/2.0\r\nVia: SIP/2.0/UDP [::1\r\nCSeq: x\r\nCall-ID:\r\n\r\n", "\uFFFD".repeat(70000)];
    for (let i = 0; i < 100; i++) for (const s of samples) assert.doesNotThrow(() => receive(s, EVIL));
    assert.strictEqual(t.securityCounters.malformed, 500);
    assert.strictEqual(malformed.length, LOG_LINES_PER_WINDOW);
    tick(LOG_WINDOW_MS);
    receive("junk", EVIL);
    assert.match(malformed[malformed.length - 1], /^\(490 similar message\(s\) suppressed\) unparsable SIP message$/);
  });

  it("a foreign-realm 401 reaches sip.js without its challenge", () => {
    const { t, delivered, receive, logs } = setup({ kind: "tcp" });
    // We sent a BYE to the next hop (a stream: everything goes there); it is challenged for evil.example.
    const bye =
      "BYE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP ph.invalid;branch=z9hG4bKbye\r\nFrom: <sip:alice@x>;tag=a\r\nTo: <sip:bob@x>;tag=b\r\nCall-ID: cb\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    return t.send(bye).then(() => {
      receive(
        'SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKbye\r\nFrom: <sip:alice@x>;tag=a\r\nTo: <sip:bob@x>;tag=b\r\nCall-ID: cb\r\nCSeq: 2 BYE\r\nWWW-Authenticate: Digest realm="evil.example", nonce="abc"\r\nContent-Length: 0\r\n\r\n',
        REG,
      );
      assert.strictEqual(delivered.length, 1);
      assert.doesNotMatch(delivered[0], /WWW-Authenticate/i);
      assert.strictEqual(t.securityCounters.refusedChallenges, 1);
      assert.ok(
        logs.some((l) => /refused to answer a digest challenge for realm "evil\.example"/.test(l)),
        logs.join("\n"),
      );
    });
  });

  it("UDP: a challenge to a request sent elsewhere than the server (a BYE to a caller's Contact) is refused, even for the registrar's realm", async () => {
    const { t, conn, delivered, receive } = setup({ kind: "udp" });
    (conn as unknown as { reliable: boolean }).reliable = false;
    const internals = t as unknown as { nextHopResolved: Endpoint; resolveTrusted(ip: string): Promise<void> };
    internals.nextHopResolved = { address: "127.0.0.1", port: 5060 };
    await internals.resolveTrusted("127.0.0.1");
    const request = (method: string, ruri: string, branch: string, toTag = "") =>
      `${method} ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP ph.invalid;branch=${branch}\r\nFrom: <sip:alice@x>;tag=a\r\nTo: <sip:bob@x>${toTag}\r\nCall-ID: c-${branch}\r\nCSeq: 2 ${method}\r\nContent-Length: 0\r\n\r\n`;
    const challenge = (method: string, branch: string, realm: string) =>
      `SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}\r\nFrom: <sip:alice@x>;tag=a\r\nTo: <sip:bob@x>;tag=b\r\nCall-ID: c-${branch}\r\nCSeq: 2 ${method}\r\nWWW-Authenticate: Digest realm="${realm}", nonce="n"\r\nContent-Length: 0\r\n\r\n`;
    await t.send(request("REGISTER", "sip:127.0.0.1", "z9hG4bKreg"));
    assert.deepStrictEqual(conn.sent[0].dest, { address: "127.0.0.1", port: 5060 });
    receive(challenge("REGISTER", "z9hG4bKreg", "pbx"), REG);
    assert.match(delivered[0], /WWW-Authenticate: Digest realm="pbx"/, "the registrar's challenge is answered");
    await t.send(request("BYE", "sip:bob@127.0.0.9:5099", "z9hG4bKbye1", ";tag=b"));
    assert.deepStrictEqual(conn.sent[1].dest, { address: "127.0.0.9", port: 5099 }, "the BYE went to the caller's Contact");
    receive(challenge("BYE", "z9hG4bKbye1", "pbx"), { address: "127.0.0.9", port: 5099 });
    assert.doesNotMatch(delivered[1], /WWW-Authenticate/i, "not the server: refused");
    await t.send(request("BYE", "sip:bob@127.0.0.1:5060", "z9hG4bKbye2", ";tag=b"));
    receive(challenge("BYE", "z9hG4bKbye2", "pbx"), REG);
    assert.match(delivered[2], /WWW-Authenticate/i, "through the server: answered");
  });
});
