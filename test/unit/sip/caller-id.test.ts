// Caller ID (issue 9 item 8): PAI > RPID > From, anonymous and privacy callers, the
// "anonymous" pattern in filter and greeting tables, and PAI/RPID from strangers removed.
import assert from "assert";
import { EventEmitter } from "events";
import { callerId, CallerIdInput, MAX_IDENTITY_HEADER_LENGTH, MAX_CALLER_FIELD_LENGTH, stripUntrustedIdentity } from "../../../src/sip/caller-id";
import { callerParty, isCallerAllowed, pickGreeting } from "../../../src/call/caller-match";
import { parseWireMessage } from "../../../src/sip/wire-message";
import { SipTransport } from "../../../src/sip/sip-transport";
import type { Endpoint } from "../../../src/sip/endpoint";

function input(fromUri: string, headers: Record<string, string[]> = {}, fromName = ""): CallerIdInput {
  const user = /^sips?:([^@]*)@/.exec(fromUri)?.[1] ?? "";
  return { fromUri, fromUser: user, fromName, header: (n) => headers[n.toLowerCase()] ?? [] };
}

describe("caller ID", () => {
  it("P-Asserted-Identity gives number and name; the From stays in uri", () => {
    const id = callerId(
      input("sip:bob@example.com", { "p-asserted-identity": ['"Alice Smith" <sip:+4930123@example.com;user=phone>, <tel:+4930999>'] }, "Bob"),
    );
    assert.strictEqual(id.source, "pai");
    assert.strictEqual(id.number, "+4930999", "a tel: URI is the number");
    assert.strictEqual(id.name, "Alice Smith");
    assert.strictEqual(id.uri, "sip:bob@example.com");
    assert.strictEqual(id.identityUri, "tel:+4930999");
    assert.strictEqual(id.anonymous, false);
  });

  it("PAI over RPID over From; RPID party=called is not the caller", () => {
    const both = callerId(
      input(
        "sip:bob@h",
        { "p-asserted-identity": ["<sip:111@h>"], "remote-party-id": ['"R" <sip:222@h>;party=calling;screen=yes;privacy=off'] },
        "Bob",
      ),
    );
    assert.deepStrictEqual([both.source, both.number, both.name], ["pai", "111", "R"], "PAI's number; a name from RPID when PAI has none");
    const rpid = callerId(input("sip:bob@h", { "remote-party-id": ['"Called" <sip:333@h>;party=called', '"R" <sip:222@h>;party=calling'] }, "Bob"));
    assert.deepStrictEqual([rpid.source, rpid.number, rpid.name, rpid.anonymous], ["rpid", "222", "R", false]);
    const from = callerId(input("sip:bob%20x@h", {}, "Bob"));
    assert.deepStrictEqual([from.source, from.number, from.name, from.anonymous], ["from", "bob x", "Bob", false]);
  });

  it("anonymous callers: the From's anonymous words, anonymous.invalid, Privacy id/header/user, RPID privacy", () => {
    const cases: Array<[CallerIdInput, string]> = [
      [input("sip:anonymous@anonymous.invalid", {}, "Anonymous"), ""],
      [input("sip:Restricted@carrier.example"), ""],
      [input("sip:x@anonymous.invalid"), ""],
      [input("sip:0612@h", { privacy: ["id"] }), "0612"],
      [input("sip:0612@h", { privacy: ["header;user"] }), "0612"],
      [input("sip:0612@h", { "remote-party-id": ["<sip:0612@h>;privacy=full"] }), "0612"],
      [input("sip:anonymous@anonymous.invalid", { privacy: ["id"], "p-asserted-identity": ["<sip:0612@h>"] }), "0612"],
    ];
    for (const [i, number] of cases) {
      const id = callerId(i);
      assert.strictEqual(id.anonymous, true, i.fromUri);
      assert.strictEqual(id.number, number, i.fromUri);
    }
    assert.strictEqual(callerId(input("sip:anonymous@anonymous.invalid", {}, "Anonymous")).name, "", "'Anonymous' is not a name");
    for (const p of ["none", "session", "", "identity"]) assert.strictEqual(callerId(input("sip:0612@h", { privacy: [p] })).anonymous, false, p);
  });

  it("malformed or over-long identity headers are ignored, never thrown on", () => {
    const bad = [
      "garbage",
      "<http://x>",
      '"unterminated <sip:1@h>',
      "<sip:@h>",
      "<sip:%FF%FE@h>",
      ",,,",
      "<<<>>>",
      "sip:" + "9".repeat(MAX_IDENTITY_HEADER_LENGTH),
    ];
    for (const v of bad) {
      const id = callerId(input("sip:bob@h", { "p-asserted-identity": [v], "remote-party-id": [v], privacy: [v] }));
      if (v.startsWith("<sip:%FF")) assert.strictEqual(id.number, "\ufffd\ufffd", "decoded without throwing");
      else assert.deepStrictEqual([id.source, id.number], ["from", "bob"], v.slice(0, 40));
    }
    const throwing = callerId({ ...input("sip:bob@h"), header: () => { throw new Error("boom"); } }); // prettier-ignore
    assert.deepStrictEqual([throwing.source, throwing.number], ["from", "bob"]);
    const long = callerId(input("sip:bob@h", { "p-asserted-identity": [`"${"N".repeat(600)}" <sip:${"1".repeat(600)}@h>`] }));
    assert.deepStrictEqual([long.source, long.number], ["from", "bob"], "a header over the bound is ignored");
    const forged = callerId(input("sip:12%0D%0A34@h", { "p-asserted-identity": ['"A\tB" <sip:56%0a78@h>'] }));
    assert.deepStrictEqual([forged.number, forged.name], ["5678", "AB"], "control characters removed");
    assert.strictEqual(callerId(input("sip:12%0D%0A34@h")).number, "1234");
    const longFrom = callerId(input(`sip:${"1".repeat(400)}@h`));
    assert.strictEqual(longFrom.number.length, MAX_CALLER_FIELD_LENGTH);
    // the fifth entry and later are not read
    const many = callerId(
      input("sip:bob@h", { "p-asserted-identity": ["<sip:anonymous@h>, <sip:anonymous@h>, <sip:anonymous@h>, <sip:anonymous@h>, <sip:5@h>"] }),
    );
    assert.strictEqual(many.source, "from");
  });

  it("callerParty turns a sip.js URI into msg.call.from with the new fields", () => {
    const uri = { user: "anonymous", toString: () => "sip:anonymous@anonymous.invalid" };
    const p = callerParty(uri, '"Anonymous"', (n) => (n === "p-asserted-identity" ? ['"Mum" <sip:0612345678@pbx>'] : []));
    assert.deepStrictEqual(p, {
      number: "0612345678",
      name: "Mum",
      uri: "sip:anonymous@anonymous.invalid",
      anonymous: true,
      source: "pai",
      identityUri: "sip:0612345678@pbx",
    });
  });
});

describe("the anonymous pattern in filter and greeting tables", () => {
  it("matches anonymous callers only, never a number; other patterns still match the number", () => {
    assert.ok(!isCallerAllowed("block", ["anonymous"], "", true));
    assert.ok(isCallerAllowed("block", ["Anonymous"], "0612", false));
    assert.ok(isCallerAllowed("block", ["anonymous"], "anonymous", false), "a caller literally named 'anonymous' with no flag is not matched");
    assert.ok(isCallerAllowed("allow", ["anonymous", "0612*"], "", true));
    assert.ok(!isCallerAllowed("allow", ["0612*"], "", true), "an allow list without 'anonymous' keeps anonymous callers out");
    assert.ok(!isCallerAllowed("block", ["0612*"], "0612345", true), "an asserted number is still matched");
  });

  it("greeting: exact number, then the anonymous row, then wildcards, then the generic row", () => {
    const g = [
      { number: "", message: "generic" },
      { number: "*", message: "wild" },
      { number: "anonymous", message: "anon" },
      { number: "0612", message: "mum" },
    ];
    assert.strictEqual(pickGreeting(g, "", true)?.message, "anon");
    assert.strictEqual(pickGreeting(g, "0612", true)?.message, "mum", "an asserted number's own row wins");
    assert.strictEqual(pickGreeting(g, "0700", true)?.message, "anon");
    assert.strictEqual(pickGreeting(g, "0700", false)?.message, "wild");
    assert.strictEqual(pickGreeting(g.slice(0, 1).concat(g.slice(2)), "anonymous", false)?.message, "generic", "no flag, no anonymous row");
    assert.strictEqual(pickGreeting([{ number: "", message: "generic" }], "", true)?.message, "generic");
  });
});

describe("PAI and RPID at the trust boundary", () => {
  const raw = [
    "INVITE sip:alice@127.0.0.1:5070 SIP/2.0",
    "Via: SIP/2.0/TCP 127.0.0.9:5060;branch=z9hG4bKpai1",
    "From: <sip:bob@127.0.0.1>;tag=f1",
    "To: <sip:alice@127.0.0.1>",
    "Call-ID: pai-1",
    "CSeq: 1 INVITE",
    "P-Asserted-Identity: <sip:0612@pbx>",
    "Remote-Party-ID: <sip:0612@pbx>;party=calling",
    "Privacy: id",
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");

  it("stripUntrustedIdentity removes both headers and keeps the rest", () => {
    const msg = parseWireMessage(raw)!;
    const out = stripUntrustedIdentity(msg);
    assert.doesNotMatch(out.raw, /P-Asserted-Identity|Remote-Party-ID/i);
    assert.match(out.raw, /^INVITE sip:alice@127\.0\.0\.1:5070 SIP\/2\.0\r\n/);
    assert.match(out.raw, /\r\nPrivacy: id\r\n/);
    assert.strictEqual(out.headers.length, msg.headers.length - 2);
    const plain = parseWireMessage(raw.replace(/P-Asserted-Identity.*\r\n|Remote-Party-ID.*\r\n/g, ""))!;
    assert.strictEqual(stripUntrustedIdentity(plain), plain, "nothing to strip: the same message");
  });

  function transport(acceptFrom: "anyone" | "networks", trustedNetworks?: string[]) {
    const t = new SipTransport({
      kind: "tcp",
      nextHop: { host: "127.0.0.1", port: 5060 },
      placeholder: "ph.invalid",
      keepAliveSeconds: 0,
      acceptFrom,
      trustedNetworks,
    });
    const conn = Object.assign(new EventEmitter(), {
      reliable: true,
      local: { address: "127.0.0.1", port: 5070 },
      send: async () => undefined,
      close: async () => undefined,
    });
    (t as unknown as { connection: unknown }).connection = conn;
    t.trust.setResolvedAddresses(["127.0.0.1"]);
    const delivered: string[] = [];
    t.onMessage = (m) => delivered.push(m);
    const receive = (r: string, s: Endpoint) => (t as unknown as { receive(r: string, s: Endpoint): void }).receive(r, s);
    return { delivered, receive };
  }

  it("the transport keeps them from the registrar and a listed network, and removes them from a stranger (acceptFrom anyone)", () => {
    const a = transport("anyone");
    a.receive(raw, { address: "127.0.0.1", port: 5060 });
    a.receive(raw.replace(/pai-1/, "pai-2").replace(/bKpai1/, "bKpai2"), { address: "127.0.0.2", port: 5060 });
    assert.strictEqual(a.delivered.length, 2);
    assert.match(a.delivered[0], /P-Asserted-Identity: <sip:0612@pbx>/, "from the registrar: kept");
    assert.doesNotMatch(a.delivered[1], /P-Asserted-Identity|Remote-Party-ID/i, "from a stranger: removed");
    const n = transport("networks", ["127.0.0.3/32"]);
    n.receive(raw, { address: "127.0.0.3", port: 5060 });
    assert.match(n.delivered[0], /Remote-Party-ID/, "a listed network is trusted");
  });
});
