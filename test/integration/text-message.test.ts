// Text messages (SIP MESSAGE, RFC 3428) from a Node-RED flow, through Kamailio, to and from
// baresip; and what the receive path refuses: strangers, floods, other types, oversized text.
import assert from "assert";
import crypto from "crypto";
import dgram from "dgram";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { waitFor, sleep } from "../support/wait";
import { Softphone } from "../../src/softphone";
import { MAX_TEXT_MESSAGE_BYTES } from "../../src/call/text-message";
import type { Speaker } from "../../src/call/call-manager";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  statusCode?: number;
  reason?: string;
  to?: unknown;
  from?: { number: string; name: string; uri: string };
  call?: unknown;
}

interface Peer {
  readonly address: string;
  readonly port: number;
  readonly received: string[];
  send(raw: string, port: number): Promise<void>;
  close(): Promise<void>;
}

/** A raw UDP SIP peer on a loopback address (127.0.0.x). */
async function udpPeer(address: string): Promise<Peer> {
  const sock = dgram.createSocket("udp4");
  const received: string[] = [];
  sock.on("message", (m) => received.push(m.toString()));
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, address, () => resolve());
  });
  return {
    address,
    port: sock.address().port,
    received,
    send: (raw, port) => new Promise((r) => sock.send(raw, port, "127.0.0.1", () => r())),
    close: () => new Promise((r) => sock.close(() => r())),
  };
}

const rand = () => crypto.randomBytes(6).toString("hex");
const statusOf = (m: string) => Number(/^SIP\/2\.0 (\d{3})/.exec(m)?.[1]);

/** An out-of-dialog MESSAGE from `peer` to `ruri`. */
function messageText(peer: Peer, ruri: string, callId: string, contentType: string, body: string): string {
  return [
    `MESSAGE ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${peer.address}:${peer.port};branch=z9hG4bK${rand()};rport`,
    "Max-Forwards: 70",
    `From: "Raw Peer" <sip:raw@${peer.address}>;tag=${rand()}`,
    "To: <sip:alice@127.0.0.1>",
    `Call-ID: ${callId}`,
    "CSeq: 1 MESSAGE",
    `Content-Type: ${contentType}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    body,
  ].join("\r\n");
}

const answerTo = (p: Peer, callId: string) => p.received.find((m) => m.startsWith("SIP/2.0") && m.includes(callId) && statusOf(m) >= 200);

/** Speech is never used here. */
const noSpeech = {} as Speaker;

describe("text messages (SIP MESSAGE)", function () {
  this.timeout(40_000);
  let kam: Kamailio;
  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
  });
  after(async () => {
    await kam?.stop();
  });

  describe("from a Node-RED flow", () => {
    let bob: Baresip;
    let got: Msg[];
    const errors: string[] = [];
    before(async () => {
      // bob's address book holds alice: its "message" command writes to her.
      bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, contacts: [kam.uri("alice")], sipTrace: true });
      await bob.waitRegistered();
    });
    after(async () => {
      await bob?.stop();
    });
    beforeEach(async () => {
      await startRed();
      await helper.load(
        [sipClient, sipCall],
        [
          { id: "acct", type: "sip-client", server: "127.0.0.1", port: String(kam.ports.udp), transport: "udp", username: "alice", expires: "60" },
          { id: "call", type: "sip-call", client: "acct", wires: [["out"]] },
          { id: "out", type: "helper" },
        ],
        { acct: { password: "secret" } },
      );
      got = [];
      errors.length = 0;
      helper.getNode("out").on("input", (m: Msg) => got.push(m));
      const call = helper.getNode("call");
      const origError = call.error.bind(call);
      call.error = (e: unknown, msg?: unknown) => {
        errors.push(String((e as Error)?.message ?? e));
        return origError(e, msg);
      };
      await waitFor(() => got.some((m) => m.payload === "REGISTERED"), 10_000, "REGISTERED");
    });
    afterEach(async () => {
      await stopRed();
    });

    it("sends a text to baresip: it arrives as text/plain UTF-8, and message-status says delivered", async () => {
      const text = "The garage door is open — Tür offen ✓";
      helper.getNode("call").receive({ topic: "message", payload: text, to: "bob" });
      await waitFor(() => got.some((m) => m.topic === "message-status"), 10_000, "message-status");
      const status = got.find((m) => m.topic === "message-status")!;
      assert.strictEqual(status.payload, "delivered");
      assert.strictEqual(status.statusCode, 200);
      assert.match(String(status.to), /^sip:bob@127\.0\.0\.1/);
      await waitFor(() => bob.receivedMessages().some((m) => m.text === text), 5000, "baresip to receive the text");
      const m = bob.receivedMessages().find((x) => x.text === text)!;
      assert.match(m.contentType, /^text\/plain; charset=UTF-8$/i);
      assert.match(m.from, /sip:alice@/);
      assert.deepStrictEqual(errors, []);
    });

    it("a text nobody can take: message-status failed with the SIP status, and the input fails", async () => {
      helper.getNode("call").receive({ topic: "message", payload: "hello?", to: "sip:nobody@127.0.0.1:" + kam.ports.udp });
      await waitFor(() => got.some((m) => m.topic === "message-status"), 10_000, "message-status");
      const status = got.find((m) => m.topic === "message-status")!;
      assert.strictEqual(status.payload, "failed");
      assert.strictEqual(status.statusCode, 404);
      await waitFor(() => errors.length > 0, 5000, "done(err)");
      assert.match(errors[0], /not delivered: 404/);
    });

    it("refuses bad input with a clear error, and too long a text before sending", async () => {
      const call = helper.getNode("call");
      call.receive({ topic: "message", payload: "hi" });
      call.receive({ topic: "message", payload: "", to: "bob" });
      call.receive({ topic: "message", payload: "x".repeat(MAX_TEXT_MESSAGE_BYTES + 1), to: "bob" });
      await waitFor(() => errors.length >= 3, 5000, "three errors");
      assert.match(errors[0], /msg\.to must be a number or a SIP URI/);
      assert.match(errors[1], /msg\.payload must be the text to send/);
      assert.match(errors[2], new RegExp(`more than ${MAX_TEXT_MESSAGE_BYTES}`));
      assert.ok(!got.some((m) => m.topic === "message-status"), "nothing was sent");
    });

    it("baresip sends a text: the flow gets topic message with the text and the sender", async () => {
      await bob.sendMessage("Hi Alice, I am at the door");
      await waitFor(() => got.some((m) => m.topic === "message"), 10_000, "a message on the output");
      const m = got.find((x) => x.topic === "message")!;
      assert.strictEqual(m.payload, "Hi Alice, I am at the door");
      assert.strictEqual(m.from?.number, "bob");
      assert.match(String(m.from?.uri), /^sip:bob@127\.0\.0\.1/);
      assert.strictEqual((m.to as { number: string }).number, "alice");
      assert.strictEqual(m.call, undefined, "not inside a call");
    });
  });

  describe("the receive path (raw peers)", () => {
    let phone: Softphone;
    const texts: string[] = [];
    const peers: Peer[] = [];
    const start = async (extra: Partial<ConstructorParameters<typeof Softphone>[0]["account"]> = {}, listen = true) => {
      phone = new Softphone({
        account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret", ...extra },
        speech: noSpeech,
      });
      if (listen) phone.on("message", (m) => texts.push(m.text));
      await phone.start();
      await waitFor(() => phone.registrationState === "REGISTERED", 10_000, "REGISTERED");
    };
    const peer = async (address: string) => {
      const p = await udpPeer(address);
      peers.push(p);
      return p;
    };
    const aliceAtKamailio = () => `sip:alice@127.0.0.1:${kam.ports.udp}`;
    afterEach(async () => {
      await phone?.stop();
      for (const p of peers.splice(0)) await p.close();
      texts.length = 0;
    });

    it("a stranger's MESSAGE sent straight to us (127.0.0.2) is dropped without an answer", async () => {
      await start();
      const stranger = await peer("127.0.0.2");
      const id = rand();
      await stranger.send(
        messageText(stranger, `sip:alice@127.0.0.1:${phone.phone.transport.local!.port}`, id, "text/plain", "let me in"),
        phone.phone.transport.local!.port,
      );
      await sleep(800);
      assert.deepStrictEqual(texts, []);
      assert.strictEqual(answerTo(stranger, id), undefined, "no answer to a stranger");
      assert.ok(phone.phone.transport.securityCounters.untrusted >= 1);
      // The same text through the registrar is delivered (the test above is not vacuous).
      const viaKamailio = await peer("127.0.0.3");
      const id2 = rand();
      await viaKamailio.send(messageText(viaKamailio, aliceAtKamailio(), id2, "text/plain; charset=utf-8", "let me in"), kam.ports.udp);
      await waitFor(() => answerTo(viaKamailio, id2) !== undefined, 5000, "an answer through Kamailio");
      assert.strictEqual(statusOf(answerTo(viaKamailio, id2)!), 200);
      assert.deepStrictEqual(texts, ["let me in"]);
    });

    it("through the registrar: another type is 415, an oversized text 413, control characters removed", async () => {
      await start();
      const p = await peer("127.0.0.3");
      const json = rand();
      const big = rand();
      const ctl = rand();
      await p.send(messageText(p, aliceAtKamailio(), json, "application/json", '{"open":true}'), kam.ports.udp);
      await p.send(messageText(p, aliceAtKamailio(), big, "text/plain", "é".repeat(MAX_TEXT_MESSAGE_BYTES / 2 + 1)), kam.ports.udp);
      await p.send(messageText(p, aliceAtKamailio(), ctl, "text/plain", "bell\u0007 esc\u001b[31m red\nline 2"), kam.ports.udp);
      await waitFor(() => [json, big, ctl].every((id) => answerTo(p, id)), 5000, "three answers");
      assert.strictEqual(statusOf(answerTo(p, json)!), 415);
      assert.match(answerTo(p, json)!, /^Accept: text\/plain/im);
      assert.strictEqual(statusOf(answerTo(p, big)!), 413);
      assert.strictEqual(statusOf(answerTo(p, ctl)!), 200);
      assert.deepStrictEqual(texts, ["bell esc[31m red\nline 2"]);
    });

    it("no one takes text messages (no sip-call listening): 480", async () => {
      await start({}, false);
      const p = await peer("127.0.0.3");
      const id = rand();
      await p.send(messageText(p, aliceAtKamailio(), id, "text/plain", "anyone?"), kam.ports.udp);
      await waitFor(() => answerTo(p, id) !== undefined, 5000, "an answer");
      assert.strictEqual(statusOf(answerTo(p, id)!), 480);
    });

    it("a MESSAGE inside a call is delivered with the call", async () => {
      const calls: Array<{ id: string; state: string }> = [];
      const withCall: Array<{ text: string; callId?: string }> = [];
      await start();
      phone.on("message", (m) => withCall.push({ text: m.text, callId: m.call?.id }));
      phone.on("call", (state, call) => calls.push({ id: call.id, state }));
      phone.calls.setInboundPolicy({ autoAnswer: true });
      const caller = await peer("127.0.0.3");
      const callId = `${rand()}@127.0.0.3`;
      const fromTag = rand();
      const head = (method: string, cseq: number, extra: string[]) => [
        `${method} ${extra.length ? contact : aliceAtKamailio()} SIP/2.0`,
        `Via: SIP/2.0/UDP ${caller.address}:${caller.port};branch=z9hG4bK${rand()};rport`,
        "Max-Forwards: 70",
        `From: <sip:dave@${caller.address}>;tag=${fromTag}`,
        `To: <sip:alice@127.0.0.1>${toTag ? `;tag=${toTag}` : ""}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
        ...extra,
      ];
      let contact = "";
      let toTag = "";
      const sdp = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.3",
        "s=-",
        "c=IN IP4 127.0.0.3",
        "t=0 0",
        "m=audio 40000 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "",
      ].join("\r\n");
      const invite = [
        ...head("INVITE", 1, []),
        `Contact: <sip:dave@${caller.address}:${caller.port}>`,
        "Content-Type: application/sdp",
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        "",
        sdp,
      ].join("\r\n");
      await caller.send(invite, kam.ports.udp);
      const ok = () => caller.received.find((m) => statusOf(m) === 200 && m.includes(callId) && /CSeq: 1 INVITE/.test(m));
      await waitFor(() => !!ok(), 10_000, "200 OK to the INVITE");
      const header = (m: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(m)?.[1]?.trim() ?? "";
      toTag = /;tag=([^;\s>]+)/.exec(header(ok()!, "To"))![1];
      contact = /<([^>]+)>/.exec(header(ok()!, "Contact"))![1];
      const routes = ok()!
        .split("\r\n")
        .filter((l) => /^Record-Route:/i.test(l))
        .map((l) => l.replace(/^Record-Route:/i, "Route:"));
      await caller.send([...head("ACK", 1, routes), "Content-Length: 0", "", ""].join("\r\n"), kam.ports.udp);
      await waitFor(() => calls.some((c) => c.state === "ANSWERED"), 5000, "ANSWERED");
      const text = "Are you there?";
      await caller.send(
        [...head("MESSAGE", 2, routes), "Content-Type: text/plain", `Content-Length: ${Buffer.byteLength(text)}`, "", text].join("\r\n"),
        kam.ports.udp,
      );
      await waitFor(() => withCall.length > 0, 5000, "the in-call message");
      assert.deepStrictEqual(withCall, [{ text, callId: calls[0].id }]);
      const answer = () => caller.received.find((m) => m.includes(callId) && /CSeq: 2 MESSAGE/.test(m));
      await waitFor(() => !!answer(), 5000, "the answer to the MESSAGE");
      assert.strictEqual(statusOf(answer()!), 200);
    });

    it("a flood of MESSAGEs from a trusted network is rate limited like INVITEs (503 + Retry-After)", async () => {
      await start({ acceptFrom: "networks", trustedNetworks: ["127.0.0.4/32"] });
      const p = await peer("127.0.0.4");
      const port = phone.phone.transport.local!.port;
      const ids = Array.from({ length: 8 }, () => rand());
      for (const id of ids) await p.send(messageText(p, `sip:alice@127.0.0.1:${port}`, id, "text/plain", "spam"), port);
      await waitFor(() => ids.every((id) => answerTo(p, id)), 5000, "eight answers");
      const codes = ids.map((id) => statusOf(answerTo(p, id)!));
      assert.deepStrictEqual(codes.slice(0, 5), [200, 200, 200, 200, 200], `codes ${codes.join(",")}`);
      assert.ok(
        codes.slice(5).every((c) => c === 503),
        `over the burst: 503 (${codes.join(",")})`,
      );
      assert.match(answerTo(p, ids[7])!, /^Retry-After: \d+/im);
      assert.strictEqual(texts.length, 5);
      assert.ok(phone.phone.transport.securityCounters.throttled >= 3);
    });
  });
});
