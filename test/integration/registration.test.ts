// The SIP account against a real Kamailio registrar on 127.0.0.1.
import assert from "assert";
import dgram from "dgram";
import { startKamailio, Kamailio } from "../support/kamailio";
import { createLossyRelay, sipRequest, sipResponse } from "../support/lossy-relay";
import { runSipp } from "../support/sipp";
import { waitFor, sleep } from "../support/wait";
import { Phone } from "../../src/phone/phone";
import { AccountOptions } from "../../src/phone/account";
import { RegistrationState, TransportKind } from "../../src/types";

interface Watched {
  phone: Phone;
  states: Array<{ state: RegistrationState; reason?: string; at: number }>;
  logs: string[];
}

function watch(account: AccountOptions): Watched {
  const phone = new Phone(account);
  const w: Watched = { phone, states: [], logs: [] };
  phone.on("registration", (state, d) => w.states.push({ state, reason: d.reason, at: Date.now() }));
  phone.on("log", (level, text) => w.logs.push(`${level}: ${text}`));
  return w;
}

const registered = (w: Watched) => w.phone.registrationState === "REGISTERED";

describe("registration against Kamailio", function () {
  this.timeout(120_000);
  let kam: Kamailio;
  const running: Phone[] = [];
  const make = (over: Partial<AccountOptions> & { transport?: TransportKind } = {}) => {
    const t = over.transport ?? "udp";
    const port = t === "udp" || t === "tcp" ? kam.ports.udp : kam.ports[t];
    const w = watch({
      server: "127.0.0.1",
      port,
      transport: t,
      username: "alice",
      password: "secret",
      expires: 60,
      tlsRejectUnauthorized: false,
      ...over,
    });
    running.push(w.phone);
    return w;
  };

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw2", carol: "pw3" } });
  });
  after(async () => {
    await kam?.stop();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
  });

  for (const transport of ["udp", "tcp", "tls", "ws"] as TransportKind[]) {
    it(`registers over ${transport.toUpperCase()} through the 401 challenge, one binding, removed on stop`, async () => {
      const before = kam.registerCount("alice");
      const w = make({ transport });
      await w.phone.start();
      await waitFor(() => registered(w), 10_000, "REGISTERED");
      assert.deepStrictEqual(
        w.states.map((s) => s.state),
        ["REGISTERING", "REGISTERED"],
      );
      // Kamailio's log lines are counted as they arrive on its stderr, which can lag the 200 OK under load.
      await waitFor(() => kam.registerCount("alice") - before >= 2, 5_000, "the first REGISTER was challenged and a second one carried credentials");
      const bindings = (await kam.ulDump()).filter((b) => b.aor === "alice");
      assert.strictEqual(bindings.length, 1, JSON.stringify(bindings));
      assert.match(bindings[0].contact, new RegExp(`;transport=${transport}`));
      assert.match(bindings[0].contact, /@127\.0\.0\.1:\d+/, "Contact carries the real address and port");
      await w.phone.stop();
      assert.deepStrictEqual(
        w.states.slice(-2).map((s) => s.state),
        ["DEREGISTERING", "INACTIVE"],
      );
      assert.strictEqual((await kam.ulDump()).filter((b) => b.aor === "alice").length, 0, "un-REGISTER removed the binding");
    });
  }

  it("wrong password: FAILED with the status, backs off (REGISTERs counted over a minute), recovers when fixed", async function () {
    this.timeout(150_000);
    const w = make({ username: "bob", password: "wrong" });
    const t0 = kam.registerCount("bob");
    await w.phone.start();
    await waitFor(() => w.states.some((s) => s.state === "FAILED"), 10_000, "FAILED");
    const failed = w.states.find((s) => s.state === "FAILED")!;
    assert.match(failed.reason ?? "", /^401 /);
    await sleep(60_000);
    const sent = kam.registerCount("bob") - t0;
    const failures = w.states.filter((s) => s.state === "FAILED").map((s) => s.at);
    // Without back-off a client retrying every 2 s would send 60; we expect ≈ 10 (5 attempts × challenge + answer).
    assert.ok(sent <= 14, `REGISTERs in a minute: ${sent}`);
    assert.ok(failures.length >= 3, `retried: ${failures.length} attempts`);
    const gaps = failures.slice(1).map((t, i) => t - failures[i]);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] > gaps[i - 1] * 1.2, `gaps grow: ${gaps.join(", ")}`);
    // The cause goes away (the server now accepts this password): it registers by itself.
    await kam.setUser("bob", "wrong");
    w.phone["registration"]?.kick(); // what the next back-off step would do, without waiting minutes
    await waitFor(() => registered(w), 10_000, "REGISTERED after the password was fixed");
  });

  it("recovers by itself from a wrong password within one back-off step", async () => {
    const w = make({ username: "carol", password: "new-pw" });
    await w.phone.start();
    await waitFor(() => w.states.some((s) => s.state === "FAILED"), 10_000, "FAILED");
    await kam.setUser("carol", "new-pw");
    await waitFor(() => registered(w), 15_000, "REGISTERED on the next retry");
  });

  for (const transport of ["udp", "tcp"] as TransportKind[]) {
    it(`server down at start (${transport}): registers within a few seconds of the server coming up`, async function () {
      this.timeout(60_000);
      await kam.stop();
      const w = make({ transport });
      await w.phone.start();
      await sleep(3000);
      assert.notStrictEqual(w.phone.registrationState, "REGISTERED");
      if (transport === "tcp") {
        const f = w.states.find((s) => s.state === "FAILED");
        assert.ok(f, "FAILED while the server is down");
        assert.match(f.reason ?? "", /refused|lost|closed/);
      }
      await kam.restart();
      const up = Date.now();
      await waitFor(() => registered(w), 15_000, "REGISTERED after the server came up");
      assert.ok(Date.now() - up < 10_000, `registered ${Date.now() - up} ms after the server came up`);
    });
  }

  it("server restarted (bindings forgotten): registered again within the refresh interval", async function () {
    this.timeout(60_000);
    const w = make({ expires: 20 });
    await w.phone.start();
    await waitFor(() => registered(w), 10_000, "REGISTERED");
    await kam.restart();
    assert.strictEqual((await kam.ulDump()).length, 0, "the restarted server forgot the binding");
    await waitFor(async () => (await kam.ulDump()).some((b) => b.aor === "alice"), 20_000, "binding restored by the refresh");
  });

  it("TCP connection dropped by the server: reconnects and re-registers, one binding", async function () {
    this.timeout(60_000);
    const w = make({ transport: "tcp" });
    await w.phone.start();
    await waitFor(() => registered(w), 10_000, "REGISTERED");
    const firstLocal = w.phone.transport.local!.port;
    await kam.restart();
    await waitFor(() => w.phone.transport.isConnected() && w.phone.transport.local!.port !== firstLocal, 20_000, "reconnected");
    await waitFor(async () => (await kam.ulDump()).filter((b) => b.aor === "alice").length === 1, 20_000, "one binding again").catch(async (e) => {
      throw new Error(`${e.message}: ${JSON.stringify((await kam.ulDump()).map((b) => b.contact))} ${JSON.stringify(w.states)}`);
    });
    assert.strictEqual(w.phone.registrationState, "REGISTERED");
  });

  it("UDP: the first REGISTER is lost → registered in under 2 s (RFC 3261 Timer E retransmission)", async () => {
    const relay = await createLossyRelay({ targetPort: kam.ports.udp });
    try {
      const rule = relay.drop({ direction: "toServer", count: 1, match: sipRequest("REGISTER") });
      const w = make({ port: relay.port });
      const t0 = Date.now();
      await w.phone.start();
      await waitFor(() => registered(w), 5000, "REGISTERED through the lossy relay");
      const took = Date.now() - t0;
      assert.strictEqual(rule.dropped, 1);
      assert.ok(took < 2000, `registered after ${took} ms`);
      assert.ok((w.phone.transport.reliabilityCounters?.requestRetransmissions ?? 0) >= 1);
      await w.phone.stop();
    } finally {
      await relay.close();
    }
  });

  it("UDP: a lost 401 and a lost 200 OK are recovered by retransmission", async () => {
    const relay = await createLossyRelay({ targetPort: kam.ports.udp });
    try {
      const lost401 = relay.drop({ direction: "toClient", count: 1, match: sipResponse([401]) });
      const lost200 = relay.drop({ direction: "toClient", count: 1, match: sipResponse([200]) });
      const w = make({ port: relay.port });
      await w.phone.start();
      await waitFor(() => registered(w), 8000, "REGISTERED");
      assert.strictEqual(lost401.dropped, 1);
      assert.strictEqual(lost200.dropped, 1);
      assert.deepStrictEqual(
        w.states.map((s) => s.state),
        ["REGISTERING", "REGISTERED"],
        "no FAILED on the way",
      );
      await w.phone.stop();
    } finally {
      await relay.close();
    }
  });

  it("answers OPTIONS (PBX qualify) with 200, with or without a user in the Request-URI", async () => {
    const w = make();
    await w.phone.start();
    await waitFor(() => registered(w), 10_000, "REGISTERED");
    const target = `127.0.0.1:${w.phone.transport.local!.port}`;
    const bare = await runSipp({ scenario: "options", target, timeoutMs: 10_000 });
    assert.strictEqual(bare.successful, 1, bare.errors || bare.messages);
    const withUser = await runSipp({ scenario: "options", target, service: w.phone.userAgent.contact.uri.user, timeoutMs: 10_000 });
    assert.strictEqual(withUser.successful, 1, withUser.errors);
  });

  it("keeps NAT bindings alive: CRLF on UDP, RFC 5626 ping answered by a pong on TCP", async function () {
    this.timeout(30_000);
    const relay = await createLossyRelay({ targetPort: kam.ports.udp });
    try {
      const w = make({ port: relay.port, keepAlive: 1 });
      await w.phone.start();
      await waitFor(() => registered(w), 5000, "REGISTERED");
      await sleep(2600);
      const crlf = relay.packets.filter((p) => p.direction === "toServer" && p.firstLine.trim() === "");
      assert.ok(crlf.length >= 2, `CRLF keep-alives seen by the relay: ${crlf.length}`);
      await w.phone.stop();
    } finally {
      await relay.close();
    }
    const t = make({ transport: "tcp", keepAlive: 1 });
    await t.phone.start();
    await waitFor(() => registered(t), 5000, "REGISTERED over TCP");
    await sleep(2600);
    const ka = t.phone.transport.keepAliveStats!;
    assert.ok(ka.pingsSent >= 2 && ka.pongsReceived >= 2, JSON.stringify(ka));
    assert.strictEqual(t.phone.registrationState, "REGISTERED");
  });

  it("survives a malformed SIP message and garbage on its port", async () => {
    const w = make();
    await w.phone.start();
    await waitFor(() => registered(w), 10_000, "REGISTERED");
    const sock = dgram.createSocket("udp4");
    const port = w.phone.transport.local!.port;
    const send = (s: string) => new Promise<void>((r) => sock.send(s, port, "127.0.0.1", () => r()));
    await send("this is not SIP\r\n\r\n");
    await send("INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: broken\r\n\r\n");
    await sleep(300);
    sock.close();
    assert.ok(
      w.logs.some((l) => /malformed SIP message/.test(l)),
      w.logs.join("\n"),
    );
    assert.strictEqual(w.phone.registrationState, "REGISTERED");
    // Still serving: an OPTIONS "qualify" from the registrar side gets 200.
  });

  it("20 redeploys leave one binding and no growth in open handles", async function () {
    this.timeout(120_000);
    const handles = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
    let baseline = -1;
    for (let i = 0; i < 20; i++) {
      const w = make({ contactUser: "nr-redeploy" });
      await w.phone.start();
      await waitFor(() => registered(w), 10_000, `REGISTERED (deploy ${i + 1})`);
      await w.phone.stop();
      running.pop();
      if (i === 1) baseline = handles();
    }
    const last = make({ contactUser: "nr-redeploy" });
    await last.phone.start();
    await waitFor(() => registered(last), 10_000, "REGISTERED");
    const bindings = (await kam.ulDump()).filter((b) => b.aor === "alice");
    assert.strictEqual(bindings.filter((b) => b.contact.includes("nr-redeploy@")).length, 1, JSON.stringify(bindings.map((b) => b.contact)));
    assert.strictEqual(bindings.length, 1, "and nothing else left behind by earlier tests");
    await last.phone.stop();
    running.pop();
    assert.ok(handles() <= baseline, `open handles: ${handles()} vs ${baseline} after the second deploy`);
  });
});

describe("registrars that behave differently", function () {
  this.timeout(60_000);

  it("a registrar that rewrites the Contact (like Asterisk rewrite_contact): the 200 OK is still ours", async () => {
    const kam = await startKamailio({ users: { alice: "secret" }, rewriteContact: true });
    // The relay changes our source port, so the registrar sees a NAT and rewrites the Contact.
    const relay = await createLossyRelay({ targetPort: kam.ports.udp });
    const w = watch({ server: "127.0.0.1", port: relay.port, username: "alice", password: "secret", expires: 60 });
    try {
      await w.phone.start();
      await waitFor(() => registered(w), 10_000, "REGISTERED");
      const [b] = await kam.ulDump();
      const ourPort = w.phone.transport.local!.port;
      assert.ok(!b.contact.includes(`:${ourPort}`), `the registrar rewrote the contact (${b.contact}, our port ${ourPort})`);
      assert.deepStrictEqual(
        w.states.map((s) => s.state),
        ["REGISTERING", "REGISTERED"],
      );
      await w.phone.stop();
    } finally {
      await w.phone.stop();
      await relay.close();
      await kam.stop();
    }
  });

  it("a registrar that asks for SHA-256 digest: FAILED with a reason that says so", async () => {
    const kam = await startKamailio({ users: { alice: "secret" }, algorithm: "SHA-256" });
    const w = watch({ server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" });
    try {
      await w.phone.start();
      await waitFor(() => w.states.some((s) => s.state === "FAILED"), 10_000, "FAILED");
      assert.match(w.states.find((s) => s.state === "FAILED")!.reason ?? "", /401 .*SHA-256 not supported, only MD5/);
    } finally {
      await w.phone.stop();
      await kam.stop();
    }
  });
});
