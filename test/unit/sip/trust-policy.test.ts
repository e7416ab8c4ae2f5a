import assert from "assert";
import { TrustPolicy, MAX_DIALOG_ROUTES, DIALOG_ROUTE_TTL_MS, uriHosts } from "../../../src/sip/trust-policy";
import { RateLimiter, MAX_RATE_SOURCES } from "../../../src/sip/rate-limiter";
import { DigestGuard, MAX_CHALLENGE_CONTEXTS } from "../../../src/sip/digest-guard";
import { parseWireMessage, WireMessage, headerName } from "../../../src/sip/wire-message";

const REG = { address: "127.0.0.1", port: 5060 };
const EVIL = { address: "127.0.0.2", port: 5060 };

function request(method: string, opts: { callId?: string; toTag?: string; contact?: string; rr?: string[]; branch?: string } = {}): WireMessage {
  const lines = [
    `${method} sip:alice@127.0.0.1:5070 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.9:5060;branch=${opts.branch ?? "z9hG4bK" + Math.random().toString(36).slice(2)}`,
    `From: <sip:bob@127.0.0.1>;tag=f1`,
    `To: <sip:alice@127.0.0.1>${opts.toTag ? ";tag=" + opts.toTag : ""}`,
    `Call-ID: ${opts.callId ?? "c-" + Math.random()}`,
    `CSeq: 1 ${method}`,
    ...(opts.contact ? [`Contact: <${opts.contact}>`] : []),
    ...(opts.rr ?? []).map((r) => `Record-Route: <${r}>`),
    "Content-Length: 0",
  ];
  return parseWireMessage(lines.join("\r\n") + "\r\n\r\n")!;
}

function response(
  code: number,
  method: string,
  opts: { callId?: string; branch?: string; contact?: string; challenges?: string[] } = {},
): WireMessage {
  const lines = [
    `SIP/2.0 ${code} X`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${opts.branch ?? "b1"};rport=5070`,
    `From: <sip:alice@127.0.0.1>;tag=a`,
    `To: <sip:bob@127.0.0.1>;tag=b`,
    `Call-ID: ${opts.callId ?? "c1"}`,
    `CSeq: 1 ${method}`,
    ...(opts.contact ? [`Contact: <${opts.contact}>`] : []),
    ...(opts.challenges ?? []),
    "Content-Length: 0",
  ];
  return parseWireMessage(lines.join("\r\n") + "\r\n\r\n")!;
}

describe("trust policy", () => {
  let now: number;
  const make = (o: ConstructorParameters<typeof TrustPolicy>[0] = {}) => {
    const p = new TrustPolicy({ now: () => now, ...o });
    p.setResolvedAddresses(["127.0.0.1"]);
    return p;
  };
  beforeEach(() => {
    now = 1_000_000;
  });

  it("registrar (default): out-of-dialog requests only from the registrar's addresses", () => {
    const p = make();
    assert.strictEqual(p.acceptFrom, "registrar");
    assert.strictEqual(p.checkRequest(request("INVITE"), REG), "accept");
    assert.strictEqual(p.checkRequest(request("OPTIONS"), { address: "::ffff:127.0.0.1", port: 1 }), "accept");
    assert.strictEqual(p.checkRequest(request("INVITE"), EVIL), "drop");
    assert.strictEqual(p.checkRequest(request("OPTIONS"), EVIL), "drop");
    assert.strictEqual(p.checkRequest(request("MESSAGE"), EVIL), "drop");
    assert.strictEqual(p.dropped, 3);
  });

  it("the source of a REGISTER response becomes trusted; re-resolution replaces the names' addresses", () => {
    const p = make();
    p.learnRegistrarSource("127.0.0.5");
    assert.strictEqual(p.checkRequest(request("INVITE"), { address: "127.0.0.5", port: 9 }), "accept");
    p.setResolvedAddresses(["127.0.0.3"]);
    assert.strictEqual(p.checkRequest(request("INVITE"), REG), "drop");
    assert.strictEqual(p.checkRequest(request("INVITE"), { address: "127.0.0.3", port: 9 }), "accept");
  });

  it("networks: plus the CIDR blocks; anyone: everything; an invalid block throws", () => {
    const n = make({ acceptFrom: "networks", trustedNetworks: ["127.0.0.2/32", "fd00::/8"] });
    assert.strictEqual(n.checkRequest(request("INVITE"), EVIL), "accept");
    assert.strictEqual(n.checkRequest(request("INVITE"), { address: "fd00::5", port: 1 }), "accept");
    assert.strictEqual(n.checkRequest(request("INVITE"), { address: "127.0.0.3", port: 1 }), "drop");
    const r = make({ acceptFrom: "registrar", trustedNetworks: ["127.0.0.2/32"] });
    assert.strictEqual(r.checkRequest(request("INVITE"), EVIL), "drop", "networks are ignored in registrar mode");
    const a = make({ acceptFrom: "anyone" });
    assert.strictEqual(a.checkRequest(request("INVITE"), { address: "203.0.113.9", port: 1 }), "accept");
    assert.ok(n.isConfigured("127.0.0.2") && n.isConfigured("127.0.0.1"), "listed network and registrar are configured sources");
    assert.ok(!a.isConfigured("203.0.113.9") && a.isConfigured("127.0.0.1"), "anyone: accepted, but not configured");
    assert.throws(() => make({ acceptFrom: "networks", trustedNetworks: ["10.0.0.0/40"] }), /invalid network/);
    assert.throws(() => make({ acceptFrom: "everyone" as never }), /acceptFrom/);
    assert.strictEqual(make({ acceptFrom: "" as never }).acceptFrom, "registrar", "empty = the safe default");
  });

  it("in-dialog requests: only from a trusted source or the dialog's route (source, Contact, Record-Route)", () => {
    const p = make();
    const inv = request("INVITE", { callId: "call-1", contact: "sip:bob@127.0.0.7:5080", rr: ["sip:127.0.0.8;lr"] });
    assert.strictEqual(p.checkRequest(inv, REG), "accept");
    assert.strictEqual(
      p.checkRequest(request("BYE", { callId: "call-1", toTag: "t" }), { address: "127.0.0.7", port: 5080 }),
      "accept",
      "the caller's Contact",
    );
    assert.strictEqual(
      p.checkRequest(request("INFO", { callId: "call-1", toTag: "t" }), { address: "127.0.0.8", port: 5060 }),
      "accept",
      "a Record-Route hop",
    );
    assert.strictEqual(p.checkRequest(request("BYE", { callId: "call-1", toTag: "t" }), EVIL), "drop", "an attacker with the right Call-ID");
    assert.strictEqual(p.checkRequest(request("BYE", { callId: "guessed", toTag: "t" }), EVIL), "drop", "an attacker with a guessed dialog");
    assert.strictEqual(p.checkRequest(request("BYE", { callId: "guessed", toTag: "t" }), REG), "accept", "the registrar/proxy");
  });

  it("CANCEL and ACK of an accepted INVITE only from its route", () => {
    const p = make();
    assert.strictEqual(p.checkRequest(request("INVITE", { callId: "c-x", contact: "sip:bob@127.0.0.21:5062" }), REG), "accept");
    assert.strictEqual(p.checkRequest(request("ACK", { callId: "c-x", toTag: "z" }), { address: "127.0.0.21", port: 5062 }), "accept");
    assert.strictEqual(p.checkRequest(request("CANCEL", { callId: "c-x" }), REG), "accept");
    assert.strictEqual(p.checkRequest(request("CANCEL", { callId: "c-x" }), EVIL), "drop");
    assert.strictEqual(p.checkRequest(request("ACK", { callId: "c-y", toTag: "z" }), { address: "127.0.0.21", port: 5062 }), "drop");
  });

  it("our INVITE's 2xx teaches the callee's Contact; a response for someone else's Call-ID teaches nothing", () => {
    const p = make();
    const ours = parseWireMessage(
      "INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKa\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: out-1\r\nCSeq: 1 INVITE\r\n\r\n",
    )!;
    p.outgoingInvite(ours);
    p.incomingResponse(response(200, "INVITE", { callId: "out-1", contact: "sip:bob@127.0.0.30:5090" }), REG);
    p.incomingResponse(response(200, "INVITE", { callId: "not-ours", contact: "sip:x@127.0.0.31" }), EVIL);
    assert.strictEqual(p.checkRequest(request("BYE", { callId: "out-1", toTag: "b" }), { address: "127.0.0.30", port: 5090 }), "accept");
    assert.strictEqual(p.checkRequest(request("BYE", { callId: "not-ours", toTag: "b" }), { address: "127.0.0.31", port: 5060 }), "drop");
  });

  it("dialog routes are bounded in count and expire", () => {
    const p = make();
    for (let i = 0; i < MAX_DIALOG_ROUTES + 500; i++) p.checkRequest(request("INVITE", { callId: `f-${i}`, contact: "sip:x@127.0.0.40" }), REG);
    assert.ok(p.dialogCount <= MAX_DIALOG_ROUTES, `${p.dialogCount}`);
    const last = `f-${MAX_DIALOG_ROUTES + 499}`;
    assert.strictEqual(p.checkRequest(request("BYE", { callId: "f-0", toTag: "t" }), { address: "127.0.0.40", port: 1 }), "drop", "oldest evicted");
    assert.strictEqual(p.checkRequest(request("BYE", { callId: last, toTag: "t" }), { address: "127.0.0.40", port: 1 }), "accept");
    now += DIALOG_ROUTE_TTL_MS + 1;
    assert.strictEqual(p.checkRequest(request("BYE", { callId: last, toTag: "t" }), { address: "127.0.0.40", port: 1 }), "drop", "expired");
  });

  it("uriHosts takes IP hosts only, bounded", () => {
    assert.deepStrictEqual(uriHosts("<sip:a@127.0.0.1:5060;lr>, <sip:[::1]:5070>, <sip:proxy.example;lr>"), ["127.0.0.1", "::1"]);
  });
});

describe("INVITE rate limiter (token bucket)", () => {
  it("allows a burst, then refills at the given rate; sources are independent", () => {
    let now = 0;
    const rl = new RateLimiter(() => now);
    const spec = { burst: 5, perSecond: 1 };
    const took = Array.from({ length: 8 }, () => rl.take("a", spec));
    assert.deepStrictEqual(took, [true, true, true, true, true, false, false, false]);
    assert.strictEqual(rl.take("b", spec), true, "another source has its own bucket");
    now += 999;
    assert.strictEqual(rl.take("a", spec), false);
    now += 1;
    assert.strictEqual(rl.take("a", spec), true, "one token a second");
    now += 60_000;
    assert.strictEqual([1, 2, 3, 4, 5, 6].filter(() => rl.take("a", spec)).length, 5, "refill capped at the burst");
  });

  it("the map of sources is bounded", () => {
    const rl = new RateLimiter(() => 0);
    for (let i = 0; i < MAX_RATE_SOURCES * 3; i++) rl.take(`10.0.${i >> 8}.${i & 255}`, { burst: 1, perSecond: 1 });
    assert.strictEqual(rl.size, MAX_RATE_SOURCES);
  });
});

describe("digest guard", () => {
  const challenge = (realm: string, proxy = false) => `${proxy ? "Proxy" : "WWW"}-Authenticate: Digest realm="${realm}", nonce="n1", qop="auth"`;
  const sent = (method: string, branch: string) =>
    parseWireMessage(
      `${method} sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\n\r\n`,
    )!;
  const challengesOf = (m: WireMessage) => m.headers.filter((l) => /authenticate/.test(headerName(l)));

  it("learns the registrar's realm from the challenge to REGISTER and answers only that realm", () => {
    const g = new DigestGuard();
    g.outgoingRequest(sent("REGISTER", "r1"), true);
    const reg = g.incomingChallenge(response(401, "REGISTER", { branch: "r1", challenges: [challenge("pbx.local")] }), true);
    assert.deepStrictEqual(reg.refused, []);
    assert.deepStrictEqual(g.registrarRealms, ["pbx.local"]);
    g.outgoingRequest(sent("INVITE", "i1"), true);
    const inv = g.incomingChallenge(response(407, "INVITE", { branch: "i1", challenges: [challenge("pbx.local", true)] }), true);
    assert.strictEqual(challengesOf(inv.msg).length, 1, "same realm through the proxy: answered");
    g.outgoingRequest(sent("BYE", "b1"), true);
    const evil = g.incomingChallenge(response(401, "BYE", { branch: "b1", challenges: [challenge("evil.example")] }), true);
    assert.deepStrictEqual(evil.refused, ["evil.example"]);
    assert.strictEqual(challengesOf(evil.msg).length, 0, "foreign realm stripped: sip.js sees no challenge");
  });

  it("never answers a challenge to a request that went elsewhere (a BYE straight to a caller's Contact)", () => {
    const g = new DigestGuard("pbx.local");
    g.outgoingRequest(sent("BYE", "b2"), false);
    const v = g.incomingChallenge(response(401, "BYE", { branch: "b2", challenges: [challenge("pbx.local")] }), false);
    assert.deepStrictEqual(v.refused, ["pbx.local"]);
    assert.strictEqual(challengesOf(v.msg).length, 0);
  });

  it("a challenge to a REGISTER from a non-registrar source teaches nothing; unknown transactions are refused", () => {
    const g = new DigestGuard();
    g.outgoingRequest(sent("REGISTER", "r2"), true);
    const v = g.incomingChallenge(response(401, "REGISTER", { branch: "r2", challenges: [challenge("evil.example")] }), false);
    assert.deepStrictEqual(v.refused, ["evil.example"]);
    assert.deepStrictEqual(g.registrarRealms, []);
    const u = g.incomingChallenge(response(401, "BYE", { branch: "never-sent", challenges: [challenge("x")] }), true);
    assert.deepStrictEqual(u.refused, ["x"]);
  });

  it("registration off: only the configured authRealm; mixed challenges keep the allowed one", () => {
    const g = new DigestGuard("corp");
    g.outgoingRequest(sent("INVITE", "i2"), true);
    const v = g.incomingChallenge(response(407, "INVITE", { branch: "i2", challenges: [challenge("evil", true), challenge("corp", true)] }), true);
    assert.deepStrictEqual(v.refused, ["evil"]);
    assert.deepStrictEqual(
      challengesOf(v.msg).map((l) => /realm="([^"]+)"/.exec(l)?.[1]),
      ["corp"],
    );
    const none = new DigestGuard();
    none.outgoingRequest(sent("INVITE", "i3"), true);
    assert.deepStrictEqual(none.incomingChallenge(response(407, "INVITE", { branch: "i3", challenges: [challenge("corp", true)] }), true).refused, [
      "corp",
    ]);
  });

  it("remembers a bounded number of outgoing requests", () => {
    const g = new DigestGuard("r");
    for (let i = 0; i < MAX_CHALLENGE_CONTEXTS + 10; i++) g.outgoingRequest(sent("OPTIONS", `o${i}`), true);
    assert.strictEqual(g["sent"].size, MAX_CHALLENGE_CONTEXTS);
    assert.deepStrictEqual(
      g.incomingChallenge(response(401, "OPTIONS", { branch: "o0", challenges: [challenge("r")] }), true).refused,
      ["r"],
      "forgotten = refused",
    );
  });
});
