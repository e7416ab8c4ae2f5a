// sip-client editor properties → core options: the safe defaults for old flows, and clear
// errors (that never quote a key) for settings the core cannot use.
import assert from "assert";
import crypto from "crypto";
import {
  accountFromConfig,
  codecOrderFromConfig,
  dtmfMethodsFromConfig,
  normalizePem,
  rtpSecurityFromConfig,
  SipClientConfig,
  splitNetworks,
} from "../../../nodes/sip-client/config";

const base: SipClientConfig = { id: "abc.123", server: "pbx.example", username: "620" };
const KEY = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const KEY_BODY = KEY.split("\n")
  .filter((l) => l && !l.startsWith("-----"))
  .join("");
// Any well-formed PEM certificate block is enough here: config.ts checks the form, OpenSSL the content.
const CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0aW5nMAoGCCqGSM49BAMC\n-----END CERTIFICATE-----\n";

describe("sip-client config → AccountOptions (security settings)", () => {
  it("an old flow without the new properties gets the safe defaults", () => {
    const a = accountFromConfig(base, { password: "pw" });
    assert.strictEqual(a.acceptFrom, "registrar");
    assert.strictEqual(a.trustedNetworks, undefined);
    assert.strictEqual(a.authRealm, undefined);
    assert.strictEqual(a.tlsRejectUnauthorized, true);
    assert.strictEqual(a.tlsCa, undefined);
    assert.strictEqual(a.tlsCert, undefined);
    assert.strictEqual(a.tlsKey, undefined);
    assert.strictEqual(rtpSecurityFromConfig(base), "latch");
  });

  it("maps every security property", () => {
    const a = accountFromConfig(
      {
        ...base,
        acceptFrom: "networks",
        trustedNetworks: " 192.168.1.0/24,10.0.0.7\nfd00::/8 ;; ",
        authRealm: " pbx.example ",
        tlsCa: CERT,
        tlsCert: CERT,
      },
      { password: "pw", tlsKey: KEY },
    );
    assert.strictEqual(a.acceptFrom, "networks");
    assert.deepStrictEqual(a.trustedNetworks, ["192.168.1.0/24", "10.0.0.7", "fd00::/8"]);
    assert.strictEqual(a.authRealm, "pbx.example");
    assert.strictEqual(a.tlsCa, CERT);
    assert.strictEqual(a.tlsCert, CERT);
    assert.strictEqual(a.tlsKey, KEY);
    assert.strictEqual(accountFromConfig({ ...base, acceptFrom: "anyone" }, {}).acceptFrom, "anyone");
    assert.strictEqual(rtpSecurityFromConfig({ rtpSecurity: "strict" }), "strict");
    assert.strictEqual(rtpSecurityFromConfig({ rtpSecurity: "bogus" }), "latch");
  });

  it("codec order: the caller's unless set to mine (issue 9)", () => {
    assert.strictEqual(codecOrderFromConfig({}), "caller", "a node saved before the setting existed");
    assert.strictEqual(codecOrderFromConfig({ codecOrder: "caller" }), "caller");
    assert.strictEqual(codecOrderFromConfig({ codecOrder: "mine" }), "mine");
    assert.strictEqual(codecOrderFromConfig({ codecOrder: "bogus" }), "caller");
  });

  it("refuses what it cannot use, with a clear error", () => {
    assert.throws(() => accountFromConfig({ ...base, acceptFrom: "everyone" }, {}), /unknown value "everyone"/);
    assert.throws(() => accountFromConfig({ ...base, acceptFrom: "networks", trustedNetworks: " , " }, {}), /no network is listed/);
    assert.throws(() => accountFromConfig({ ...base, tlsCa: "not a certificate" }, {}), /TLS CA certificate is not in PEM format/);
    assert.throws(() => accountFromConfig({ ...base, tlsCert: CERT }, {}), /client certificate given without its key/);
    assert.throws(() => accountFromConfig(base, { tlsKey: KEY }), /client key given without its certificate/);
  });

  it("never quotes the key in an error", () => {
    const bad = KEY.replace("PRIVATE KEY", "PRIVATE KEX");
    let message = "";
    try {
      accountFromConfig({ ...base, tlsCert: CERT }, { tlsKey: bad });
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(message, /TLS client key is not in PEM format/);
    assert.ok(!message.includes(KEY_BODY.slice(0, 16)));
  });

  it("re-wraps a PEM block pasted on one line", () => {
    const oneLine = KEY.replace(/\n/g, " ");
    assert.strictEqual(normalizePem(oneLine), KEY);
    assert.doesNotThrow(() => crypto.createPrivateKey(accountFromConfig({ ...base, tlsCert: CERT }, { tlsKey: oneLine }).tlsKey as string));
    assert.deepStrictEqual(splitNetworks(""), []);
    assert.deepStrictEqual(splitNetworks(undefined), []);
  });
});

describe("sip-client config → DTMF methods", () => {
  it("receives every method unless its box is unticked, and sends rfc4733 unless another known method is chosen", () => {
    assert.deepStrictEqual(dtmfMethodsFromConfig({}), { receive: ["rfc4733", "info", "inband"], send: "rfc4733" });
    assert.deepStrictEqual(dtmfMethodsFromConfig({ dtmfInfo: false, dtmfSendMethod: "info" }), { receive: ["rfc4733", "inband"], send: "info" });
    assert.deepStrictEqual(dtmfMethodsFromConfig({ dtmfRfc4733: false, dtmfInband: false, dtmfSendMethod: "inband" }), {
      receive: ["info"],
      send: "inband",
    });
    assert.deepStrictEqual(dtmfMethodsFromConfig({ dtmfSendMethod: "carrier-pigeon" }).send, "rfc4733");
  });
});
