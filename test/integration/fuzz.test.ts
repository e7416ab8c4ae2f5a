// The fuzzer over the whole running stack (issue 8): a real Node-RED in a child
// process, three accounts (UDP, TCP, WS) registered to Kamailio through fuzzing
// relays, a live call from baresip. Mutated SIP over UDP (from the registrar's
// address, from 127.0.0.1 and from 127.0.0.2), injected into the TCP and WS
// connections, and mutated RTP into the call. Afterwards Node-RED is alive, logged
// no uncaught exception, every account is REGISTERED with one binding, and a
// normal call is answered.
//
// Short in CI: FUZZ_COUNT messages per transport (default 3400, about 10,000 in
// all), FUZZ_SEED (default 8). The long run is bench/fuzz.ts.
import assert from "assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { startFuzzStack, FuzzStack } from "../support/fuzz/stack";
import { startCaller, Caller } from "../support/fuzz/caller";
import { runFuzz, sendOne, Reproducer, DEFAULT_CRASHER_DIR } from "../support/fuzz/fuzzer";
import { verifyAfterFuzz } from "../support/fuzz/verify";
import { build, KINDS, serialise, Target } from "../support/fuzz/corpus";
import { mutateSip, mutatedRtp } from "../support/fuzz/mutate";
import { Prng } from "../support/fuzz/prng";
import { isLoopbackHost, loopbackOnly } from "../support/fuzz/safety";
import { WireTracker } from "../support/fuzz/wire";
import { makeTempDir } from "../support/process";
import { sleep, waitFor } from "../support/wait";

const COUNT = Number(process.env.FUZZ_COUNT ?? 3400);
const SEED = Number(process.env.FUZZ_SEED ?? 8);

// The fuzzer's own safety and reproducibility (pure, fast): a mutated message must never
// name a host off loopback, and (seed, index) must give the same bytes again.
describe("fuzz support: loopback only, reproducible", () => {
  const target = (): Target => ({
    transport: "UDP",
    user: "alice",
    domain: "127.0.0.1:5060",
    peerHost: "127.0.0.1",
    peerPort: 5070,
    sinkPort: 5072,
    registrarPort: 5060,
    wire: new WireTracker(),
  });

  it("rewrites every host that is not a loopback literal (URIs, Via, received/maddr, SDP)", () => {
    const out = loopbackOnly(
      [
        "INVITE sip:bob@example.com:5060 SIP/2.0",
        "Via: SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bK1;received=192.0.2.1;maddr=evil.example",
        "Route: <sips:proxy.example.net;lr>",
        "Refer-To: <sip:+1555@[2001:db8::1]>",
        "Contact: <sip:x@127.0.0.9:5000>",
        "",
        "c=IN IP4 198.51.100.7",
        "a=rtcp:9 IN IP6 2001:db8::2",
      ].join("\r\n"),
    );
    for (const bad of ["example.com", "10.1.2.3", "192.0.2.1", "evil.example", "proxy.example.net", "2001:db8::1", "198.51.100.7", "2001:db8::2"]) {
      assert.ok(!out.includes(bad), `${bad} is gone:\n${out}`);
    }
    assert.ok(out.includes("sip:x@127.0.0.9:5000"), "a loopback host is kept");
  });

  it("20,000 mutated messages: every host in a URI, Via or SDP address is loopback", () => {
    const master = new Prng(1234);
    const hostRe = /(?:\bsips?:(?:[^@\s<>;,"]*@)?|SIP\/2\.0\/[A-Za-z]+\s+|;(?:received|maddr)=|\bIN\s+IP[46]\s+)(\[[^\]\r\n]*\]|[^\s;:>?,"\r\n]*)/gi;
    for (let i = 0; i < 20_000; i++) {
      const rng = master.fork(i);
      const text = mutateSip(build(rng.pick(KINDS), target(), rng), rng, 65_000).bytes.toString("latin1");
      for (const m of text.matchAll(hostRe)) {
        if (m[1] === "") continue;
        assert.ok(isLoopbackHost(m[1].replace(/\/.*$/, "")), `message ${i} names ${JSON.stringify(m[1])}:\n${text.slice(0, 800)}`);
      }
    }
  });

  it("the same seed and index give the same bytes", () => {
    const one = (seed: number, i: number) => {
      const rng = new Prng(seed).fork(i);
      return mutateSip(build(rng.pick(KINDS), target(), rng), rng, 65_000).bytes;
    };
    assert.ok(one(7, 42).equals(one(7, 42)));
    assert.ok(!one(7, 42).equals(one(7, 43)));
    const rtp = (seed: number) => mutatedRtp(new Prng(seed), { ssrc: 1, seq: 1, ts: 1 }).bytes;
    assert.ok(rtp(5).equals(rtp(5)));
  });
});

describe("fuzz: the whole running stack (Node-RED, UDP/TCP/WS, RTP)", function () {
  this.timeout(300_000);
  let stack: FuzzStack;
  let caller: Caller;

  before(async () => {
    stack = await startFuzzStack();
    caller = await startCaller(stack);
  });
  after(async () => {
    await caller?.stop();
    await stack?.stop();
  });

  it(`survives ${COUNT} mutated SIP messages per transport and mutated RTP, stays registered and answers a call`, async () => {
    await caller.keepCallUp();
    await waitFor(() => stack.events.some((e) => e.t === "call" && e.p === "ANSWERED"), 15_000, "baresip's call ANSWERED before fuzzing");
    const tmp = makeTempDir("fuzz-crashers");
    const res = await runFuzz(stack, {
      seed: SEED,
      perTransport: COUNT,
      rtp: COUNT,
      continueAfterCrash: false,
      crasherDir: tmp,
      crashersFile: process.env.FUZZ_CRASHERS_FILE ?? path.join(tmp, "crashers.md"),
      tick: () => caller.keepCallUp(),
    });
    const crashText = res.crashes
      .map(
        (c) =>
          `seed ${c.seed}, after message #${c.index}:\n${c.logTail
            .split("\n")
            .filter((l) => /Error| {4}at |Uncaught/.test(l))
            .slice(0, 12)
            .join("\n")}`,
      )
      .join("\n\n");
    assert.strictEqual(
      res.crashes.length,
      0,
      `Node-RED died during the fuzzing (replay: node dist/bench/fuzz.js --count ${COUNT} --seed ${SEED}):\n${crashText}`,
    );
    const sip = res.sent["udp-registrar"] + res.sent["udp-local"] + res.sent["udp-outside"];
    assert.ok(sip >= COUNT * 0.95, `UDP messages sent: ${sip}`);
    assert.ok(res.sent.tcp >= COUNT * 0.95, `TCP messages injected: ${res.sent.tcp} (skipped ${res.skipped.tcp})`);
    assert.ok(res.sent.ws >= COUNT * 0.95, `WS messages injected: ${res.sent.ws} (skipped ${res.skipped.ws})`);
    assert.ok(res.sent.rtp >= COUNT * 0.95, `RTP packets sent: ${res.sent.rtp}`);
    const v = await verifyAfterFuzz(stack, caller);
    assert.ok(v.alive, "Node-RED is alive");
    assert.deepStrictEqual(v.crashLines, [], "no uncaught exception or unhandled rejection in the log");
    for (const a of stack.accounts) {
      assert.strictEqual(v.registrations[a.id], "REGISTERED", `${a.id} is REGISTERED again`);
      assert.strictEqual(v.bindings[a.user], 1, `${a.user} (${a.kind}) has one binding at Kamailio`);
    }
    assert.ok(v.call.answered, `a normal call is answered: ${v.call.detail}`);
    assert.ok(v.call.greeting, `the greeting starts: ${v.call.detail}`);
    assert.deepStrictEqual(v.guard, [], "the phone never tried to reach a non-loopback address or resolve a name");
  });

  // Found by the soak (10 % loss, no junk): a call answered, its ACK lost, then hung up by BYE.
  // sip.js's ACK timer fires at 64·T1 on the terminated session and throws (uncaught).
  it("a 200 that is never ACKed, then BYE: Node-RED survives the ACK timer (64·T1) and the call ends", async function () {
    this.timeout(90_000);
    if (!stack.alive()) await stack.restartRed();
    const a = stack.accounts.find((x) => x.kind === "udp")!;
    const before = stack.crashLines().length;
    // Sent through the relay: from the registrar's address, as a real PBX would.
    const t: Target = {
      transport: "UDP",
      user: a.user,
      domain: `127.0.0.1:${a.relay.port}`,
      peerHost: "127.0.0.1",
      peerPort: a.relay.port,
      sinkPort: a.rtpBase + 15,
      registrarPort: stack.kam.ports.udp,
      wire: a.relay.wire,
    };
    const invite = build("INVITE", t, new Prng(99));
    const t0 = Date.now();
    assert.ok(a.relay.inject(Buffer.from(serialise(invite))), "INVITE sent");
    const d = await waitFor(() => a.relay.wire.dialogs.get(invite.callId), 10_000, "the phone's 200 OK");
    // msg.call.id is our own id, not the SIP Call-ID: take it from the call's first message.
    const ringing = await waitFor(
      () => stack.events.find((e) => e.a === a.id && e.t === "call" && e.p === "RINGING" && e.time >= t0),
      5000,
      "RINGING",
    );
    const bye = serialise({
      startLine: `BYE ${d.localContact} SIP/2.0`,
      headers: [
        ["Via", `SIP/2.0/UDP 127.0.0.1:${a.relay.port};branch=z9hG4bKfzbye${Date.now()};rport`],
        ["Max-Forwards", "70"],
        ["From", d.remote],
        ["To", d.local],
        ["Call-ID", d.callId],
        ["CSeq", `${d.nextCseq} BYE`],
      ],
      body: "",
    });
    await sleep(2000); // the 200 is being retransmitted: no ACK comes
    assert.ok(a.relay.inject(Buffer.from(bye)), "BYE sent");
    await sleep(36_000); // 64·T1 = 32 s after the 200
    assert.ok(
      stack.alive() && stack.crashLines().length === before,
      `Node-RED died:\n${stack.red
        .output()
        .split("\n")
        .filter((l) => /Error| {4}at /.test(l))
        .slice(-6)
        .join("\n")}`,
    );
    assert.ok(
      stack.events.some((e) => e.a === a.id && e.t === "call" && e.p === "ENDED" && e.c === ringing.c),
      "the call ENDED",
    );
  });

  // Every crash the fuzzer found and confirmed (bench/fuzz.ts writes them) stays a regression test.
  const repros = fs.existsSync(DEFAULT_CRASHER_DIR)
    ? fs
        .readdirSync(DEFAULT_CRASHER_DIR)
        .filter((f) => f.endsWith(".repro.json"))
        .sort()
    : [];
  for (const file of repros) {
    it(`survives the saved crasher ${file}`, async () => {
      const rep = JSON.parse(fs.readFileSync(path.join(DEFAULT_CRASHER_DIR, file), "utf8")) as Reproducer;
      if (!stack.alive()) await stack.restartRed();
      const before = stack.crashLines().length;
      assert.ok(await sendOne(stack, rep.channel, Buffer.from(rep.base64, "base64"), rep.to), "the message was sent");
      await sleep(1500);
      assert.ok(
        stack.alive() && stack.crashLines().length === before,
        `Node-RED died on ${file} (${rep.channel}, ops ${rep.ops.join(",")}):\n${stack.crashLines().slice(before).join("\n")}\n${stack.red
          .output()
          .split("\n")
          .filter((l) => /Error| {4}at /.test(l))
          .slice(-8)
          .join("\n")}`,
      );
    });
  }
});
