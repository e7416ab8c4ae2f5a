// SRTP cost: microseconds per protect+unprotect of one 20 ms G.711 packet
// (12-byte header + 160 bytes), against copying a plain RTP packet, in the
// same run; and what that means in CPU per call. No assertions.
//
//   node dist/bench/media/srtp.js [packets=200000]
//
// A call sends and receives 50 packets/s, so one call costs
// 50 * (protect + unprotect) per second of CPU on top of plain RTP.
import { randomBytes } from "node:crypto";
import { serializeRtp } from "../../src/media/rtp-packet.js";
import { SrtpContext, type SrtpSuite } from "../../src/media/srtp.js";

const PACKETS = Number(process.argv[2] ?? 200000);
const PACKETS_PER_SECOND = 50;

function packet(seq: number): Buffer {
  return serializeRtp({ payloadType: 8, sequenceNumber: seq & 0xffff, timestamp: seq * 160, ssrc: 0x1234 }, Buffer.alloc(160, seq & 0xff));
}

/** CPU time (user + system) of fn in microseconds: steadier than wall time on a shared machine. */
function time(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

function benchSuite(suite: SrtpSuite, packets: Buffer[]): { protectUs: number; unprotectUs: number } {
  const masterKey = randomBytes(16);
  const masterSalt = randomBytes(14);
  const tx = new SrtpContext({ suite, masterKey, masterSalt });
  const rx = new SrtpContext({ suite, masterKey, masterSalt });
  // In chunks, so the protected packets die young as they do on a real socket.
  const CHUNK = 1000;
  const out: Buffer[] = new Array(CHUNK);
  let protectUs = 0;
  let unprotectUs = 0;
  let bad = 0;
  for (let start = 0; start < packets.length; start += CHUNK) {
    const n = Math.min(CHUNK, packets.length - start);
    protectUs += time(() => {
      for (let i = 0; i < n; i++) out[i] = tx.protectRtp(packets[start + i]);
    });
    unprotectUs += time(() => {
      for (let i = 0; i < n; i++) if (!rx.unprotectRtp(out[i])) bad++;
    });
  }
  if (bad) throw new Error(`${bad} packets failed to unprotect`);
  return { protectUs: protectUs / packets.length, unprotectUs: unprotectUs / packets.length };
}

function main(): void {
  const packets = Array.from({ length: PACKETS }, (_, i) => packet(i));
  // Plain RTP: the copy into a fresh buffer that protect/unprotect also do.
  let sink = 0;
  const plainUs =
    time(() => {
      for (const p of packets) sink += Buffer.from(p).length + Buffer.from(p).length;
    }) / packets.length;
  // Warm-up so the JIT has settled before the measured runs.
  benchSuite("AES_CM_128_HMAC_SHA1_80", packets.slice(0, 20000));
  console.log(`node ${process.version}, ${PACKETS} packets of ${packets[0].length} bytes (sink ${sink})`);
  console.log(`plain RTP copy in+out:        ${plainUs.toFixed(2)} us/packet`);
  for (const suite of ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"] as const) {
    const r = benchSuite(suite, packets);
    const both = r.protectUs + r.unprotectUs;
    console.log(`${suite}: protect ${r.protectUs.toFixed(2)} us, unprotect ${r.unprotectUs.toFixed(2)} us, both ${both.toFixed(2)} us`);
    for (const calls of [100, 500, 1000]) {
      const cpu = (both * PACKETS_PER_SECOND * calls) / 1e6;
      console.log(`  ${String(calls).padStart(4)} calls: ${(cpu * 100).toFixed(1)} % of one core`);
    }
  }
}

main();
