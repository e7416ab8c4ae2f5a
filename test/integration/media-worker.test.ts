// The media worker (issue 11): RTP runs in its own thread, so a main thread blocked by a busy flow
// does not stop the stream, and a worker that dies ends its calls with a reason while the process,
// and the next call, go on. Real peers on loopback: Kamailio, baresip; tshark watches the RTP.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import { execFileSync, spawn } from "child_process";
import { startKamailio, Kamailio } from "../support/kamailio";
import { startBaresip, Baresip } from "../support/baresip";
import { waitFor, sleep } from "../support/wait";
import { Softphone } from "../../src/softphone";
import { SpeechService } from "../../src/speech";
import { MEDIA_WORKER_STOPPED } from "../../src/media/worker/media-host";
import { mediaPool } from "../../src/media/worker/media-pool";
import type { CallInfo, CallState } from "../../src/types";

const LONG =
  "This is a long message, played while the main thread of the process is kept busy on purpose. " +
  "It goes on for several seconds, so that the block falls in the middle of it, and it keeps going after.";

interface RtpSeen {
  time: number;
  seq: number;
}

/** RTP sent to `port` on 127.0.0.1, captured with tshark on lo: arrival time (epoch ms) and sequence number. */
async function captureRtp(port: number): Promise<{ stop(): Promise<RtpSeen[]> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "worker-cap-"));
  const file = path.join(dir, "rtp.pcap");
  const p = spawn("tshark", ["-i", "lo", "-f", `udp dst port ${port} and dst host 127.0.0.1`, "-w", file], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes("Capturing on"), 10_000, "tshark capturing");
  return {
    async stop() {
      await sleep(300);
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGINT");
      await exited;
      const lines = execFileSync("tshark", ["-r", file, "-d", `udp.port==${port},rtp`, "-T", "fields", "-e", "frame.time_epoch", "-e", "rtp.seq"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      fs.rmSync(dir, { recursive: true, force: true });
      const out: RtpSeen[] = [];
      for (const line of lines.split("\n")) {
        const [t, seq] = line.trim().split("\t");
        if (t && seq) out.push({ time: parseFloat(t) * 1000, seq: parseInt(seq, 10) });
      }
      return out;
    },
  };
}

/** Keeps this thread busy, as a heavy function node would. */
function block(ms: number): { start: number; end: number } {
  const start = Date.now();
  while (Date.now() - start < ms) {
    // busy
  }
  return { start, end: Date.now() };
}

describe("media worker", function () {
  this.timeout(60_000);
  let kam: Kamailio;
  let speech: SpeechService;
  let phone: Softphone;
  let bob: Baresip;
  const events: { state: CallState; call: CallInfo }[] = [];

  before(async () => {
    kam = await startKamailio({ users: { alice: "secret", bob: "pw-bob" } });
    speech = new SpeechService({});
    phone = new Softphone({ account: { server: "127.0.0.1", port: kam.ports.udp, username: "alice", password: "secret" }, speech });
    phone.on("call", (state, call) => events.push({ state, call }));
    await phone.start();
    await waitFor(() => phone.phone.registrationState === "REGISTERED", 10_000, "alice REGISTERED");
    bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: kam, answerMode: "auto" });
    await bob.waitRegistered();
  });
  after(async () => {
    await phone?.stop();
    await speech?.close();
    await bob?.stop();
    await kam?.stop();
  });

  it("a main thread blocked for 300 ms while a message plays: packets keep arriving during the block, no sequence gap", async () => {
    const call = phone.calls.dial("bob");
    await waitFor(() => call.state === "ANSWERED" && !!call.sdh?.negotiated, 10_000, "ANSWERED");
    const cap = await captureRtp(call.sdh!.negotiated!.remotePort);
    await phone.calls.say(call, LONG);
    await waitFor(() => call.playback.playing, 10_000, "playing");
    await sleep(700);
    const b = block(300);
    await sleep(700);
    assert.ok(call.playback.playing, "the message still plays after the block");
    await call.hangup();
    await waitFor(() => !call.active, 5000, "ENDED");
    const seen = await cap.stop();
    assert.ok(seen.length > 50, `RTP captured: ${seen.length} packets`);
    // Packets sent in the middle of the block (the first and last 40 ms left out for timer slack).
    const during = seen.filter((p) => p.time > b.start + 40 && p.time < b.end - 40).length;
    assert.ok(during >= 5, `packets during the 300 ms block: ${during} (blocked from ${b.start} to ${b.end})`);
    const gaps = seen.slice(1).filter((p, i) => p.seq !== ((seen[i].seq + 1) & 0xffff)).length;
    assert.strictEqual(gaps, 0, "no sequence gap");
  });

  it("the worker is killed during a call: the call ends with the reason, the process goes on, the next call has audio", async () => {
    const first = phone.calls.dial("bob");
    await waitFor(() => first.state === "ANSWERED" && !!first.sdh?.rtp, 10_000, "ANSWERED");
    await phone.calls.say(first, LONG);
    await mediaPool.killForTest();
    await waitFor(() => !first.active, 10_000, "the call ended");
    const ended = events.filter((e) => e.call.id === first.id && e.state === "ENDED").at(-1)!.call;
    assert.strictEqual(ended.outcome, "failed");
    assert.strictEqual(ended.reason, MEDIA_WORKER_STOPPED);

    const next = phone.calls.dial("bob");
    await waitFor(() => next.state === "ANSWERED" && !!next.sdh?.rtp, 10_000, "the next call ANSWERED");
    await phone.calls.say(next, "The next call has audio.");
    await waitFor(() => next.sdh!.rtp!.stats().packetsSent > 50 && next.sdh!.rtp!.stats().packetsReceived > 50, 10_000, "RTP both ways");
    assert.ok(mediaPool.running, "a new worker carries the next call");
    await next.hangup();
    await waitFor(() => !next.active, 5000, "ENDED");
  });
});
