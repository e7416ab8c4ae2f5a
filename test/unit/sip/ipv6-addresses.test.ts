// IPv6 in SIP addresses (issue 10 item 3): Via/Contact host:port, URI hosts, the local address
// toward an IPv6 or IPv4-mapped next hop, and an IPv6 server in the account. Only ::1/127.0.0.1.
import assert from "assert";
import { bareHost, formatHostPort, uriHost, WireRewriter } from "../../../src/sip/wire-rewriter";
import { parseWireMessage } from "../../../src/sip/wire-message";
import { localAddressToward, routeSourceToward } from "../../../src/sip/local-address";
import { dialDomain } from "../../../src/softphone";
import { Phone } from "../../../src/phone/phone";

describe("sip: IPv6 addresses", () => {
  it("formatHostPort brackets IPv6, once", () => {
    assert.strictEqual(formatHostPort({ address: "::1", port: 5060 }), "[::1]:5060");
    assert.strictEqual(formatHostPort({ address: "[2001:db8::1]", port: 5061 }), "[2001:db8::1]:5061");
    assert.strictEqual(formatHostPort({ address: "127.0.0.1", port: 5060 }), "127.0.0.1:5060");
  });

  it("uriHost / bareHost", () => {
    assert.strictEqual(uriHost("::1"), "[::1]");
    assert.strictEqual(uriHost("[::1]"), "[::1]");
    assert.strictEqual(uriHost(" fritz.box "), "fritz.box");
    assert.strictEqual(bareHost("[2001:db8::1]"), "2001:db8::1");
    assert.strictEqual(bareHost("2001:db8::1"), "2001:db8::1");
  });

  it("the outgoing rewrite writes Via and Contact with [::1]:port and rport", () => {
    const ph = "nrabc.invalid";
    const raw = [
      `REGISTER sip:[::1]:5060 SIP/2.0`,
      `Via: SIP/2.0/UDP ${ph};branch=z9hG4bK1`,
      `From: <sip:alice@[::1]>;tag=1`,
      `To: <sip:alice@[::1]>`,
      `Call-ID: c1`,
      `CSeq: 1 REGISTER`,
      `Contact: <sip:nr-1@${ph};transport=udp>`,
      `Content-Length: 0`,
      "",
      "",
    ].join("\r\n");
    const out = new WireRewriter(ph).outgoing(parseWireMessage(raw)!, { address: "::1", port: 40000 });
    assert.match(out, /\r\nVia: SIP\/2\.0\/UDP \[::1\]:40000;branch=z9hG4bK1;rport\r\n/);
    assert.match(out, /\r\nContact: <sip:nr-1@\[::1\]:40000;transport=udp>\r\n/);
    // The response's Via ([::1]:40000 with received/rport) goes back to the placeholder for sip.js.
    const resp = [
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP [::1]:40000;branch=z9hG4bK1;rport=40000;received=::1",
      "From: <sip:alice@[::1]>;tag=1",
      "To: <sip:alice@[::1]>;tag=2",
      "Call-ID: c1",
      "CSeq: 1 REGISTER",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    assert.match(
      new WireRewriter(ph).incoming(parseWireMessage(resp)!),
      new RegExp(`\\r\\nVia: SIP/2\\.0/UDP ${ph.replace(".", "\\.")};branch=z9hG4bK1;rport=40000;received=::1\\r\\n`),
    );
  });

  it("localAddressToward picks the next hop's family; an IPv4-mapped next hop is IPv4", async () => {
    assert.strictEqual(await localAddressToward("::1", 5060), "::1");
    assert.strictEqual(await localAddressToward("[::1]", 5060), "::1");
    assert.strictEqual(await localAddressToward("127.0.0.1", 5060), "127.0.0.1");
    assert.strictEqual(await localAddressToward("::ffff:127.0.0.1", 5060), "127.0.0.1");
  });

  it("routeSourceToward: the route's source per family; a name is never looked up", async () => {
    assert.strictEqual(await routeSourceToward("::1"), "::1");
    assert.strictEqual(await routeSourceToward("127.0.0.1"), "127.0.0.1");
    assert.strictEqual(await routeSourceToward("pbx.invalid"), undefined);
  });

  it("an IPv6 server, bare or bracketed, makes a valid AOR and dial domain", async () => {
    assert.strictEqual(dialDomain({ server: "::1", username: "a" }), "[::1]");
    assert.strictEqual(dialDomain({ server: "[::1]", username: "a", port: 5070 }), "[::1]:5070");
    assert.strictEqual(dialDomain({ server: "2001:db8::1", username: "a", port: 5070 }), "[2001:db8::1]:5070");
    for (const server of ["::1", "[::1]"]) {
      const p = new Phone({ server, username: "alice", register: false });
      assert.strictEqual(p.userAgent.configuration.uri.host, "[::1]");
      await p.stop();
    }
  });
});
