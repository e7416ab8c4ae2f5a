import assert from "assert";
import net from "net";
import { MAX_SIP_MESSAGE_BYTES } from "../../../src/sip/transports/stream-framer";
import { listenPorts, retargetTransport, uriEndpoint, uriStreamKind, StreamListener } from "../../../src/sip/transports/stream-listener";
import { parseWireMessage } from "../../../src/sip/wire-message";
import { Phone } from "../../../src/phone/phone";
import { accountFromConfig, listenFromConfig, SipClientConfig } from "../../../nodes/sip-client/config";

const PH = "nr0123456789ab.invalid";

describe("stream listener (pure parts, and loopback sockets on 127.0.0.1)", () => {
  it("ports per mode: TLS on port + 1 with both, on the port itself with tls, none when off", () => {
    assert.deepStrictEqual(listenPorts("off", 5060), {});
    assert.deepStrictEqual(listenPorts("tcp", 5060), { tcp: 5060 });
    assert.deepStrictEqual(listenPorts("tls", 5061), { tls: 5061 });
    assert.deepStrictEqual(listenPorts("both", 5060), { tcp: 5060, tls: 5061 });
    assert.deepStrictEqual(listenPorts("both", 0), { tcp: 0, tls: 0 }, "0 = any free port for both");
  });

  it("the IP endpoint of a URI (aliases): names are ignored, default port, IPv6 in brackets", () => {
    assert.deepStrictEqual(uriEndpoint("<sip:bob@127.0.0.1:40001;transport=tcp>", 5060), { address: "127.0.0.1", port: 40001 });
    assert.deepStrictEqual(uriEndpoint('"Bob" <sips:bob@[::1]>;expires=60', 5061), { address: "::1", port: 5061 });
    assert.strictEqual(uriEndpoint("<sip:bob@pbx.example.com:5060>", 5060), undefined, "no DNS on the receive path");
    assert.strictEqual(uriEndpoint("<sip:bob@127.0.0.1:99999>", 5060), undefined);
    assert.strictEqual(uriEndpoint("garbage", 5060), undefined);
  });

  it("the stream transport a target asks for: sips: and transport=tls → tls, transport=tcp → tcp", () => {
    assert.strictEqual(uriStreamKind("sips:bob@127.0.0.1"), "tls");
    assert.strictEqual(uriStreamKind("<sips:bob@127.0.0.1;lr>"), "tls");
    assert.strictEqual(uriStreamKind("sip:bob@127.0.0.1;transport=TLS"), "tls");
    assert.strictEqual(uriStreamKind("sip:bob@127.0.0.1;transport=tcp"), "tcp");
    assert.strictEqual(uriStreamKind("sip:bob@127.0.0.1;transport=udp"), undefined);
    assert.strictEqual(uriStreamKind("sip:bob@127.0.0.1"), undefined);
  });

  it("our Via and Contact name the connection's transport; the peer's headers are left alone", () => {
    const raw = [
      "BYE sip:bob@127.0.0.1:40001;transport=tcp SIP/2.0",
      `Via: SIP/2.0/UDP ${PH};branch=z9hG4bK1`,
      "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK0",
      "From: <sip:alice@127.0.0.1>;tag=a",
      "To: <sip:bob@127.0.0.1>;tag=b",
      "Call-ID: c1",
      "CSeq: 2 BYE",
      `Contact: <sip:nr-x@${PH};transport=udp>`,
      "Record-Route: <sip:10.0.0.9;transport=udp;lr>",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    const out = retargetTransport(parseWireMessage(raw)!, PH, "tls");
    assert.match(out.raw, new RegExp(`^Via: SIP/2\\.0/TLS ${PH.replace(/\./g, "\\.")};branch=z9hG4bK1$`, "m"));
    assert.match(out.raw, /^Via: SIP\/2\.0\/UDP 10\.0\.0\.9:5060;branch=z9hG4bK0$/m);
    assert.match(out.raw, new RegExp(`^Contact: <sip:nr-x@${PH.replace(/\./g, "\\.")};transport=tls>$`, "m"));
    assert.match(out.raw, /^Record-Route: <sip:10\.0\.0\.9;transport=udp;lr>$/m);
    assert.strictEqual(parseWireMessage(out.raw)?.topVia?.protocol, "TLS");
  });

  it("a dual-stack listener sees an IPv4 peer as a.b.c.d (not ::ffff:a.b.c.d), so the registrar's address matches", async () => {
    const seen: string[] = [];
    const listener = new StreamListener({
      mode: "tcp",
      port: 0,
      address: "::ffff:127.0.0.1", // an IPv6 socket: IPv4 peers arrive mapped, as on the default "::"
      admit: (a) => {
        seen.push(a);
        return a === "127.0.0.1";
      },
    });
    await listener.listen();
    try {
      const s = net.connect({ host: "127.0.0.1", port: listener.ports.tcp! });
      s.on("error", () => undefined);
      await new Promise((r) => s.once("connect", r));
      for (let i = 0; i < 50 && listener.counters.accepted + listener.counters.untrusted === 0; i++) await new Promise((r) => setTimeout(r, 10));
      s.destroy();
      assert.deepStrictEqual(seen, ["127.0.0.1"]);
      assert.strictEqual(listener.counters.accepted, 1);
    } finally {
      await listener.close();
    }
  });

  /** A listener on 127.0.0.1 that admits everyone; `fn` gets a connected client. */
  async function withClient(opts: { idleTimeoutMs?: number }, fn: (s: net.Socket, l: StreamListener, closed: Promise<void>) => Promise<void>) {
    const listener = new StreamListener({ mode: "tcp", port: 0, address: "127.0.0.1", admit: () => true, ...opts });
    await listener.listen();
    const s = net.connect({ host: "127.0.0.1", port: listener.ports.tcp! });
    s.on("error", () => undefined);
    const closed = new Promise<void>((r) => s.once("close", () => r()));
    try {
      await new Promise((r) => s.once("connect", r));
      await fn(s, listener, closed);
    } finally {
      s.destroy();
      await listener.close();
    }
  }

  it("an inbound connection that stays silent is closed after the idle timeout", async () => {
    await withClient({ idleTimeoutMs: 200 }, async (_s, listener, closed) => {
      await closed;
      assert.strictEqual(listener.counters.idle, 1);
      for (let i = 0; i < 50 && listener.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.strictEqual(listener.connectionCount, 0, "forgotten");
    });
  });

  it("a message head larger than MAX_SIP_MESSAGE_BYTES closes the connection; keep-alive pings are answered", async () => {
    await withClient({}, async (s, listener, closed) => {
      const pong = new Promise<string>((r) => s.once("data", (d) => r(d.toString())));
      s.write("\r\n\r\n");
      assert.strictEqual(await pong, "\r\n", "RFC 5626 pong");
      s.write("OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nX-Pad: " + "a".repeat(MAX_SIP_MESSAGE_BYTES + 10));
      await closed;
      assert.strictEqual(listener.counters.idle, 0, "closed for its size, not idleness");
    });
  });

  it("TLS without certificate and key, or an unknown mode, is refused when built", () => {
    assert.throws(() => new StreamListener({ mode: "tls", port: 0, admit: () => true }), /needs the account's TLS certificate and key/);
    assert.throws(() => new StreamListener({ mode: "tcp6" as never, port: 0, admit: () => true }), /listen must be/);
    const base = { server: "127.0.0.1", username: "alice" };
    assert.throws(() => new Phone({ ...base, listen: "both" }), /listening for TLS needs a TLS certificate and key/);
    assert.throws(() => new Phone({ ...base, listen: "udp" as never }), /listen must be "off", "tcp", "tls" or "both"/);
    assert.throws(() => new Phone({ ...base, listen: "tcp", listenPort: 70000 }), /listenPort must be a port number/);
  });
});

describe("sip-client: listen and listenPort", () => {
  const config = (over: Partial<SipClientConfig>): SipClientConfig => ({ id: "n1", server: "127.0.0.1", username: "alice", ...over });

  it("old flows (no property) listen nowhere; the port is optional", () => {
    assert.deepStrictEqual(listenFromConfig({}), { listen: "off", listenPort: undefined });
    assert.deepStrictEqual(listenFromConfig({ listen: "tcp", listenPort: "5070" }), { listen: "tcp", listenPort: 5070 });
    assert.deepStrictEqual(listenFromConfig({ listen: "both", listenPort: "" }), { listen: "both", listenPort: undefined });
    const account = accountFromConfig(config({ listen: "tcp", listenPort: 5080 }), {});
    assert.strictEqual(account.listen, "tcp");
    assert.strictEqual(account.listenPort, 5080);
    assert.strictEqual(accountFromConfig(config({}), {}).listen, "off");
  });

  it("an unknown mode, a bad port, or TLS without certificate is a clear error", () => {
    assert.throws(() => listenFromConfig({ listen: "udp" }), /"Listen for TCP\/TLS" has an unknown value "udp"/);
    assert.throws(() => listenFromConfig({ listen: "tcp", listenPort: "http" }), /"Listen port" must be a port number/);
    assert.throws(() => accountFromConfig(config({ listen: "tls" }), {}), /with TLS needs a certificate and its key/);
  });
});
