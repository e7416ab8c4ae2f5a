// Registrar answers that sip.js's Registerer dropped without telling anyone (our state stayed
// REGISTERING for ever, no retry): since REGISTER goes through sip.js's core, each is a FAILED
// with a reason, and the normal back-off retries. SIPp plays the registrar on 127.0.0.1.
import assert from "assert";
import { startSipp } from "../support/sipp";
import { waitFor } from "../support/wait";
import { Phone } from "../../src/phone/phone";
import type { RegistrationDetail } from "../../src/phone/registration";
import type { RegistrationState } from "../../src/types";

/** A registrar that answers every REGISTER with `answer` (status line and extra headers). */
function registrar(answer: string): { xml: string } {
  return {
    xml: `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas-register-odd">
  <label id="again"/>
  <recv request="REGISTER" timeout="4000" ontimeout="done"/>
  <send next="again">
    <![CDATA[

      SIP/2.0 ${answer}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]sippReg[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <label id="done"/>
</scenario>
`,
  };
}

describe("registration: answers sip.js's Registerer dropped", function () {
  this.timeout(30_000);

  for (const [what, answer, expected] of [
    ["a 200 OK that does not list our binding", "200 OK\n      Contact: <sip:somebody-else@127.0.0.9:5060>;expires=60", /without our Contact/],
    ["a redirect", "302 Moved Temporarily\n      Contact: <sip:127.0.0.1:9>", /^302 Moved Temporarily$/],
    ["a 423 without Min-Expires", "423 Interval Too Brief", /^423 Interval Too Brief$/],
  ] as const) {
    it(`${what}: FAILED with a reason, then retried`, async () => {
      const sipp = await startSipp({ scenario: registrar(answer), timeoutMs: 20_000 });
      const states: Array<{ state: RegistrationState; detail: RegistrationDetail }> = [];
      const p = new Phone({ server: "127.0.0.1", port: sipp.port, username: "dave", password: "x", expires: 60 });
      p.on("registration", (state, detail) => states.push({ state, detail }));
      try {
        await p.start();
        await waitFor(() => states.some((s) => s.state === "FAILED"), 5_000, "FAILED");
        const failed = states.find((s) => s.state === "FAILED")!;
        assert.match(failed.detail.reason ?? "", expected);
        assert.ok((failed.detail.retryInMs ?? 0) > 0, "a retry is scheduled");
        await waitFor(() => states.filter((s) => s.state === "FAILED").length >= 2, 8_000, "retried and FAILED again");
      } finally {
        await p.stop(200);
        await sipp.stop();
      }
    });
  }

  it("a registrar that stops answering refreshes: FAILED 'registration expired' when the binding runs out", async () => {
    // One 200 that grants our own 2 s lifetime (our Contact echoed), then silence.
    const sipp = await startSipp({
      scenario: {
        xml: `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas-register-then-silence">
  <recv request="REGISTER"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]sippReg[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Contact:]
      Content-Length: 0

    ]]>
  </send>
  <label id="again"/>
  <recv request="REGISTER" timeout="4000" ontimeout="done" next="again"/>
  <label id="done"/>
</scenario>
`,
      },
      timeoutMs: 20_000,
    });
    const states: Array<{ state: RegistrationState; detail: RegistrationDetail }> = [];
    const p = new Phone({ server: "127.0.0.1", port: sipp.port, username: "dave", password: "x", expires: 2 });
    p.on("registration", (state, detail) => states.push({ state, detail }));
    try {
      await p.start();
      await waitFor(() => states.some((s) => s.state === "REGISTERED"), 5_000, "REGISTERED");
      assert.strictEqual(states.find((s) => s.state === "REGISTERED")!.detail.expires, 2);
      await waitFor(() => states.some((s) => s.state === "FAILED"), 5_000, "FAILED");
      assert.strictEqual(states.find((s) => s.state === "FAILED")!.detail.reason, "registration expired");
    } finally {
      await p.stop(200);
      await sipp.stop();
    }
  });
});
