import * as assert from "assert";
import { runDoctor, type DoctorInput } from "../../../src/doctor/doctor";
import type { ProbeResult, ProbeTarget } from "../../../src/doctor/sip-probe";
import { DOCTOR_TEXTS, doctorLanguage, findingKey } from "../../../src/doctor/texts";
import type { DnsClient } from "../../../src/sip/server-location";

const noDns: DnsClient = {
  naptr: () => Promise.resolve([]),
  srv: () => Promise.resolve([]),
  addresses: () => Promise.resolve([]),
};

function input(over: Partial<DoctorInput> = {}): DoctorInput {
  return {
    server: "192.0.2.10",
    port: 5060,
    transport: "udp",
    username: "620",
    keepAlive: 25,
    expires: 600,
    registration: { state: "REGISTERED", detail: { expires: 600 } },
    realms: ["fritz.box"],
    sdpAddress: "192.168.178.20",
    codecs: ["PCMA", "PCMU", "telephone-event"],
    ...over,
  };
}

const answer =
  (r: Partial<ProbeResult>) =>
  (t: ProbeTarget): Promise<ProbeResult> =>
    Promise.resolve({
      transport: t.transport,
      address: t.address,
      port: t.port,
      answered: true,
      rttMs: 12,
      statusCode: 200,
      local: { address: "192.168.178.20", port: 40000 },
      ...r,
    });

describe("doctor/doctor", () => {
  it("behind a NAT with a private SDP address: NAT and SDP address warn, with the fix", async () => {
    const r = await runDoctor(input(), { probe: answer({ seenAs: { address: "203.0.113.7", port: 61000 } }), dns: noDns });
    const nat = r.findings.find((f) => f.id === "nat")!;
    assert.strictEqual(nat.level, "warn");
    assert.strictEqual(nat.facts.seen, "203.0.113.7:61000");
    assert.strictEqual(r.findings.find((f) => f.id === "sdp-address")!.level, "warn");
    assert.strictEqual(r.findings.find((f) => f.id === "keepalive")!.level, "ok");
    assert.strictEqual(r.level, "warn");
    assert.match(r.text, /\[Warning\] The audio address in our SDP \(192\.168\.178\.20\) is private/);
    assert.match(r.text, /Fix: Let the PBX send audio back/);
  });

  it("keep-alive off or too long behind a NAT warns; without a NAT it is only information", async () => {
    const nat = answer({ seenAs: { address: "203.0.113.7", port: 61000 } });
    for (const keepAlive of [0, 60]) {
      const r = await runDoctor(input({ keepAlive }), { probe: nat, dns: noDns });
      assert.strictEqual(r.findings.find((f) => f.id === "keepalive")!.level, "warn", `keepAlive ${keepAlive}`);
    }
    const r = await runDoctor(input({ keepAlive: 0 }), { probe: answer({ seenAs: { address: "192.168.178.20", port: 40000 } }), dns: noDns });
    assert.strictEqual(r.findings.find((f) => f.id === "keepalive")!.level, "info");
    assert.strictEqual(r.level, "ok", "information alone is no problem");
  });

  it("codecs: none in common fails; no telephone-event warns; INFO missing from Allow warns", async () => {
    let r = await runDoctor(input(), { probe: answer({ sdpCodecs: ["G729", "telephone-event"], allow: ["INVITE", "ACK", "BYE"] }), dns: noDns });
    assert.strictEqual(r.findings.find((f) => f.id === "codecs")!.level, "fail");
    assert.strictEqual(r.findings.find((f) => f.id === "methods")!.level, "warn");
    assert.strictEqual(r.level, "fail");
    r = await runDoctor(input(), { probe: answer({ sdpCodecs: ["PCMA"], allow: ["INVITE", "INFO", "MESSAGE"] }), dns: noDns });
    const c = r.findings.find((f) => f.id === "codecs")!;
    assert.strictEqual(c.level, "warn");
    assert.strictEqual(c.facts.common, "PCMA");
    assert.strictEqual(r.findings.find((f) => f.id === "methods")!.level, "ok");
  });

  it("registration: 403 fails the credentials, 503 only warns, switched off is information, a short expiry warns", async () => {
    const probe = answer({});
    const cred = async (over: Partial<DoctorInput>) =>
      (await runDoctor(input(over), { probe, dns: noDns })).findings.find((f) => f.id === "credentials")!;
    assert.strictEqual((await cred({ registration: { state: "FAILED", detail: { statusCode: 403, reason: "403 Forbidden" } } })).level, "fail");
    assert.strictEqual((await cred({ registration: { state: "FAILED", detail: { statusCode: 503, reason: "503" } } })).level, "warn");
    assert.strictEqual((await cred({ register: false, registration: { state: "INACTIVE", detail: {} } })).level, "info");
    const r = await runDoctor(input({ registration: { state: "REGISTERED", detail: { expires: 30 } } }), { probe, dns: noDns });
    assert.strictEqual(r.findings.find((f) => f.id === "expiry")!.level, "warn");
  });

  it("a name that does not resolve fails the DNS finding and probes nothing", async () => {
    let probed = 0;
    const r = await runDoctor(input({ server: "pbx.invalid" }), {
      probe: (t) => {
        probed++;
        return answer({})(t);
      },
      dns: noDns,
    });
    assert.strictEqual(r.findings[0].id, "dns");
    assert.strictEqual(r.findings[0].level, "fail");
    assert.strictEqual(probed, 0);
  });

  it("WebSocket accounts are not probed; the registration is still judged", async () => {
    const r = await runDoctor(input({ transport: "wss" }), { probe: () => assert.fail("no probe"), dns: noDns });
    assert.strictEqual(r.findings.find((f) => f.id === "transport")!.level, "info");
    assert.ok(r.findings.some((f) => f.id === "credentials"));
  });
});

describe("doctor/texts", () => {
  it("every sentence exists in en, fr and de with the same placeholders", () => {
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, [text, fix]] of Object.entries(DOCTOR_TEXTS.en)) {
      for (const lang of ["fr", "de"] as const) {
        const other = DOCTOR_TEXTS[lang][key];
        assert.ok(other, `${lang} has ${key}`);
        assert.deepStrictEqual(holes(other[0]), holes(text), `${lang} ${key}`);
        assert.strictEqual(!!other[1], !!fix, `${lang} ${key} fix`);
        if (fix) assert.deepStrictEqual(holes(other[1]!), holes(fix), `${lang} ${key} fix`);
      }
    }
    assert.deepStrictEqual(Object.keys(DOCTOR_TEXTS.fr).sort(), Object.keys(DOCTOR_TEXTS.en).sort());
    assert.deepStrictEqual(Object.keys(DOCTOR_TEXTS.de).sort(), Object.keys(DOCTOR_TEXTS.en).sort());
  });

  it("every finding a run can produce has its sentence, and every warning or failure a fix", () => {
    const levels = { dns: ["ok", "fail"], transport: ["ok", "fail", "info"], "other-transports": ["info"], nat: ["ok", "warn", "info"] } as const;
    const keys = [
      ...Object.entries(levels).flatMap(([id, ls]) => ls.map((level) => findingKey({ id: id as "dns", level, facts: {} }))),
      findingKey({ id: "dns", level: "ok", facts: { literal: true } }),
      findingKey({ id: "dns", level: "ok", facts: { srv: "_sip._udp.x" } }),
      findingKey({ id: "nat", level: "warn", facts: { portOnly: true } }),
      findingKey({ id: "credentials", level: "info", facts: { off: true } }),
      ...["sdp-address.ok", "sdp-address.warn", "keepalive.ok", "keepalive.warn", "keepalive.info"],
      ...["credentials.ok", "credentials.fail", "credentials.warn", "credentials.info", "expiry.ok", "expiry.info", "expiry.warn"],
      ...["methods.ok", "methods.warn", "methods.info", "codecs.ok", "codecs.warn", "codecs.fail", "codecs.info"],
      // the test call
      ...[{ self: true }, {}].map((facts) => findingKey({ id: "test-call", level: "ok", facts })),
      ...[{ timeout: true }, {}].map((facts) => findingKey({ id: "test-call", level: "fail", facts })),
      findingKey({ id: "test-call", level: "warn", facts: { busy: true } }),
      findingKey({ id: "test-call", level: "info", facts: { skipped: true } }),
      ...(["ok", "fail"] as const).flatMap((level) => [{ echo: true }, {}].map((facts) => findingKey({ id: "audio", level, facts }))),
      ...[{ out: true }, { back: true }].map((facts) => findingKey({ id: "audio", level: "warn", facts })),
      ...(["ok", "warn", "info"] as const).map((level) => findingKey({ id: "round-trip", level, facts: {} })),
      ...(["rfc4733", "info", "inband"] as const).flatMap((method) =>
        (["ok", "warn", "fail"] as const).map((level) => findingKey({ id: `dtmf-${method}`, level, facts: { method } })),
      ),
      findingKey({ id: "dtmf-info", level: "info", facts: { method: "info", off: true } }),
      ...(["ok", "info"] as const).map((level) => findingKey({ id: "dtmf-inband", level, facts: { method: "inband", echo: true } })),
    ];
    for (const k of keys) {
      const e = DOCTOR_TEXTS.en[k];
      assert.ok(e, k);
      if (/\.(warn|fail)/.test(k)) assert.ok(e[1], `${k} has a fix`);
    }
  });

  it("maps editor and message languages to en, fr or de", () => {
    assert.strictEqual(doctorLanguage("de-DE"), "de");
    assert.strictEqual(doctorLanguage("fr"), "fr");
    assert.strictEqual(doctorLanguage("es-ES"), "en");
    assert.strictEqual(doctorLanguage(undefined), "en");
  });
});
