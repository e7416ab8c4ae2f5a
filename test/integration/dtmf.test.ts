// The keypad against real peers: baresip sends RFC 4733 events (interleaved with its
// audio in one SSRC), SIPp sends SIP INFO, and baresip plays a WAV of real tones for
// in-band detection. The node also sends digits to baresip by each method.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { runSipp } from "../support/sipp";
import { waitFor, sleep } from "../support/wait";
import { writeWav } from "../support/wav";
import { concat } from "../unit/dtmf/signals";
import { Softphone } from "../../src/softphone";
import { SpeechService } from "../../src/speech";
import { generateDtmfTone } from "../../src/dtmf/tone-generator";
import { InbandDtmfDetector } from "../../src/dtmf/inband-detector";
import type { CallInfo, DtmfMethod } from "../../src/types";

interface Key {
  digit: string;
  method: DtmfMethod;
  call: CallInfo;
}

describe("DTMF through Kamailio", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let phone: Softphone;
  let tmp: string;
  const keys: Key[] = [];
  const peers: Baresip[] = [];

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob", carol: "pw-carol", dave: "pw-dave", erin: "pw-erin", zed: "pw-zed" } });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sip-dtmf-"));
    speech = new SpeechService({});
    phone = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" },
      speech,
      dtmf: { send: "rfc4733" },
    });
    phone.on("dtmf", (digit, method, call) => keys.push({ digit, method, call }));
    phone.calls.setInboundPolicy({ autoAnswer: true });
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "REGISTERED");
  });
  after(async () => {
    await phone?.stop();
    await speech?.close();
    for (const b of peers) await b.stop();
    await kam?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** 1 s silence, then 1 5 9 * (100 ms tone, 100 ms gap), then silence: real tones, G.711-coded by baresip. */
  function toneWav(): string {
    const wav = path.join(tmp, "tones.wav");
    if (fs.existsSync(wav)) return wav;
    const tones = [..."159*"].flatMap((d) => [generateDtmfTone(d, 100, { levelDbm0: -10 }), new Int16Array(800)]);
    writeWav(wav, concat(new Int16Array(8000), ...tones, new Int16Array(16000)));
    return wav;
  }

  async function callFrom(b: Baresip): Promise<CallInfo> {
    const before = phone.calls.list().length;
    await b.dial(kam.uri("alice"));
    await waitFor(
      () => phone.calls.list().length > before && phone.calls.list().some((c) => c.state === "ANSWERED"),
      10_000,
      "the call to be answered",
    );
    await b.waitEvent("CALL_ESTABLISHED", 5000);
    return phone.calls
      .list()
      .find((c) => c.state === "ANSWERED")!
      .snapshot();
  }

  it("RFC 4733 from baresip (sndcode 123#): exactly the digits, once each", async () => {
    const bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
    peers.push(bob);
    await bob.waitRegistered();
    const call = await callFrom(bob);
    await sleep(300);
    await bob.sndcode("123#");
    await waitFor(() => keys.filter((k) => k.call.id === call.id).length >= 4, 5000, "four digits");
    await sleep(700); // any duplicate would arrive by now
    const got = keys.filter((k) => k.call.id === call.id);
    assert.deepStrictEqual(got.map((k) => k.digit).join(""), "123#");
    assert.ok(
      got.every((k) => k.method === "rfc4733"),
      JSON.stringify(got.map((k) => k.method)),
    );
    await bob.hangup();
    await waitFor(() => phone.calls.list().length === 0, 5000, "call ended");
  });

  it("SIP INFO from SIPp (application/dtmf-relay): the digit with method info", async () => {
    const since = keys.length;
    const r = await runSipp({
      scenario: "uac-info-dtmf",
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "alice",
      keys: { dtmf_digit: "7" },
      holdMs: 500,
      timeoutMs: 15_000,
    });
    assert.strictEqual(r.successful, 1, r.errors);
    const got = keys.slice(since);
    assert.deepStrictEqual(
      got.map((k) => `${k.digit}/${k.method}`),
      ["7/info"],
    );
  });

  it("in-band tones inside baresip's RTP stream (a WAV of tones as its microphone): digits with method inband", async () => {
    const wav = toneWav();
    const carol = await startBaresip({ user: "carol", password: "pw-carol", kamailio: kam, answerMode: "auto", audioFile: wav, codecs: ["PCMU"] });
    peers.push(carol);
    await carol.waitRegistered();
    const call = await callFrom(carol);
    await waitFor(() => keys.filter((k) => k.call.id === call.id).length >= 4, 8000, "four in-band digits");
    await sleep(500);
    const got = keys.filter((k) => k.call.id === call.id);
    assert.deepStrictEqual(
      got.map((k) => `${k.digit}/${k.method}`),
      ["1/inband", "5/inband", "9/inband", "*/inband"],
    );
  });

  it("a receive method switched off in the account is ignored (in-band tones with only RFC 4733 and INFO on)", async () => {
    const strict = new Softphone({
      account: { server: "127.0.0.1", port: kam.ports.udp, username: "zed", password: "pw-zed" },
      speech,
      dtmf: { receive: ["rfc4733", "info"] },
    });
    const heard: string[] = [];
    strict.on("dtmf", (d, m) => heard.push(`${d}/${m}`));
    strict.calls.setInboundPolicy({ autoAnswer: true });
    const wav = toneWav();
    const erin = await startBaresip({ user: "erin", password: "pw-erin", kamailio: kam, answerMode: "auto", audioFile: wav, codecs: ["PCMU"] });
    try {
      await strict.start();
      await erin.waitRegistered();
      await waitFor(() => strict.phone.registrationState === "REGISTERED", 10_000, "zed REGISTERED");
      await erin.dial(kam.uri("zed"));
      await waitFor(() => strict.calls.list().some((c) => c.state === "ANSWERED"), 10_000, "answered");
      await sleep(3500); // the WAV's four tones have played
      assert.deepStrictEqual(heard, []);
      await erin.sndcode("7");
      await waitFor(() => heard.length === 1, 5000, "the RFC 4733 key");
      assert.deepStrictEqual(heard, ["7/rfc4733"]);
    } finally {
      await strict.stop();
      await erin.stop();
    }
  });

  for (const method of ["rfc4733", "info", "inband"] as DtmfMethod[]) {
    it(`sends digits to baresip by ${method}`, async () => {
      const dave = await startBaresip({ user: "dave", password: "pw-dave", kamailio: kam, answerMode: "auto", codecs: ["PCMU"] });
      peers.push(dave);
      await dave.waitRegistered();
      const sender = new Softphone({
        account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret", register: false },
        speech,
        dtmf: { send: method },
      });
      try {
        await sender.start();
        const call = sender.calls.dial("dave");
        await waitFor(() => call.state === "ANSWERED", 10_000, "ANSWERED");
        const mark = dave.mark();
        await sleep(300);
        await sender.sendDtmf(call, "42#");
        await sleep(500);
        if (method === "inband") {
          await call.hangup();
          await waitFor(() => !call.active, 5000, "ENDED");
          await sleep(500);
          // baresip has no in-band detector: look for the tones in what it recorded.
          const rx = dave.recordings().filter((r) => r.direction === "rx");
          const pcm = await speech.loadAudio(rx[rx.length - 1].path);
          const digits = new InbandDtmfDetector()
            .process(pcm)
            .map((d) => d.digit)
            .join("");
          assert.strictEqual(digits, "42#");
        } else {
          const seen = dave.events
            .slice(mark)
            .filter((e) => e.type === "CALL_DTMF_START")
            .map((e) => e.param)
            .join("");
          assert.strictEqual(seen, "42#");
          await call.hangup();
        }
      } finally {
        await sender.stop();
        await dave.stop();
        peers.splice(peers.indexOf(dave), 1);
      }
    });
  }
});
