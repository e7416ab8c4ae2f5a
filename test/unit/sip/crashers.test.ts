// Regression tests for the inputs helper "fuzz" found to kill the process (briefs/crashers.md):
// each is fed to a started Phone (real sip.js user agent) through its transport's receive path.
import assert from "assert";
import dgram from "dgram";
import { Phone } from "../../../src/phone/phone";
import type { Endpoint } from "../../../src/sip/endpoint";

// seed 1001 #6940: an INVITE whose Content-Type was dropped; sip.js threw "Content disposition undefined."
// from inside Invitation.progress() (synchronously, up through the socket handler).
const NO_CONTENT_TYPE_INVITE = Buffer.from(
  "SU5WSVRFIHNpcDpjYXJvbEAxMjcuMC4wLjE6MTI3OTEgU0lQLzIuMA0KdjogU0lQLzIuMC9UQ1AgMTI3LjAuMC4xOjEyNzkxO2JyYW5jaD16OWhHNGJLZnoyYjgxZDE0MGU4YzA2OTkyO3Jwb3J0DQpNYXgtRm9yd2FyZHM6IDcwDQpmOiAiRnV6eiIgPHNpcDowMDQ5MzAxMjM0NTY3QDEyNy4wLjAuMToxMjc5MT47dGFnPWI0N2NlYjA2MzQNCnQ6IDxzaXA6Y2Fyb2xAMTI3LjAuMC4xOjEyNzkxPg0KaTogNTJjNTRiY2Q3YzczZDdjZDBkYTRAMTI3LjAuMC4xDQpDU2VxOiA1MTAwIElOVklURQ0KbTogPHNpcDpmdXp6QDEyNy4wLjAuMToxMjc5MTt0cmFuc3BvcnQ9dGNwPg0KVXNlci1BZ2VudDogZnV6eg0KQWxsb3c6IElOVktURSwgQUNLLCBDQU5DRUwsIEJZRSwgSU5GTywgUkVGRVIsIE5PXElGWSwgT1BUSU9OUw0KQ29udGVudC1MZW5ndGg6IDIzNg0KDQp2PTANCm89ZnV6eiAxNjA0NDYwODcxIDE2MDQ0NjA4NzEgSU4gSVA0IDEyNy4wLjAuMQ0Kcz0tDQpjPUlOIElQNCAxMjcuMC4wLjENCnQ9MCAwDQptPWF1ZGlvIDU3MjI1IFJUUC9BVlAgOCAwIDEwMQ0KYT1ydHBtYXA6OCBQQ01BLzgwMDANCmE9cnRwbWFwOjAgUENNVS84MDAwDQphPXJ0cG1hcDoxMDEgdGVsZXBob25lLWV2JW50LzgwMP8wDQphPWZtdHA6MTAxIDAtMTYNCmE9cHRpbWU6MjANCmE9c2VuZHJlY3YNCg==",
  "base64",
).toString("utf8");

// seed 1001 #7399 / #18799 family: a response whose CSeq sip.js cannot parse; its parser threw
// "Cannot read properties of undefined (reading 'method')".
const BAD_CSEQ_RESPONSE =
  "SIP/2.0 401 Whatever\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKfz1;rport\r\nFrom: <sip:alice@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>;tag=2\r\nCall-ID: fz-1\r\nCSeq: 1x REGISTER\r\nContent-Length: 0\r\n\r\n";

describe("fuzzer crashers (receive path regression)", () => {
  let server: dgram.Socket;
  let phone: Phone;
  const replies: string[] = [];
  let from: Endpoint;

  before(async () => {
    server = dgram.createSocket("udp4");
    server.on("message", (m) => replies.push(m.toString()));
    await new Promise<void>((r) => server.bind(0, "127.0.0.1", () => r()));
    from = { address: "127.0.0.1", port: server.address().port };
    phone = new Phone(
      { server: "127.0.0.1", port: from.port, username: "carol", password: "pw", register: false, keepAlive: 0 },
      { delegate: { onInvite: () => undefined } },
    );
    await phone.start();
  });
  after(async () => {
    await phone.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const receive = (raw: string) => (phone.transport as unknown as { receive(r: string, s: Endpoint): void }).receive(raw, from);
  const waitReply = async (re: RegExp) => {
    for (let i = 0; i < 50 && !replies.some((r) => re.test(r)); i++) await new Promise((r) => setTimeout(r, 20));
    return replies.find((r) => re.test(r));
  };

  it("an INVITE with a body but no Content-Type is answered 400, nothing thrown", async () => {
    assert.doesNotThrow(() => receive(NO_CONTENT_TYPE_INVITE));
    const reply = await waitReply(/^SIP\/2\.0 \d{3} [^\r]*\r\n[\s\S]*52c54bcd7c73d7cd0da4/);
    assert.ok(reply, `a reply: ${replies.join("\n---\n")}`);
    assert.match(reply, /^SIP\/2\.0 400 /);
  });

  it("a response with an unparsable CSeq, a status code outside 100..699, or a body without Content-Type is dropped as malformed before sip.js", () => {
    const counters = phone.transport.securityCounters;
    const before = { ...counters };
    assert.doesNotThrow(() => receive(BAD_CSEQ_RESPONSE));
    for (const code of ["099", "999", "000"]) {
      assert.doesNotThrow(() => receive(BAD_CSEQ_RESPONSE.replace("401 Whatever", `${code} Odd`).replace("1x REGISTER", "1 OPTIONS")));
    }
    const bodyNoType = BAD_CSEQ_RESPONSE.replace("401 Whatever", "200 OK")
      .replace("1x REGISTER", "1 INVITE")
      .replace("Content-Length: 0\r\n\r\n", "Content-Length: 10\r\n\r\nv=0\r\no=x\r\n");
    assert.doesNotThrow(() => receive(bodyNoType));
    assert.strictEqual(counters.malformed - before.malformed, 5);
    assert.strictEqual(counters.failures - before.failures, 0, "sip.js never saw them");
  });

  it("a request whose Request-URI sip.js cannot use (urn:uuid:…) is answered 400 (seed 1001 #63608)", async () => {
    const bye = [
      "BYE urn:uuid:00000000-0000-0000-0000-000000000000 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.0.1:10474;branch=z9hG4bKfz82ff63edcf72fc79;rport",
      "Max-Forwards: 70",
      'From: "Fuzz" <sip:anonymous@127.0.0.1:10474>;tag=69e0b6b52e',
      "To: <sip:dave@127.0.0.1:10474>;tag=qn507gjlbh",
      "Call-ID: f065fdbd4c8fc6ddd1a3@127.0.0.1",
      "CSeq: 4940 BYE",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    const failuresBefore = phone.transport.securityCounters.failures;
    assert.doesNotThrow(() => receive(bye));
    const reply = await waitReply(/f065fdbd4c8fc6ddd1a3/);
    assert.match(reply ?? "", /^SIP\/2\.0 400 /);
    assert.strictEqual(phone.transport.securityCounters.failures, failuresBefore, "sip.js never threw");
  });
});
