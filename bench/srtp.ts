// SRTP cost per call (issue 10): N calls, each sending and receiving 50 G.711 packets per second,
// for `seconds` of call time, once as plain RTP and once as SRTP (AES_CM_128_HMAC_SHA1_80), in the
// same run. Each call has its own contexts (ours and the peer's key), as on the wire; packets are
// processed tick by tick across all calls, so the many contexts compete for the caches as they
// would. Measured in CPU time (user + system), not wall time; no assertions.
//
//   npm run bench -- srtp [seconds=10] [calls=100,500]
//
// Per direction and packet, plain = serialise the RTP packet and copy it (what the socket does);
// SRTP = the same plus protect on the sending side and unprotect on the receiving side.
import { randomBytes } from "node:crypto";
import { serializeRtp } from "../src/media/rtp-packet.js";
import { createOfferCryptos, srtpContexts, answerCryptos } from "../src/media/sdes.js";
import type { SrtpContext } from "../src/media/srtp.js";

const SECONDS = Number(process.argv[2] ?? 10);
const CALLS = String(process.argv[3] ?? "100,500")
  .split(",")
  .map(Number)
  .filter((n) => n > 0);
const PACKETS_PER_SECOND = 50;
const PAYLOAD = 160;

interface End {
  ssrc: number;
  seq: number;
  ts: number;
  payload: Buffer;
  /** Protects what this end sends. */
  out: SrtpContext;
  /** Unprotects what this end receives. */
  in: SrtpContext;
}

/** One call: the two ends' SDES keys agreed the way offer/answer does it. */
function call(): [End, End] {
  const offered = createOfferCryptos(["AES_CM_128_HMAC_SHA1_80"]);
  const answer = answerCryptos(offered.map((c) => c.toAttributeValue()))!;
  const answerer = srtpContexts(answer);
  const offerer = srtpContexts({ local: offered[0], remote: answer.local });
  const end = (c: { outbound: SrtpContext; inbound: SrtpContext }): End => ({
    ssrc: randomBytes(4).readUInt32BE(0),
    seq: randomBytes(2).readUInt16BE(0),
    ts: randomBytes(4).readUInt32BE(0),
    payload: randomBytes(PAYLOAD),
    out: c.outbound,
    in: c.inbound,
  });
  return [end(offerer), end(answerer)];
}

function packet(e: End): Buffer {
  const p = serializeRtp({ payloadType: 0, sequenceNumber: e.seq, timestamp: e.ts, ssrc: e.ssrc }, e.payload);
  e.seq = (e.seq + 1) & 0xffff;
  e.ts = (e.ts + PAYLOAD) >>> 0;
  return p;
}

/** CPU microseconds for `seconds` of `n` calls, plain or SRTP. */
function run(n: number, secure: boolean): { cpuUs: number; failed: number } {
  const calls = Array.from({ length: n }, call);
  const ticks = SECONDS * PACKETS_PER_SECOND;
  let failed = 0;
  let sink = 0;
  const start = process.cpuUsage();
  for (let t = 0; t < ticks; t++) {
    for (const [a, b] of calls) {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const p = packet(from);
        if (secure) {
          const wire = from.out.protectRtp(p);
          const plain = to.in.unprotectRtp(Buffer.from(wire));
          if (!plain) failed++;
          else sink += plain.length;
        } else {
          sink += Buffer.from(p).length;
        }
      }
    }
  }
  const used = process.cpuUsage(start);
  if (sink < 0) console.log(sink);
  return { cpuUs: used.user + used.system, failed };
}

function main(): void {
  console.log(
    `node ${process.version}; ${SECONDS} s of call time per run, ${PACKETS_PER_SECOND} packets/s each way per call, ${PAYLOAD}-byte G.711 payload`,
  );
  run(Math.min(20, CALLS[0] ?? 20), true); // warm-up: let the JIT settle
  run(Math.min(20, CALLS[0] ?? 20), false);
  console.log("calls  mode   CPU/call (us per s of call)  % of one core  packets failed");
  for (const n of CALLS) {
    const plain = run(n, false);
    const srtp = run(n, true);
    for (const [mode, r] of [
      ["plain", plain],
      ["srtp", srtp],
    ] as const) {
      const perCall = r.cpuUs / n / SECONDS;
      const core = (r.cpuUs / (SECONDS * 1e6)) * 100;
      console.log(
        `${String(n).padStart(5)}  ${mode.padEnd(5)}  ${perCall.toFixed(1).padStart(27)}  ${core.toFixed(2).padStart(13)}  ${String(r.failed).padStart(14)}`,
      );
    }
    const extra = (srtp.cpuUs - plain.cpuUs) / n / SECONDS;
    console.log(
      `${String(n).padStart(5)}  SRTP adds ${extra.toFixed(1)} us of CPU per second of call (${(extra * 1e-6 * 100).toFixed(3)} % of a core per call)`,
    );
  }
}

main();
