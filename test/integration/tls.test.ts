// TLS done properly, from the editor's properties to the wire: the server's certificate checked
// against a CA given in the config node, and mutual TLS with a client certificate + key credential.
// Real Kamailio on 127.0.0.1 (self-signed server certificate, SAN IP:127.0.0.1).
import assert from "assert";
import fs from "fs";
import { startKamailio, Kamailio } from "../support/kamailio";
import { sleep, waitFor } from "../support/wait";
import { Phone } from "../../src/phone/phone";
import { RegistrationState } from "../../src/types";
import { accountFromConfig, SipClientConfig, SipClientCredentials } from "../../nodes/sip-client/config";

interface Watched {
  phone: Phone;
  states: Array<{ state: RegistrationState; reason?: string }>;
  logs: string[];
}

describe("TLS: CA certificate and client certificate from the sip-client config", function () {
  this.timeout(120_000);
  const running: Phone[] = [];

  /** A phone built the way the config node builds it: editor properties + credentials → AccountOptions. */
  const phoneFor = (kam: Kamailio, transport: "tls" | "wss", over: Partial<SipClientConfig>, cred: SipClientCredentials = {}): Watched => {
    const config: SipClientConfig = {
      id: "tls0test0node",
      server: "127.0.0.1",
      port: transport === "tls" ? kam.ports.tls : kam.ports.wss,
      transport,
      username: "alice",
      expires: 60,
      ...over,
    };
    const phone = new Phone(accountFromConfig(config, { password: "secret", ...cred }), { logSip: true });
    const w: Watched = { phone, states: [], logs: [] };
    phone.on("registration", (state, d) => w.states.push({ state, reason: d.reason }));
    phone.on("log", (level, text) => w.logs.push(`${level}: ${text}`));
    phone.on("sip", (dir, text) => w.logs.push(`sip ${dir}: ${text}`));
    running.push(phone);
    return w;
  };
  const registered = (w: Watched) => w.phone.registrationState === "REGISTERED";
  const failed = (w: Watched) => w.states.find((s) => s.state === "FAILED");

  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop(1000)));
  });

  describe("server certificate verification", () => {
    let kam: Kamailio;
    before(async () => {
      kam = await startKamailio({ users: { alice: "secret" } });
    });
    after(async () => {
      await kam?.stop();
    });

    for (const transport of ["tls", "wss"] as const) {
      it(`${transport.toUpperCase()}: verification on + the server's certificate as tlsCa registers`, async () => {
        const w = phoneFor(kam, transport, { tlsRejectUnauthorized: true, tlsCa: fs.readFileSync(kam.certPath, "utf8") });
        await w.phone.start();
        await waitFor(() => registered(w) || !!failed(w), 15_000, "REGISTERED or FAILED");
        assert.ok(registered(w), `expected REGISTERED, got ${JSON.stringify(w.states)}`);
        assert.deepStrictEqual(
          w.states.map((s) => s.state),
          ["REGISTERING", "REGISTERED"],
        );
      });

      it(`${transport.toUpperCase()}: verification on without tlsCa fails with a reason naming the certificate`, async () => {
        const w = phoneFor(kam, transport, { tlsRejectUnauthorized: true });
        await w.phone.start();
        await waitFor(() => !!failed(w), 15_000, "FAILED");
        assert.match(failed(w)!.reason ?? "", /TLS server certificate not trusted: self-signed certificate/);
        assert.ok(!registered(w));
      });
    }
  });

  describe("mutual TLS (Kamailio requires a client certificate from its test CA)", () => {
    let kam: Kamailio;
    let ca: string;
    before(async () => {
      kam = await startKamailio({ users: { alice: "secret" }, requireClientCert: true });
      ca = fs.readFileSync(kam.certPath, "utf8");
    });
    after(async () => {
      await kam?.stop();
    });
    const files = () => kam.clientCa!;

    for (const transport of ["tls", "wss"] as const) {
      it(`${transport.toUpperCase()}: registers with tlsCert + the tlsKey credential; the key never reaches a log or state`, async () => {
        const key = fs.readFileSync(files().keyPath, "utf8");
        const w = phoneFor(
          kam,
          transport,
          { tlsRejectUnauthorized: true, tlsCa: ca, tlsCert: fs.readFileSync(files().certPath, "utf8") },
          { tlsKey: key },
        );
        await w.phone.start();
        await waitFor(() => registered(w) || !!failed(w), 15_000, "REGISTERED or FAILED");
        assert.ok(registered(w), `expected REGISTERED, got ${JSON.stringify(w.states)}`);
        const keyBody = key
          .split("\n")
          .filter((l) => l && !l.startsWith("-----"))
          .join("");
        assert.ok(
          w.logs.some((l) => l.startsWith("sip out: REGISTER")),
          "SIP messages were logged",
        );
        const said = JSON.stringify(w.states) + w.logs.join("\n");
        assert.ok(!said.includes(keyBody.slice(0, 24)), "the client key appears in a log or state");
      });

      it(`${transport.toUpperCase()}: without a client certificate the registration FAILS, says why, and backs off`, async () => {
        const w = phoneFor(kam, transport, { tlsRejectUnauthorized: true, tlsCa: ca });
        await w.phone.start();
        await waitFor(() => !!failed(w), 20_000, "FAILED");
        assert.match(failed(w)!.reason ?? "", /TLS: tlsv13 alert certificate required/);
        // The server accepts the handshake and drops the connection: the retries must follow the
        // back-off (first step ≈ 2 s), not reconnect at once in a loop (hundreds per second).
        await sleep(1500);
        const attempts = w.states.filter((s) => s.state === "REGISTERING").length;
        assert.ok(attempts <= 3, `connection attempts in 1.5 s: ${attempts}`);
        assert.ok(
          w.states.every((s) => s.state !== "REGISTERED"),
          JSON.stringify(w.states.slice(0, 5)),
        );
      });
    }

    it("TLS: a client certificate not signed by the server's CA is refused", async () => {
      const w = phoneFor(
        kam,
        "tls",
        { tlsRejectUnauthorized: true, tlsCa: ca, tlsCert: fs.readFileSync(files().rogueCertPath, "utf8") },
        { tlsKey: fs.readFileSync(files().rogueKeyPath, "utf8") },
      );
      await w.phone.start();
      await waitFor(() => !!failed(w), 20_000, "FAILED");
      // The certificate was sent (else the alert would be "certificate required") and refused.
      assert.match(failed(w)!.reason ?? "", /TLS: tlsv1\d? alert (unknown ca|bad certificate|certificate unknown)/);
      assert.ok(
        w.states.every((s) => s.state !== "REGISTERED"),
        JSON.stringify(w.states),
      );
    });
  });
});
