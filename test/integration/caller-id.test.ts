// Caller ID from a flow (issue 9 item 8): a real Node-RED, a real Kamailio (the registrar,
// so trusted) and SIPp calling through it with P-Asserted-Identity, Remote-Party-ID, or an
// anonymous From with Privacy. The call messages show the asserted number and name or
// `anonymous: true`, and the greeting and filter tables' "anonymous" rows are used.
// (PAI from a stranger with acceptFrom "anyone" is removed by the transport: see
// test/unit/sip/caller-id.test.ts; SIPp here can only bind 127.0.0.1, Kamailio's address.)
import assert from "assert";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { runSipp } from "../support/sipp";
import { waitFor } from "../support/wait";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  label?: string;
  call?: {
    id: string;
    outcome?: string;
    statusCode?: number;
    from: { number: string; name: string; uri: string; anonymous?: boolean; source?: string; identityUri?: string };
  };
}

/** A UAC scenario: INVITE with `from` and extra header lines; answered (ACK, hold, BYE) or refused (ACK the final). */
function scenario(from: string, extra: string[], refused = false): { xml: string } {
  const invite = `
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: ${from};tag=[pid]cid[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
${extra.map((h) => "      " + h).join("\n")}
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1001 1 IN IP[local_ip_type] [local_ip]
      s=sipp
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 8
      a=rtpmap:0 PCMU/8000
      a=rtpmap:8 PCMA/8000
      a=ptime:20
      a=sendrecv
`;
  const answered = `
  <recv response="200" rrs="true"/>
  <send><![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      From: ${from};tag=[pid]cid[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <pause/>
  <send retrans="500"><![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      From: ${from};tag=[pid]cid[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"/>`;
  const refusal = `
  <recv response="603"/>
  <send><![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <pause milliseconds="200"/>`;
  return {
    xml: `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac-caller-id">
  <send retrans="500"><![CDATA[
${invite}
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
${refused ? refusal : answered}
</scenario>`,
  };
}

const ASSERTED = "Hello Alice, you are known here.";
const ANONYMOUS = "Please tell us who you are.";
const GENERIC = "Hello stranger.";

describe("caller ID from a flow (PAI, RPID, anonymous) through Kamailio", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  before(async () => {
    kam = await startKamailio({ users: { alice: "secret" } });
  });
  after(async () => {
    await kam?.stop();
  });
  beforeEach(startRed);
  afterEach(stopRed);

  async function load(callNode: Record<string, unknown>): Promise<Msg[]> {
    const nodes = [
      { id: "acct", type: "sip-client", server: "127.0.0.1", port: String(kam.ports.udp), transport: "udp", username: "alice", ttsLanguage: "en-US" },
      { id: "call", type: "sip-call", client: "acct", wires: [["out"]], ...callNode },
      { id: "out", type: "helper" },
    ];
    await helper.load([sipClient, sipCall], nodes, { acct: { password: "secret" } });
    const out: Msg[] = [];
    helper.getNode("out").on("input", (m: Msg) => out.push(m));
    await waitFor(() => out.some((m) => m.payload === "REGISTERED"), 10_000, "REGISTERED");
    return out;
  }

  /** SIPp calls alice through Kamailio; resolves with the messages of that call once it ENDED. */
  async function call(out: Msg[], from: string, extra: string[], refused = false): Promise<Msg[]> {
    const since = out.length;
    const r = await runSipp({
      scenario: scenario(from, extra, refused),
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "alice",
      holdMs: 4000,
      timeoutMs: 20_000,
    });
    assert.ok(r.ok, `SIPp: ${r.errors || r.output}`);
    await waitFor(() => out.slice(since).some((m) => m.payload === "ENDED"), 10_000, "ENDED");
    return out.slice(since).filter((m) => m.call);
  }

  const greeted = (msgs: Msg[]) => msgs.find((m) => m.topic === "playback" && m.payload === "started")?.label;

  it("PAI, RPID and an anonymous caller: msg.call.from and the greeting table's rows", async () => {
    const out = await load({
      greetings: [
        { number: "", message: GENERIC },
        { number: "anonymous", message: ANONYMOUS },
        { number: "+4930123", message: ASSERTED },
      ],
      afterGreeting: "stay",
    });

    const pai = await call(out, '"Forged Name" <sip:sipp@[local_ip]:[local_port]>', [
      'P-Asserted-Identity: "Alice Asserted" <sip:+4930123@127.0.0.1;user=phone>',
      'Remote-Party-ID: "Rita" <sip:+331234@127.0.0.1>;party=calling;screen=yes;privacy=off',
    ]);
    const from = pai[0].call!.from;
    assert.strictEqual(pai[0].payload, "RINGING");
    assert.deepStrictEqual(
      { number: from.number, name: from.name, anonymous: from.anonymous, source: from.source, identityUri: from.identityUri },
      { number: "+4930123", name: "Alice Asserted", anonymous: false, source: "pai", identityUri: "sip:+4930123@127.0.0.1;user=phone" },
    );
    assert.match(from.uri, /^sip:sipp@127\.0\.0\.1/, "the From stays available");
    assert.strictEqual(greeted(pai), ASSERTED, "the asserted number's greeting");

    const rpid = await call(out, "<sip:sipp@[local_ip]:[local_port]>", [
      'Remote-Party-ID: "Rita" <sip:+331234@127.0.0.1>;party=calling;screen=yes;privacy=off',
    ]);
    assert.deepStrictEqual(
      [rpid[0].call!.from.number, rpid[0].call!.from.name, rpid[0].call!.from.source, rpid[0].call!.from.anonymous],
      ["+331234", "Rita", "rpid", false],
    );
    assert.strictEqual(greeted(rpid), GENERIC);

    const anon = await call(out, '"Anonymous" <sip:anonymous@anonymous.invalid>', ["Privacy: id"]);
    assert.deepStrictEqual(
      [anon[0].call!.from.number, anon[0].call!.from.name, anon[0].call!.from.source, anon[0].call!.from.anonymous],
      ["", "", "from", true],
    );
    assert.ok(
      anon.every((m) => m.call!.from.anonymous === true),
      "every message of the call says anonymous",
    );
    assert.strictEqual(greeted(anon), ANONYMOUS, "the anonymous row is used");

    // Withheld, but asserted by the registrar: anonymous, with the asserted number (its own greeting wins).
    const withheld = await call(out, '"Anonymous" <sip:anonymous@anonymous.invalid>', ["Privacy: id", "P-Asserted-Identity: <tel:+4930123>"]);
    assert.deepStrictEqual(
      [withheld[0].call!.from.number, withheld[0].call!.from.source, withheld[0].call!.from.anonymous],
      ["+4930123", "pai", true],
    );
    assert.strictEqual(greeted(withheld), ASSERTED);
  });

  it('the filter table\'s "anonymous" row blocks anonymous callers (603) and lets a numbered caller through', async () => {
    const out = await load({ filterMode: "block", filterList: "anonymous", greetings: [{ number: "", message: GENERIC }], afterGreeting: "stay" });
    const anon = await call(out, "<sip:sipp@[local_ip]:[local_port]>", ["Privacy: header;id"], true);
    const ended = anon.find((m) => m.payload === "ENDED")!;
    assert.deepStrictEqual([ended.call!.outcome, ended.call!.statusCode, ended.call!.from.anonymous], ["rejected", 603, true]);
    const known = await call(out, "<sip:sipp@[local_ip]:[local_port]>", ["P-Asserted-Identity: <tel:+4930123>"]);
    assert.ok(
      known.some((m) => m.payload === "ANSWERED"),
      "not anonymous: answered",
    );
    assert.strictEqual(known[0].call!.from.number, "+4930123");
  });
});
