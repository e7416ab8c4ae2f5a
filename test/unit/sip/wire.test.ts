import assert from "assert";
import { parseWireMessage, parseVia } from "../../../src/sip/wire-message";
import { WireRewriter, maskCredentials, unsupportedDigestAlgorithm } from "../../../src/sip/wire-rewriter";
import { StreamFramer } from "../../../src/sip/transports/stream-framer";
import { Backoff } from "../../../src/phone/backoff";
import { refreshDelayMs } from "../../../src/phone/registration";
import { splitHostPort } from "../../../src/sip/dns-resolve";

const PH = "nrabc.invalid";
const register = `REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP ${PH};branch=z9hG4bK77\r\nTo: <sip:alice@127.0.0.1>\r\nFrom: <sip:alice@127.0.0.1>;tag=x\r\nCall-ID: abc\r\nCSeq: 2 REGISTER\r\nContact: <sip:nr-1@${PH};transport=udp>;expires=600\r\nAuthorization: Digest username="alice", realm="r", nonce="n1", uri="sip:127.0.0.1", response="0123456789abcdef"\r\nContent-Length: 0\r\n\r\n`;

describe("SIP wire layer", () => {
  it("parses the fields the transport layer needs, compact forms included", () => {
    const m = parseWireMessage(
      "INVITE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKq;rport\r\ni: cid\r\nCSeq: 9 INVITE\r\nt: <sip:b@h>;tag=t1\r\nl: 0\r\n\r\n",
    )!;
    assert.strictEqual(m.method, "INVITE");
    assert.strictEqual(m.callId, "cid");
    assert.strictEqual(m.toTag, "t1");
    assert.deepStrictEqual([m.topVia!.host, m.topVia!.port, m.topVia!.branch], ["10.0.0.1", 5062, "z9hG4bKq"]);
    assert.strictEqual(parseWireMessage("garbage\r\n\r\n"), undefined);
    assert.strictEqual(parseWireMessage("INVITE sip:x SIP/2.0\r\nVia: broken\r\n\r\n"), undefined);
    assert.strictEqual(parseVia("SIP/2.0/TCP [::1]:5060;branch=x")!.host, "[::1]");
  });

  it("puts our real address and rport in Via/Contact going out, and the placeholder back coming in", () => {
    const rw = new WireRewriter(PH);
    const out = rw.outgoing(parseWireMessage(register)!, { address: "192.0.2.10", port: 5072 });
    assert.match(out, /^Via: SIP\/2\.0\/UDP 192\.0\.2\.10:5072;branch=z9hG4bK77;rport$/m);
    assert.match(out, /^Contact: <sip:nr-1@192\.0\.2\.10:5072;transport=udp>;expires=600$/m);
    assert.ok(!out.includes(PH));
    const ok = parseWireMessage(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5072;branch=z9hG4bK77;rport=5072;received=192.0.2.10\r\nCall-ID: abc\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n",
    )!;
    const back = rw.incoming(ok);
    assert.match(back, new RegExp(`^Via: SIP/2.0/UDP ${PH.replace(".", "\\.")};branch=z9hG4bK77;rport=5072;received=192\\.0\\.2\\.10$`, "m"));
  });

  it("orders MD5 challenges first and names an algorithm sip.js cannot answer", () => {
    const rw = new WireRewriter(PH);
    const two = parseWireMessage(
      `SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h:1;branch=b\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm="r", nonce="1", algorithm=SHA-256\r\nWWW-Authenticate: Digest realm="r", nonce="2", algorithm=MD5\r\nContent-Length: 0\r\n\r\n`,
    )!;
    const out = rw.incoming(two);
    assert.ok(out.indexOf("algorithm=MD5") < out.indexOf("algorithm=SHA-256"));
    assert.strictEqual(unsupportedDigestAlgorithm(two), undefined);
    const sha = parseWireMessage(
      `SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h:1;branch=b\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm="r", nonce="1", algorithm=SHA-256\r\nContent-Length: 0\r\n\r\n`,
    )!;
    assert.strictEqual(unsupportedDigestAlgorithm(sha), "SHA-256");
  });

  it("masks digest responses and nonces in logs", () => {
    const masked = maskCredentials(register);
    assert.ok(!masked.includes("0123456789abcdef"));
    assert.ok(!masked.includes('nonce="n1"'));
    assert.match(masked, /username="alice"/);
  });

  it("frames a TCP byte stream by Content-Length and tells pings from pongs", () => {
    const got: string[] = [];
    let pings = 0,
      pongs = 0;
    const f = new StreamFramer({
      message: (m) => got.push(m),
      ping: () => pings++,
      pong: () => pongs++,
      error: (e) => {
        throw e;
      },
    });
    const body = "v=0\r\n";
    const msg = `OPTIONS sip:a SIP/2.0\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const stream = Buffer.from("\r\n\r\n" + msg + msg + "\r\n");
    for (let i = 0; i < stream.length; i += 7) f.push(stream.subarray(i, i + 7));
    assert.deepStrictEqual(got, [msg, msg]);
    assert.strictEqual(pings, 1);
    assert.strictEqual(pongs, 1);
    let err: Error | undefined;
    new StreamFramer({
      message: () => undefined,
      ping: () => undefined,
      pong: () => undefined,
      error: (e) => {
        err = e;
      },
    }).push(Buffer.from("OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n"));
    assert.match(err!.message, /without Content-Length/);
  });

  it("backs off exponentially with jitter, with a low ceiling for an unreachable server", () => {
    const b = new Backoff({ baseMs: 2000, networkCapMs: 8000, rejectedCapMs: 300_000, jitter: 0, random: () => 0.5 });
    assert.deepStrictEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map(() => b.next("rejected")),
      [2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000],
    );
    b.reset();
    assert.deepStrictEqual(
      [1, 2, 3, 4, 5].map(() => b.next("network")),
      [2000, 4000, 8000, 8000, 8000],
    );
    assert.strictEqual(b.next("rejected", 120), 120000, "Retry-After is a floor");
    const j = new Backoff({ baseMs: 1000, networkCapMs: 8000, rejectedCapMs: 8000, jitter: 0.2, random: () => 0 });
    assert.strictEqual(j.next("network"), 800);
    assert.strictEqual(new Backoff().next("rejected", 90), 90_000, "Retry-After wins");
  });

  it("refreshes well before expiry", () => {
    assert.strictEqual(refreshDelayMs(600), 540_000);
    assert.strictEqual(refreshDelayMs(3600), 3_240_000);
    assert.strictEqual(refreshDelayMs(60), 30_000);
    assert.strictEqual(refreshDelayMs(20), 10_000);
  });

  it("splits host:port forms", () => {
    assert.deepStrictEqual(splitHostPort("proxy.example.net:5080", 5060), { host: "proxy.example.net", port: 5080 });
    assert.deepStrictEqual(splitHostPort("sip:10.1.2.3;lr", 5060), { host: "10.1.2.3", port: 5060 });
    assert.deepStrictEqual(splitHostPort("[2001:db8::1]:5061", 5060), { host: "2001:db8::1", port: 5061 });
  });
});
