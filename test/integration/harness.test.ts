// Smoke test of the real-peer harness in test/support/: Kamailio, baresip,
// SIPp and the lossy UDP relay, all on 127.0.0.1 with dynamic ports.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import WebSocket from "ws";
import { startBaresip, type Baresip } from "../support/baresip";
import { startKamailio, type Kamailio } from "../support/kamailio";
import { createLossyRelay, sipRequest, sipResponse, type LossyRelay } from "../support/lossy-relay";
import { liveProcesses, makeTempDir } from "../support/process";
import { describeSipp, runSipp } from "../support/sipp";
import { waitFor, withTimeout } from "../support/wait";
import { analyzeWav } from "../support/wav";

function optionsRequest(transport: "TLS" | "WS", port: number): string {
  const host = transport === "WS" ? "harness.invalid" : "127.0.0.1:5999";
  return [
    `OPTIONS sip:127.0.0.1:${port}${transport === "WS" ? ";transport=ws" : ";transport=tls"} SIP/2.0`,
    `Via: SIP/2.0/${transport} ${host};branch=z9hG4bK${Math.random().toString(36).slice(2)};rport`,
    "From: <sip:harness@127.0.0.1>;tag=h1",
    "To: <sip:127.0.0.1>",
    `Call-ID: ${Math.random().toString(36).slice(2)}@harness`,
    "CSeq: 1 OPTIONS",
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

describe("SIP test harness (real peers)", function () {
  this.timeout(60000);

  let kam: Kamailio;
  const peers: Baresip[] = [];
  const relays: LossyRelay[] = [];

  before(async function () {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw2", carol: "c4rol" } });
  });

  afterEach(async function () {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await Promise.all(relays.splice(0).map((r) => r.close()));
  });

  after(async function () {
    await kam?.stop();
  });

  it("Kamailio listens on distinct dynamic ports on 127.0.0.1", function () {
    const { udp, tcp, tls: tlsPort, ws, wss } = kam.ports;
    assert.equal(kam.host, "127.0.0.1");
    assert.equal(udp, tcp);
    assert.equal(new Set([udp, tlsPort, ws, wss]).size, 4);
    assert.ok(kam.running);
  });

  it("SIPp OPTIONS gets 200 over UDP and TCP", async function () {
    for (const transport of ["udp", "tcp"] as const) {
      const r = await runSipp({ scenario: "options", target: `127.0.0.1:${kam.ports.udp}`, transport });
      assert.equal(r.code, 0, describeSipp(r));
      assert.equal(r.successful, 1);
    }
  });

  it("SIPp REGISTER passes the digest challenge and shows up in ul.dump", async function () {
    const r = await runSipp({
      scenario: "register",
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "carol",
      auth: { user: "carol", password: "c4rol" },
    });
    assert.equal(r.code, 0, describeSipp(r));
    assert.match(r.messages, /SIP\/2\.0 401 Unauthorized/);
    const carol = (await kam.ulDump()).filter((b) => b.aor === "carol");
    assert.equal(carol.length, 1);
    assert.ok(carol[0].expires > 0 && carol[0].expires <= 300, `expires ${carol[0].expires}`);
    await kam.removeBindings("carol");
    assert.equal((await kam.ulDump()).filter((b) => b.aor === "carol").length, 0);
  });

  it("answers SIP OPTIONS over TLS and WebSocket", async function () {
    const ca = fs.readFileSync(kam.certPath);
    const tlsReply = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const sock = tls.connect({ host: "127.0.0.1", port: kam.ports.tls, ca }, () => {
          sock.write(optionsRequest("TLS", kam.ports.tls));
        });
        let buf = "";
        sock.on("data", (d: Buffer) => {
          buf += d.toString();
          if (buf.includes("\r\n\r\n")) {
            sock.end();
            resolve(buf);
          }
        });
        sock.on("error", reject);
      }),
      5000,
      "TLS OPTIONS reply",
    );
    assert.match(tlsReply, /^SIP\/2\.0 200 OK/);

    const wsReply = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(kam.wsUrl(), "sip");
        ws.on("open", () => ws.send(optionsRequest("WS", kam.ports.ws)));
        ws.on("message", (m: WebSocket.RawData) => {
          ws.close();
          resolve((m as Buffer).toString()); // binaryType "nodebuffer": one Buffer per message
        });
        ws.on("error", reject);
      }),
      5000,
      "WS OPTIONS reply",
    );
    assert.match(wsReply, /^SIP\/2\.0 200 OK/);
  });

  it("baresip registers through the 401 challenge", async function () {
    const before = kam.registerCount("alice");
    const alice = await startBaresip({ user: "alice", password: "secret", kamailio: kam });
    peers.push(alice);
    await alice.waitRegistered();
    const bindings = await kam.ulDump();
    const b = bindings.find((x) => x.aor === "alice");
    assert.ok(b, `no binding for alice in ${JSON.stringify(bindings)}`);
    assert.match(b.contact, new RegExp(`@127\\.0\\.0\\.1:${alice.sipPort}\\b`));
    assert.equal(b.socket, `udp:127.0.0.1:${kam.ports.udp}`);
    assert.match(b.userAgent ?? "", /baresip/);
    const regs = kam.requests("REGISTER").filter((r) => r.toUser === "alice");
    assert.ok(kam.registerCount("alice") - before >= 2, "challenge + authorised REGISTER");
    assert.equal(regs[regs.length - 2].authUser, "", "first REGISTER carries no credentials");
    assert.equal(regs[regs.length - 1].authUser, "alice");
  });

  it("lossy relay drops exactly the requested packets", async function () {
    const relay = await createLossyRelay({ targetPort: kam.ports.udp });
    relays.push(relay);
    const firstRegister = relay.drop({ direction: "toServer", count: 1, match: sipRequest("REGISTER") });
    const twoChallenges = relay.drop({ direction: "toClient", count: 1, match: sipResponse([401], "REGISTER") });
    const bob = await startBaresip({ user: "bob", password: "pw2", registrar: { port: relay.port } });
    peers.push(bob);
    await bob.waitRegistered(15000);
    assert.equal(firstRegister.dropped, 1);
    assert.equal(firstRegister.remaining, 0);
    assert.equal(twoChallenges.dropped, 1);
    assert.equal(relay.dropped, 2);
    assert.equal(relay.packets.filter((p) => p.dropped).length, 2);
    assert.ok(relay.forwarded >= 4, `forwarded ${relay.forwarded}`);
    // Kamailio saw the relay's upstream socket, not baresip's own port.
    const b = (await kam.ulDump()).find((x) => x.aor === "bob");
    assert.ok(b);
    const seen = kam.requests("REGISTER").filter((r) => r.toUser === "bob");
    assert.ok(seen.every((r) => r.srcPort !== bob.sipPort));
    assert.match(b.received ?? "", new RegExp(`127\\.0\\.0\\.1:${seen[seen.length - 1].srcPort}`));
  });

  it("baresip A calls baresip B through Kamailio and B records A's audio", async function () {
    const dir = makeTempDir("harness-audio");
    const wav = path.join(dir, "tone-440.wav");
    execFileSync("sox", ["-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", wav, "synth", "2", "sine", "440", "vol", "0.5"]);

    const alice = await startBaresip({ user: "alice", password: "secret", kamailio: kam, audioFile: wav });
    const bob = await startBaresip({ user: "bob", password: "pw2", kamailio: kam, answerMode: "auto" });
    peers.push(alice, bob);
    await Promise.all([alice.waitRegistered(), bob.waitRegistered()]);

    const since = bob.mark();
    await alice.dial(kam.uri("bob"));
    const est = await bob.waitEvent("CALL_ESTABLISHED", 10000, { since });
    assert.equal(est.direction, "incoming");
    assert.match(est.peeruri ?? "", /^sip:alice@127\.0\.0\.1/);
    // aufile ends after 2 s: alice hangs up ("end of file"), bob sees the BYE.
    const closedA = await alice.waitEvent("CALL_CLOSED", 15000);
    assert.equal(closedA.param, "end of file");
    await bob.waitEvent("CALL_CLOSED", 10000, { since });

    const rx = await waitFor(() => bob.recordings().find((r) => r.direction === "rx"), 5000, "bob's rx recording");
    const stats = analyzeWav(rx.path);
    assert.equal(stats.sampleRate, 8000);
    assert.ok(stats.duration > 1.0, `recorded ${stats.duration} s`);
    assert.ok(stats.rms > 2000, `rms ${stats.rms}`);
    assert.ok(stats.activeFraction > 0.5, `active ${stats.activeFraction}`);
    assert.ok(Math.abs(stats.zeroCrossingHz - 440) < 40, `tone ${stats.zeroCrossingHz} Hz`);
    assert.ok(kam.requests("INVITE").some((r) => r.toUser === "bob"));
  });

  it("restart forgets bindings, and stop leaves no helper process behind", async function () {
    const alice = await startBaresip({ user: "alice", password: "secret", kamailio: kam, regint: 3600 });
    peers.push(alice);
    await alice.waitRegistered();
    assert.ok((await kam.ulDump()).some((b) => b.aor === "alice"));
    const ports = { ...kam.ports };
    await kam.restart();
    assert.deepEqual(kam.ports, ports);
    assert.equal((await kam.ulDump()).length, 0);
    const r = await runSipp({ scenario: "options", target: `127.0.0.1:${kam.ports.udp}` });
    assert.equal(r.code, 0, describeSipp(r));

    const pids = liveProcesses().map((p) => p.pid);
    assert.ok(pids.length >= 2, "kamailio and baresip are running");
    await alice.stop();
    peers.splice(0);
    await kam.stop();
    assert.equal(kam.running, false);
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} still alive`);
    }
    const stillLive = new Set(liveProcesses().map((p) => p.pid));
    assert.ok(pids.every((pid) => !stillLive.has(pid)));
    // Bring Kamailio back for any later test in this file.
    await kam.restart();
    assert.ok(kam.running);
  });
});
