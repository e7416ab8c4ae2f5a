// DTMF detection latency per method (prints figures, asserts nothing):
//   node dist/bench/dtmf-latency.js [digits=20]
// rfc4733: baresip's first event packet arriving on the node's RTP socket → the digit event.
// info:    the INFO request arriving on the node's SIP socket → the digit event.
// inband:  the first RTP packet carrying the tone → the digit event (the sender's 20 ms of
//          packetisation come before that, so from the tone's start add 20 ms).
import fs from "fs";
import os from "os";
import path from "path";
import { startKamailio } from "../test/support/kamailio";
import { startBaresip } from "../test/support/baresip";
import { runSipp } from "../test/support/sipp";
import { waitFor, sleep } from "../test/support/wait";
import { writeWav } from "../test/support/wav";
import { concat } from "../test/unit/dtmf/signals";
import { Softphone } from "../src/softphone";
import { SpeechService } from "../src/speech";
import { generateDtmfTone } from "../src/dtmf/tone-generator";
import { decodeTelephoneEvent } from "../src/dtmf/rfc4733";

const DIGITS = Number(process.argv[2] ?? 20);

function stats(label: string, xs: number[]): void {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(2);
  console.log(
    `${label.padEnd(8)} n=${s.length} median ${f(s[Math.floor(s.length / 2)])} ms, p90 ${f(s[Math.floor(s.length * 0.9)])} ms, max ${f(s[s.length - 1])} ms`,
  );
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtmf-bench-"));
  const kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob", carol: "pw-carol" } });
  const speech = new SpeechService({});
  const phone = new Softphone({ account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" }, speech });
  phone.calls.setInboundPolicy({ autoAnswer: true });
  let infoAt = 0,
    toneStartAt = 0;
  // First arrival of each RFC 4733 event (keyed by its RTP timestamp); the latest one is the digit being reported.
  const eventFirstSeen = new Map<number, number>();
  let latestEventTs = -1;
  const lat = { rfc4733: [] as number[], info: [] as number[], inband: [] as number[] };
  phone.on("created", (c) =>
    c.on("media", (sdh) =>
      sdh.on("rtp", (rtp) => {
        // Listeners added before the DTMF layer's: they see each packet first.
        rtp.prependListener("event", (payload, info) => {
          if (decodeTelephoneEvent(payload) && !eventFirstSeen.has(info.timestamp)) {
            eventFirstSeen.set(info.timestamp, performance.now());
            latestEventTs = info.timestamp;
          }
        });
        rtp.prependListener("audio", (pcm) => {
          let peak = 0;
          for (const v of pcm) peak = Math.max(peak, Math.abs(v));
          if (peak > 3000 && !toneStartAt) toneStartAt = performance.now();
        });
      }),
    ),
  );
  phone.on("dtmf", (_d, method) => {
    const now = performance.now();
    if (method === "rfc4733" && eventFirstSeen.has(latestEventTs)) lat.rfc4733.push(now - eventFirstSeen.get(latestEventTs)!);
    if (method === "info" && infoAt) {
      lat.info.push(now - infoAt);
      infoAt = 0;
    }
    if (method === "inband" && toneStartAt) {
      lat.inband.push(now - toneStartAt);
    }
  });
  await phone.start();
  await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "REGISTERED");

  // RFC 4733
  const bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
  await bob.waitRegistered();
  await bob.dial(kam.uri("alice"));
  await waitFor(() => phone.calls.list().some((c) => c.state === "ANSWERED"), 10_000, "answered");
  await sleep(500);
  for (let i = 0; i < DIGITS; i++) {
    await bob.sndcode(String(i % 10));
    await sleep(400);
  }
  await bob.hangup();
  await bob.stop();

  // SIP INFO: time the INFO's arrival at the transport.
  const origOnMessage = phone.phone.transport.onMessage;
  phone.phone.transport.onMessage = (m: string) => {
    if (m.startsWith("INFO ")) infoAt = performance.now();
    origOnMessage?.(m);
  };
  for (let i = 0; i < Math.min(DIGITS, 10); i++) {
    await runSipp({
      scenario: "uac-info-dtmf",
      target: `127.0.0.1:${kam.ports.udp}`,
      service: "alice",
      keys: { dtmf_digit: String(i % 10) },
      holdMs: 200,
      timeoutMs: 10_000,
    });
  }

  // In-band: one tone per call from a WAV (tone onset = first loud packet).
  const wav = path.join(tmp, "tone.wav");
  writeWav(wav, concat(new Int16Array(8000), generateDtmfTone("5", 100, { levelDbm0: -10 }), new Int16Array(24000)));
  const carol = await startBaresip({ user: "carol", password: "pw-carol", kamailio: kam, answerMode: "auto", audioFile: wav, codecs: ["PCMU"] });
  await carol.waitRegistered();
  for (let i = 0; i < Math.min(DIGITS, 8); i++) {
    toneStartAt = 0;
    const n = lat.inband.length;
    await carol.dial(kam.uri("alice"));
    await waitFor(() => lat.inband.length > n, 8000, "in-band digit").catch(() => undefined);
    await carol.hangup().catch(() => undefined);
    await sleep(600);
  }
  await carol.stop();

  console.log("# detection latency: first packet / request / tone onset → digit event in the node");
  stats("rfc4733", lat.rfc4733);
  stats("info", lat.info);
  stats("inband", lat.inband);
  await phone.stop();
  await speech.close();
  await kam.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
