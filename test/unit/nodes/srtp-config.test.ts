// The sip-client's SRTP fields → AccountOptions (issue 10 item 1).
import assert from "node:assert/strict";
import { accountFromConfig, srtpModeFromConfig, type SipClientConfig } from "../../../nodes/sip-client/config.js";

describe("sip-client config: SRTP", () => {
  const base: SipClientConfig = { id: "n1", server: "pbx.example.com", username: "620", transport: "tls" };

  it("old flows without the fields: off, keys only over TLS", () => {
    const a = accountFromConfig(base, {});
    assert.equal(a.srtp, "off");
    assert.equal(a.srtpOverInsecure, false);
  });

  it("maps the three modes and the checkbox; refuses an unknown mode instead of guessing", () => {
    for (const m of ["off", "optional", "mandatory"] as const) assert.equal(accountFromConfig({ ...base, srtp: m }, {}).srtp, m);
    assert.equal(accountFromConfig({ ...base, srtpOverInsecure: true }, {}).srtpOverInsecure, true);
    assert.throws(() => srtpModeFromConfig({ srtp: "always" }), /unknown value "always"/);
  });
});
