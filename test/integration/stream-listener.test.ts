// Issue 10 item 5: inbound TCP/TLS. Real peers on 127.0.0.1: Kamailio (the account's registrar, UDP),
// baresip calling our listening port straight over TCP and over TLS (it verifies our certificate).
// Raw sockets only for what no peer produces: a source on 127.0.0.2, a flood, a TLS slowloris.
import assert from "assert";
import fs from "fs";
import net from "net";
import tls from "tls";
import { startKamailio, Kamailio, makeCert } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { freePort } from "../support/ports";
import { makeTempDir } from "../support/process";
import { waitFor, sleep } from "../support/wait";
import { Softphone } from "../../src/softphone";
import { SpeechService } from "../../src/speech";
import type { AccountOptions } from "../../src/phone/account";
import type { CallInfo, CallState } from "../../src/types";
import type { Endpoint } from "../../src/sip/endpoint";
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../support/node-red-runtime";
import { MAX_INBOUND_CONNECTIONS, MAX_INBOUND_CONNECTIONS_PER_ADDRESS, TLS_HANDSHAKE_TIMEOUT_MS } from "../../src/sip/transports/stream-listener";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
/* eslint-enable @typescript-eslint/no-require-imports */
helper.init(require.resolve("node-red"));

interface Msg {
  topic?: string;
  payload?: unknown;
  call?: CallInfo;
}

interface Seen {
  state: CallState;
  call: CallInfo;
}
interface SipLine {
  dir: "in" | "out";
  text: string;
  peer: Endpoint;
}

/** Resolves "closed" when the server closes the connection before `ms`, else "open" (and closes it). */
function connectionFate(opts: { port: number; localAddress?: string; ms: number; send?: string }): Promise<"closed" | "open" | "refused"> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port: opts.port, localAddress: opts.localAddress });
    let settled = false;
    const done = (v: "closed" | "open" | "refused") => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done("open"), opts.ms);
    s.on("connect", () => {
      if (opts.send) s.write(opts.send);
    });
    s.on("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "refused" : "closed"));
    s.on("close", () => done("closed"));
  });
}

describe("inbound TCP/TLS listener (issue 10 item 5)", function () {
  this.timeout(120_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let cert: { certPath: string; keyPath: string };
  const peers: Baresip[] = [];
  const phones: Softphone[] = [];

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret" } });
    speech = new SpeechService({});
    cert = await makeCert(makeTempDir("listener-cert"));
  });
  after(async () => {
    for (const p of phones) await p.stop();
    await speech?.close();
    await kam?.stop();
  });
  afterEach(async () => {
    for (const b of peers.splice(0)) await b.stop();
  });

  async function phoneWith(account: Partial<AccountOptions>) {
    const events: Seen[] = [];
    const sip: SipLine[] = [];
    const logs: string[] = [];
    const phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret", localAddress: "127.0.0.1", ...account },
      speech,
      media: { codecs: ["PCMU", "PCMA"] },
      logSip: true,
    });
    phones.push(phone);
    phone.on("call", (state, call) => events.push({ state, call }));
    phone.on("sip", (dir, text, peer) => sip.push({ dir, text, peer }));
    phone.on("log", (level, text) => logs.push(`${level}: ${text}`));
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "alice REGISTERED");
    return { phone, events, sip, logs };
  }
  const stopPhone = async (p: Softphone) => {
    phones.splice(phones.indexOf(p), 1);
    await p.stop();
  };

  it("listening off (the default): no TCP port is open", async () => {
    const port = await freePort("tcp");
    const { phone } = await phoneWith({ listenPort: port });
    try {
      assert.deepStrictEqual(phone.phone.transport.listeningPorts, {});
      assert.strictEqual(await connectionFate({ port, ms: 1000 }), "refused");
    } finally {
      await stopPhone(phone);
    }
  });

  it("baresip calls our TCP port directly: answered; responses and BYEs on the peer's connection; a second call reuses it", async () => {
    const port = await freePort("tcp");
    const { phone, events, sip } = await phoneWith({ listen: "tcp", listenPort: port });
    try {
      assert.deepStrictEqual(phone.phone.transport.listeningPorts, { tcp: port });
      phone.calls.setInboundPolicy({ autoAnswer: true });
      const bob = await startBaresip({ user: "bob", answerMode: "auto", transport: "tcp" });
      peers.push(bob);
      for (const hungUpBy of ["remote", "local"] as const) {
        const since = events.length;
        const sipSince = sip.length;
        const mark = bob.mark();
        await bob.dial(`sip:alice@127.0.0.1:${port};transport=tcp`);
        await bob.waitEvent("CALL_ESTABLISHED", 15_000, { since: mark });
        const answered = await waitFor(() => events.slice(since).find((e) => e.state === "ANSWERED"), 10_000, "ANSWERED");
        await sleep(500);
        if (hungUpBy === "remote") await bob.hangup();
        else await phone.hangup(answered.call.id);
        await bob.waitEvent("CALL_CLOSED", 15_000, { since: mark });
        const ended = await waitFor(() => events.slice(since).find((e) => e.state === "ENDED" && e.call.id === answered.call.id), 10_000, "ENDED");
        assert.strictEqual(ended.call.hungUpBy, hungUpBy);
        const lines = sip.slice(sipSince).filter((l) => /Call-ID/i.test(l.text));
        assert.ok(lines.some((l) => l.dir === "in" && l.text.startsWith("INVITE ")));
        assert.ok(
          lines.some((l) => l.dir === "out" && l.text.startsWith("SIP/2.0 200")),
          "we answered 200",
        );
        if (hungUpBy === "local") {
          const bye = lines.find((l) => l.dir === "out" && l.text.startsWith("BYE "));
          assert.ok(bye, "we sent a BYE");
          assert.match(bye.text, /^Via: SIP\/2\.0\/TCP 127\.0\.0\.1:\d+/m, "our BYE's Via says TCP");
        } else assert.ok(lines.some((l) => l.dir === "in" && l.text.startsWith("BYE ")));
        // Our 200 (a UDP account answering over TCP) names TCP and the listening port in its Contact.
        const ok = lines.find((l) => l.dir === "out" && l.text.startsWith("SIP/2.0 200") && /CSeq:\s*\d+ INVITE/i.test(l.text))!;
        assert.match(ok.text, new RegExp(`^Contact: .*127\\.0\\.0\\.1:${port};transport=tcp`, "im"));
        // Every message of the call, both ways, went through one connection: the one baresip opened.
        if (process.env.SHOW_SIP)
          console.log(
            lines
              .map(
                (l) =>
                  `${l.dir} ${l.peer.address}:${l.peer.port} ${l.text
                    .split("\r\n")
                    .filter((h) => /^(INVITE|BYE|ACK|SIP|Via|Contact)/.test(h))
                    .join(" | ")}`,
              )
              .join("\n"),
          );
        const peersSeen = new Set(lines.map((l) => `${l.peer.address}:${l.peer.port}`));
        assert.strictEqual(peersSeen.size, 1, `one connection: ${[...peersSeen].join(", ")}`);
        assert.notStrictEqual([...peersSeen][0], `127.0.0.1:${kam.ports.udp}`, "not through the registrar");
      }
      assert.strictEqual(phone.phone.transport.listenerCounters?.accepted, 1, "the second call reused the first connection");
    } finally {
      await stopPhone(phone);
    }
  });

  it("SRTP keys are judged by the hop a call came on: a TLS account takes no a=crypto over its plain TCP listener", async () => {
    const port = await freePort("tcp");
    const { phone, events } = await phoneWith({
      transport: "tls",
      port: kam.ports.tls,
      tlsRejectUnauthorized: false,
      srtp: "optional",
      listen: "tcp",
      listenPort: port,
    });
    try {
      phone.calls.setInboundPolicy({ autoAnswer: true });
      const bob = await startBaresip({
        user: "bob",
        answerMode: "auto",
        transport: "tcp",
        accountParams: ";mediaenc=srtp",
        extraConfig: "module\t\t\tsrtp.so",
      });
      peers.push(bob);
      const mark = bob.mark();
      await bob.dial(`sip:alice@127.0.0.1:${port};transport=tcp`);
      await bob.waitEvent("CALL_ESTABLISHED", 15_000, { since: mark });
      const answered = await waitFor(() => events.find((e) => e.state === "ANSWERED"), 10_000, "ANSWERED");
      assert.strictEqual(answered.call.srtp, false, "keys offered over plain TCP are not taken, though the account uses TLS");
      await phone.hangup(answered.call.id);
      await bob.waitEvent("CALL_CLOSED", 15_000, { since: mark });
    } finally {
      await stopPhone(phone);
    }
  });

  it("a connection from 127.0.0.2 (acceptFrom registrar) is closed at accept; a flood stops at the per-address limit; the phone still takes calls", async () => {
    const port = await freePort("tcp");
    const { phone, events } = await phoneWith({ listen: "tcp", listenPort: port });
    try {
      const options = "OPTIONS sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2:5060;branch=z9hG4bKx1\r\nContent-Length: 0\r\n\r\n";
      assert.strictEqual(await connectionFate({ port, localAddress: "127.0.0.2", ms: 2000, send: options }), "closed");
      assert.strictEqual(phone.phone.transport.listenerCounters?.untrusted, 1);
      assert.strictEqual(phone.phone.transport.listenerCounters?.accepted, 0);
      // From a trusted address (the registrar's, 127.0.0.1): the first connections stay, the rest are closed.
      const flood: net.Socket[] = [];
      try {
        for (let i = 0; i < MAX_INBOUND_CONNECTIONS_PER_ADDRESS + 6; i++) {
          const s = net.connect({ host: "127.0.0.1", port });
          s.on("error", () => undefined);
          flood.push(s);
        }
        await waitFor(() => (phone.phone.transport.listenerCounters?.overLimit ?? 0) >= 6, 5000, "connections over the limit closed");
        assert.strictEqual(phone.phone.transport.listenerCounters?.accepted, MAX_INBOUND_CONNECTIONS_PER_ADDRESS);
        // The phone keeps working: a call over its registrar (UDP) is still answered.
        phone.calls.setInboundPolicy({ autoAnswer: true });
        const bob = await startBaresip({ user: "bob", answerMode: "auto" });
        peers.push(bob);
        const since = events.length;
        await bob.dial(kam.uri("alice"));
        await waitFor(() => events.slice(since).some((e) => e.state === "ANSWERED"), 15_000, "ANSWERED during the flood");
        await bob.hangup();
      } finally {
        for (const s of flood) s.destroy();
      }
    } finally {
      await stopPhone(phone);
    }
  });

  it("acceptFrom networks: a listed network may connect, an address outside it is closed at accept", async () => {
    const port = await freePort("tcp");
    const { phone } = await phoneWith({ listen: "tcp", listenPort: port, acceptFrom: "networks", trustedNetworks: ["127.0.0.2/32"] });
    try {
      assert.strictEqual(await connectionFate({ port, localAddress: "127.0.0.2", ms: 1000 }), "open");
      assert.strictEqual(await connectionFate({ port, localAddress: "127.0.0.3", ms: 1000 }), "closed");
      assert.deepStrictEqual(
        { accepted: phone.phone.transport.listenerCounters?.accepted, untrusted: phone.phone.transport.listenerCounters?.untrusted },
        { accepted: 1, untrusted: 1 },
      );
    } finally {
      await stopPhone(phone);
    }
  });

  it("an answer to a request whose connection has closed is dropped, not sent to the server (raw TCP peer)", async () => {
    const port = await freePort("tcp");
    const { phone, events, sip } = await phoneWith({ listen: "tcp", listenPort: port });
    try {
      phone.calls.setInboundPolicy({ autoAnswer: false });
      const sock = net.connect({ host: "127.0.0.1", port });
      sock.on("error", () => undefined);
      await new Promise((r) => sock.once("connect", r));
      const local = `127.0.0.1:${sock.localPort}`;
      const sdp = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=audio 40000 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "",
      ].join("\r\n");
      const invite = [
        `INVITE sip:alice@127.0.0.1:${port};transport=tcp SIP/2.0`,
        `Via: SIP/2.0/TCP ${local};branch=z9hG4bKgone${Date.now()}`,
        "Max-Forwards: 70",
        `From: <sip:raw@${local}>;tag=r1`,
        `To: <sip:alice@127.0.0.1>`,
        `Call-ID: gone-${Date.now()}@127.0.0.1`,
        "CSeq: 1 INVITE",
        `Contact: <sip:raw@${local};transport=tcp>`,
        "Content-Type: application/sdp",
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        "",
        sdp,
      ].join("\r\n");
      const got: string[] = [];
      sock.on("data", (d) => got.push(d.toString()));
      sock.write(invite);
      const ringing = await waitFor(() => events.find((e) => e.state === "RINGING"), 10_000, "RINGING");
      await waitFor(() => got.join("").includes("SIP/2.0 180"), 5000, "the 180 on the connection");
      sock.destroy();
      await sleep(300);
      const since = sip.length;
      await phone.reject(ringing.call.id, 486).catch(() => undefined);
      await sleep(1000);
      const stray = sip.slice(since).filter((l) => l.dir === "out" && l.text.startsWith("SIP/2.0 486"));
      assert.deepStrictEqual(
        stray.map((l) => `${l.peer.address}:${l.peer.port}`),
        [],
        "no 486 sent anywhere once the caller's connection was gone",
      );
      await waitFor(() => events.some((e) => e.state === "ENDED" && e.call.id === ringing.call.id), 5000, "ENDED");
    } finally {
      await stopPhone(phone);
    }
  });

  it("a peer whose Contact names no transport: our BYE still goes over its TCP connection (raw TCP peer)", async () => {
    const port = await freePort("tcp");
    const { phone, events } = await phoneWith({ listen: "tcp", listenPort: port });
    try {
      phone.calls.setInboundPolicy({ autoAnswer: true });
      const sock = net.connect({ host: "127.0.0.1", port });
      sock.on("error", () => undefined);
      await new Promise((r) => sock.once("connect", r));
      const local = `127.0.0.1:${sock.localPort}`;
      const got: string[] = [];
      sock.on("data", (d) => got.push(d.toString()));
      const sdp = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=audio 40000 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "",
      ].join("\r\n");
      const callId = `notransport-${Date.now()}@127.0.0.1`;
      const head = (method: string, cseq: number, branch: string, toTag = "") => [
        `${method} sip:alice@127.0.0.1:${port};transport=tcp SIP/2.0`,
        `Via: SIP/2.0/TCP ${local};branch=z9hG4bK${branch}`,
        "Max-Forwards: 70",
        `From: <sip:raw@${local}>;tag=r1`,
        `To: <sip:alice@127.0.0.1>${toTag}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
        `Contact: <sip:raw@${local}>`, // no ;transport=tcp
      ];
      sock.write([...head("INVITE", 1, "nt1"), "Content-Type: application/sdp", `Content-Length: ${Buffer.byteLength(sdp)}`, "", sdp].join("\r\n"));
      const ok = await waitFor(() => got.join("").match(/SIP\/2\.0 200[\s\S]*?\r\nTo:[^\r]*?(;tag=[^;\s\r]+)/), 10_000, "200 OK");
      sock.write([...head("ACK", 1, "nt2", ok[1]), "Content-Length: 0", "", ""].join("\r\n"));
      const answered = await waitFor(() => events.find((e) => e.state === "ANSWERED"), 5000, "ANSWERED");
      await sleep(300);
      await phone.hangup(answered.call.id);
      await waitFor(() => /(^|\n)BYE sip:raw@/.test(got.join("")), 5000, "our BYE on the peer's connection");
      sock.destroy();
    } finally {
      await stopPhone(phone);
    }
  });

  it("listen both: a sips: INVITE is taken over TLS and answered 416 over plain TCP (raw peers; baresip does not dial sips: to an IP)", async () => {
    const { phone, events } = await phoneWith({
      listen: "both",
      listenPort: 0,
      tlsCert: fs.readFileSync(cert.certPath, "utf8"),
      tlsKey: fs.readFileSync(cert.keyPath, "utf8"),
    });
    try {
      phone.calls.setInboundPolicy({ autoAnswer: false });
      const ports = phone.phone.transport.listeningPorts;
      assert.ok(ports.tcp && ports.tls && ports.tcp !== ports.tls, JSON.stringify(ports));
      const sdp = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=audio 40000 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "",
      ].join("\r\n");
      const invite = (proto: string, local: string, port: number, id: string) =>
        [
          `INVITE sips:alice@127.0.0.1:${port} SIP/2.0`,
          `Via: SIP/2.0/${proto} ${local};branch=z9hG4bK${id}`,
          "Max-Forwards: 70",
          `From: <sips:raw@${local}>;tag=r1`,
          "To: <sips:alice@127.0.0.1>",
          `Call-ID: ${id}@127.0.0.1`,
          "CSeq: 1 INVITE",
          `Contact: <sips:raw@${local}>`,
          "Content-Type: application/sdp",
          `Content-Length: ${Buffer.byteLength(sdp)}`,
          "",
          sdp,
        ].join("\r\n");
      const exchange = async (sock: net.Socket, proto: string, port: number, id: string, until: RegExp) => {
        const got: string[] = [];
        sock.on("data", (d) => got.push(d.toString()));
        sock.write(invite(proto, `127.0.0.1:${sock.localPort}`, port, id));
        await waitFor(() => until.test(got.join("")), 10_000, `${until} over ${proto}`);
        return got.join("");
      };
      const secure = tls.connect({ host: "127.0.0.1", port: ports.tls, ca: fs.readFileSync(cert.certPath) });
      secure.on("error", () => undefined);
      await new Promise((r) => secure.once("secureConnect", r));
      const overTls = await exchange(secure, "TLS", ports.tls, `sipstls${Date.now()}`, /SIP\/2\.0 180/);
      assert.doesNotMatch(overTls, /SIP\/2\.0 416/);
      const ringing = await waitFor(() => events.find((e) => e.state === "RINGING"), 5000, "RINGING");
      assert.strictEqual(ringing.call.to.uri, "sips:alice@127.0.0.1");
      await phone.reject(ringing.call.id, 486);
      const plain = net.connect({ host: "127.0.0.1", port: ports.tcp });
      plain.on("error", () => undefined);
      await new Promise((r) => plain.once("connect", r));
      await exchange(plain, "TCP", ports.tcp, `sipstcp${Date.now()}`, /SIP\/2\.0 416/);
      assert.strictEqual(events.filter((e) => e.state === "RINGING").length, 1, "no call over plain TCP");
      secure.destroy();
      plain.destroy();
    } finally {
      await stopPhone(phone);
    }
  });

  it("acceptFrom anyone: connections from many addresses stop at MAX_INBOUND_CONNECTIONS; closed ones free their places", async () => {
    const port = await freePort("tcp");
    const { phone } = await phoneWith({ listen: "tcp", listenPort: port, acceptFrom: "anyone" });
    const flood: net.Socket[] = [];
    const counters = () => phone.phone.transport.listenerCounters!;
    try {
      const addresses = Math.ceil(MAX_INBOUND_CONNECTIONS / MAX_INBOUND_CONNECTIONS_PER_ADDRESS) + 2;
      for (let a = 0; a < addresses; a++)
        for (let i = 0; i < MAX_INBOUND_CONNECTIONS_PER_ADDRESS; i++) {
          const s = net.connect({ host: "127.0.0.1", port, localAddress: `127.0.0.${11 + a}` });
          s.on("error", () => undefined);
          flood.push(s);
        }
      const total = addresses * MAX_INBOUND_CONNECTIONS_PER_ADDRESS;
      await waitFor(() => counters().accepted + counters().overLimit === total, 5000, "every connection accepted or closed");
      assert.strictEqual(counters().accepted, MAX_INBOUND_CONNECTIONS);
      assert.strictEqual(counters().overLimit, total - MAX_INBOUND_CONNECTIONS);
      for (const s of flood.splice(0)) s.destroy();
      await sleep(300);
      assert.strictEqual(await connectionFate({ port, localAddress: "127.0.0.50", ms: 500 }), "open", "a place is free again");
    } finally {
      for (const s of flood) s.destroy();
      await stopPhone(phone);
    }
  });

  it("TLS: baresip calls our TLS port (checking our certificate); a TLS handshake that never comes is cut after the timeout", async () => {
    const port = await freePort("tcp");
    const { phone, events, sip } = await phoneWith({
      listen: "tls",
      listenPort: port,
      tlsCert: fs.readFileSync(cert.certPath, "utf8"),
      tlsKey: fs.readFileSync(cert.keyPath, "utf8"),
    });
    try {
      assert.deepStrictEqual(phone.phone.transport.listeningPorts, { tls: port });
      phone.calls.setInboundPolicy({ autoAnswer: true });
      const bob = await startBaresip({
        user: "bob",
        answerMode: "auto",
        transport: "tls",
        extraConfig: `sip_cafile\t\t${cert.certPath}\nsip_verify_server\tyes\n`,
      });
      peers.push(bob);
      const since = events.length;
      const sipSince = sip.length;
      const mark = bob.mark();
      await bob.dial(`sip:alice@127.0.0.1:${port};transport=tls`);
      await bob.waitEvent("CALL_ESTABLISHED", 15_000, { since: mark });
      const answered = await waitFor(() => events.slice(since).find((e) => e.state === "ANSWERED"), 10_000, "ANSWERED");
      await phone.hangup(answered.call.id);
      await bob.waitEvent("CALL_CLOSED", 15_000, { since: mark });
      const lines = sip.slice(sipSince);
      const bye = lines.find((l) => l.dir === "out" && l.text.startsWith("BYE "));
      assert.ok(bye, "we sent a BYE");
      assert.match(bye.text, /^Via: SIP\/2\.0\/TLS /m);
      assert.strictEqual(new Set(lines.map((l) => `${l.peer.address}:${l.peer.port}`)).size, 1, "one connection");
      // From 127.0.0.2 (not the registrar): closed at accept, before any handshake.
      const untrusted = phone.phone.transport.listenerCounters!.untrusted;
      const handshakes = phone.phone.transport.listenerCounters!.handshakeFailures;
      const refused = await new Promise<string>((resolve) => {
        const raw = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" });
        raw.on("error", () => undefined);
        const s = tls.connect({ socket: raw, servername: undefined, ca: fs.readFileSync(cert.certPath) });
        s.on("secureConnect", () => resolve("handshake done"));
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        s.on("close", () => resolve("closed"));
      });
      assert.notStrictEqual(refused, "handshake done");
      assert.strictEqual(phone.phone.transport.listenerCounters!.untrusted, untrusted + 1);
      assert.strictEqual(phone.phone.transport.listenerCounters!.handshakeFailures, handshakes, "no handshake was started");
      // Slowloris: a TCP connection that never starts its handshake is closed after TLS_HANDSHAKE_TIMEOUT_MS.
      const before = phone.phone.transport.listenerCounters!.handshakeFailures;
      assert.strictEqual(await connectionFate({ port, ms: TLS_HANDSHAKE_TIMEOUT_MS + 3000 }), "closed");
      assert.strictEqual(phone.phone.transport.listenerCounters!.handshakeFailures, before + 1);
    } finally {
      await stopPhone(phone);
    }
  });

  it("a sips: address is dialled over TLS: Via SIP/2.0/TLS, Contact transport=tls, the peer's certificate checked", async () => {
    // baresip as a TLS server (its certificate from makeCert); the account talks TLS to it directly.
    const both = `${cert.certPath}.both.pem`;
    fs.writeFileSync(both, fs.readFileSync(cert.certPath, "utf8") + fs.readFileSync(cert.keyPath, "utf8"));
    const bob = await startBaresip({ user: "bob", answerMode: "auto", transport: "tls", extraConfig: `sip_certificate\t${both}\n` });
    peers.push(bob);
    const tlsPort = bob.sipPort + 1;
    const events: Seen[] = [];
    const sip: SipLine[] = [];
    const phone = new Softphone({
      account: {
        server: "127.0.0.1",
        port: tlsPort,
        transport: "tls",
        username: "alice",
        register: false,
        localAddress: "127.0.0.1",
        tlsCa: fs.readFileSync(cert.certPath, "utf8"),
      },
      speech,
      media: { codecs: ["PCMU"] },
      logSip: true,
    });
    phones.push(phone);
    phone.on("call", (state, call) => events.push({ state, call }));
    phone.on("sip", (dir, text, peer) => sip.push({ dir, text, peer }));
    try {
      await phone.start();
      const mark = bob.mark();
      const call = phone.dial(`sips:bob@127.0.0.1:${tlsPort}`);
      await waitFor(() => events.some((e) => e.state === "ANSWERED" && e.call.id === call.id), 15_000, "ANSWERED");
      await bob.waitEvent("CALL_ESTABLISHED", 10_000, { since: mark });
      const invite = sip.find((l) => l.dir === "out" && l.text.startsWith("INVITE "))!;
      assert.match(invite.text, new RegExp(`^INVITE sips:bob@127\\.0\\.0\\.1:${tlsPort} SIP/2\\.0`));
      assert.match(invite.text, /^Via: SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;/m);
      assert.match(invite.text, /^Contact: <sip:[^>]*;transport=tls[;>]/m);
      await phone.hangup(call.id);
      await bob.waitEvent("CALL_CLOSED", 10_000, { since: mark });
    } finally {
      await stopPhone(phone);
    }
  });

  describe("from a Node-RED flow (sip-client on TCP, listen tcp)", () => {
    let got: Msg[];
    const errors: string[] = [];
    let port: number;
    beforeEach(async () => {
      port = await freePort("tcp");
      await startRed();
      await helper.load(
        [sipClient, sipCall],
        [
          {
            id: "acct",
            type: "sip-client",
            server: "127.0.0.1",
            port: String(kam.ports.tcp),
            transport: "tcp",
            username: "alice",
            expires: "60",
            localAddress: "127.0.0.1",
            listen: "tcp",
            listenPort: String(port),
          },
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

    it("baresip calls the listening port: the flow sees the call, its hangup reaches baresip over the same connection", async () => {
      const bob = await startBaresip({ user: "bob", answerMode: "auto", transport: "tcp" });
      peers.push(bob);
      const mark = bob.mark();
      const byes = kam.requests("BYE").length;
      await bob.dial(`sip:alice@127.0.0.1:${port};transport=tcp`);
      await bob.waitEvent("CALL_ESTABLISHED", 15_000, { since: mark });
      const answered = await waitFor(() => got.find((m) => m.topic === "call" && m.payload === "ANSWERED"), 10_000, "ANSWERED in the flow");
      assert.strictEqual(answered.call?.direction, "inbound");
      assert.strictEqual(answered.call?.from.number, "bob");
      helper.getNode("call").receive({ topic: "hangup" });
      await bob.waitEvent("CALL_CLOSED", 15_000, { since: mark });
      const ended = await waitFor(() => got.find((m) => m.topic === "call" && m.payload === "ENDED"), 10_000, "ENDED in the flow");
      assert.strictEqual(ended.call?.hungUpBy, "local");
      assert.strictEqual(kam.requests("BYE").length, byes, "the BYE went straight over baresip's connection, not through the registrar");
      assert.deepStrictEqual(errors, []);
    });

    it("a sips: address is never dialled over TCP: the input fails with a clear error and nothing is sent", async () => {
      const invites = kam.requests("INVITE").length;
      helper.getNode("call").receive({ topic: "dial", payload: "sips:bob@127.0.0.1" });
      await waitFor(() => errors.length > 0, 5000, "done(err)");
      assert.match(errors[0], /sips: address needs the TLS transport \(this account uses tcp\)/);
      await sleep(500);
      assert.strictEqual(kam.requests("INVITE").length, invites, "no INVITE left");
      assert.ok(!got.some((m) => m.topic === "call" && m.payload === "DIALING"));
    });
  });
});
