// The SIP doctor against a real Kamailio (and dnsmasq for DNS SRV, a relay that rewrites source
// ports for a NAT): each report must name what is really there.
import assert from "assert";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startDnsmasq, Dnsmasq } from "../support/dnsmasq";
import { createLossyRelay, LossyRelay } from "../support/lossy-relay";
import { freePort, releasePort } from "../support/ports";
import { finding } from "../support/doctor-report";
import { waitFor } from "../support/wait";
import { Softphone, type DoctorReport, type Speaker } from "../../src";
import type { AccountOptions } from "../../src/phone/account";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
/* eslint-enable @typescript-eslint/no-require-imports */
helper.init(require.resolve("node-red"));

const noSpeech = {} as Speaker;
const PASSWORD = "s3cret-Pa55word";

describe("SIP doctor (Kamailio, dnsmasq, a NAT relay)", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  const phones: Softphone[] = [];
  let dns: Dnsmasq | undefined;
  let relay: LossyRelay | undefined;

  const phone = async (over: Partial<AccountOptions>, wait: "REGISTERED" | "FAILED" = "REGISTERED"): Promise<Softphone> => {
    const p = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: PASSWORD, expires: 120, ...over },
      speech: noSpeech,
    });
    phones.push(p);
    await p.start();
    await waitFor(() => p.registrationState === wait, 15_000, wait);
    return p;
  };

  before(async () => {
    kam = await startKamailio({ users: { alice: PASSWORD } });
  });
  after(async () => {
    await kam?.stop();
  });
  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.stop()));
    await dns?.stop();
    dns = undefined;
    await relay?.close();
    relay = undefined;
    await kam.removeBindings("alice").catch(() => undefined);
  });

  it("a good account: reachable over UDP with a round-trip time, no NAT, registered with the granted expiry; no secret in it", async () => {
    const p = await phone({});
    const r = await p.diagnose();
    assert.strictEqual(finding(r, "transport").level, "ok", r.text);
    assert.strictEqual(finding(r, "transport").facts.status, 200);
    assert.ok(Number(finding(r, "transport").facts.rttMs) >= 0);
    assert.strictEqual(finding(r, "nat").level, "ok", r.text);
    assert.strictEqual(finding(r, "credentials").level, "ok", r.text);
    assert.strictEqual(finding(r, "expiry").facts.granted, 120);
    assert.ok(!r.findings.some((f) => f.level === "fail"), r.text);
    const all = JSON.stringify(r);
    assert.ok(!all.includes(PASSWORD), "the password is not in the report");
    assert.ok(!/response=|nonce=/i.test(all), "no digest material in the report");
    assert.match(r.text, /The server answers over UDP at 127\.0\.0\.1/);
    if (process.env.SHOW_REPORT) console.log(r.text);
  });

  it("wrong password: the credentials finding fails, says why and how to fix it, in German on request", async () => {
    const p = await phone({ password: "wrong-password" }, "FAILED");
    const r = await p.diagnose({ language: "de-DE" });
    const c = finding(r, "credentials");
    assert.strictEqual(c.level, "fail", r.text);
    assert.strictEqual(c.facts.status, 401);
    assert.match(c.text, /lehnt die Zugangsdaten ab/);
    assert.match(c.fix ?? "", /Kennwort/);
    assert.strictEqual(r.level, "fail");
    assert.ok(!JSON.stringify(r).includes("wrong-password"));
  });

  it("a NAT that rewrites source ports (a relay in front of Kamailio): the NAT finding warns with both addresses", async () => {
    relay = await createLossyRelay({ targetPort: kam.ports.udp });
    const p = await phone({ port: relay.port });
    const r = await p.diagnose({ language: "fr" });
    const n = finding(r, "nat");
    assert.strictEqual(n.level, "warn", r.text);
    assert.strictEqual(n.facts.portOnly, true);
    assert.notStrictEqual(n.facts.seen, n.facts.local);
    assert.match(n.text, /un autre port/);
    assert.match(n.fix ?? "", /rewrite_contact=yes/);
    assert.strictEqual(finding(r, "keepalive").level, "ok", "keep-alive 25 s is short enough");
  });

  it("nothing listens on the configured port: the transport finding fails, the report still comes", async () => {
    const dead = await freePort("udp");
    try {
      const p = new Softphone({
        account: { server: "127.0.0.1", port: dead, username: "alice", password: PASSWORD, expires: 120 },
        speech: noSpeech,
      });
      phones.push(p);
      await p.start();
      const r = await p.diagnose();
      const t = finding(r, "transport");
      assert.strictEqual(t.level, "fail", r.text);
      assert.match(t.fix ?? "", /firewall/);
      assert.ok(!r.findings.some((f) => f.id === "nat"), "no NAT verdict without an answer");
    } finally {
      releasePort(dead);
    }
  });

  it("a name with SRV records (dnsmasq): the DNS finding names the SRV target, the other transports are tried via their own SRV", async () => {
    dns = await startDnsmasq({
      srv: [
        { name: "_sip._udp.pbx.test", target: "sip1.pbx.test", port: kam.ports.udp, priority: 10, weight: 10 },
        { name: "_sip._tcp.pbx.test", target: "sip1.pbx.test", port: kam.ports.tcp, priority: 10, weight: 10 },
        { name: "_sips._tcp.pbx.test", target: "sip1.pbx.test", port: kam.ports.tls, priority: 10, weight: 10 },
      ],
      hosts: [{ name: "sip1.pbx.test", address: "127.0.0.1" }],
    });
    const p = await phone({
      server: "pbx.test",
      port: undefined,
      dnsServers: [dns.server],
      tlsRejectUnauthorized: false, // the test certificate does not name sip1.pbx.test
    });
    const r = await p.diagnose();
    const d = finding(r, "dns");
    assert.strictEqual(d.level, "ok", r.text);
    assert.strictEqual(d.facts.target, "sip1.pbx.test");
    assert.strictEqual(d.facts.targetPort, kam.ports.udp);
    const o = finding(r, "other-transports");
    assert.match(String(o.facts.answered), new RegExp(`TCP ${kam.ports.tcp}`), r.text);
    assert.match(String(o.facts.answered), new RegExp(`TLS ${kam.ports.tls}`), r.text);
  });

  it("from a flow: topic diagnose gives one diagnose message with the report in French, kept on the config node", async () => {
    await startRed();
    try {
      await helper.load(
        [sipClient, sipCall],
        [
          { id: "acct", type: "sip-client", server: "127.0.0.1", port: String(kam.ports.udp), transport: "udp", username: "alice", expires: "60" },
          { id: "call", type: "sip-call", client: "acct", wires: [["out"]] },
          { id: "out", type: "helper" },
        ],
        { acct: { password: PASSWORD } },
      );
      const got: Array<{ topic?: string; payload?: unknown }> = [];
      helper.getNode("out").on("input", (m: { topic?: string; payload?: unknown }) => got.push(m));
      await waitFor(() => got.some((m) => m.payload === "REGISTERED"), 10_000, "REGISTERED");
      helper.getNode("call").receive({ topic: "diagnose", language: "fr" });
      await waitFor(() => got.some((m) => m.topic === "diagnose"), 15_000, "diagnose message");
      const reports = got.filter((m) => m.topic === "diagnose");
      assert.strictEqual(reports.length, 1);
      const r = reports[0].payload as DoctorReport;
      assert.strictEqual(r.language, "fr");
      assert.strictEqual(r.level, "ok", r.text);
      assert.match(r.text, /^Diagnostic SIP, .* Résultat : OK\./);
      assert.match(r.text, /\[OK\] Enregistré : le serveur accepte l'identifiant et le mot de passe/);
      assert.ok(!JSON.stringify(r).includes(PASSWORD));
      const node = helper.getNode("acct") as unknown as { lastDiagnosis?: DoctorReport };
      assert.strictEqual(node.lastDiagnosis?.text, r.text);
    } finally {
      await stopRed();
    }
  });
});
