// Registration benchmark (prints figures, asserts nothing):
//   node dist/bench/registration.js [rounds=20] [wrongPasswordSeconds=60]
// Time from start() to REGISTERED against Kamailio on 127.0.0.1 for each transport,
// and how many REGISTERs a wrong password produces per minute (the back-off).
import { startKamailio } from "../test/support/kamailio";
import { waitFor, sleep } from "../test/support/wait";
import { Phone } from "../src/phone/phone";
import type { TransportKind } from "../src/types";

const ROUNDS = Number(process.argv[2] ?? 20);
const WRONG_SECONDS = Number(process.argv[3] ?? 60);

async function main(): Promise<void> {
  const kam = await startKamailio({ users: { alice: "secret", bob: "right" } });
  console.log(`# time to REGISTERED (start → 200 OK after the 401 challenge), ${ROUNDS} rounds each`);
  for (const t of ["udp", "tcp", "tls", "ws"] as TransportKind[]) {
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const port = t === "udp" || t === "tcp" ? kam.ports.udp : kam.ports[t as "tls" | "ws"];
      const p = new Phone({ server: "127.0.0.1", port, transport: t, username: "alice", password: "secret", tlsRejectUnauthorized: false });
      const t0 = performance.now();
      await p.start();
      await waitFor(() => p.registrationState === "REGISTERED", 10_000, "REGISTERED", { interval: 1 });
      times.push(performance.now() - t0);
      await p.stop();
    }
    times.sort((a, b) => a - b);
    console.log(
      `${t.padEnd(4)} median ${times[Math.floor(times.length / 2)].toFixed(1)} ms, min ${times[0].toFixed(1)}, max ${times[times.length - 1].toFixed(1)}`,
    );
  }
  const before = kam.registerCount("bob");
  const p = new Phone({ server: "127.0.0.1", port: kam.ports.udp, username: "bob", password: "wrong" });
  const fails: number[] = [];
  p.on("registration", (s) => {
    if (s === "FAILED") fails.push(performance.now());
  });
  await p.start();
  await sleep(WRONG_SECONDS * 1000);
  const sent = kam.registerCount("bob") - before;
  await p.stop();
  const gaps = fails.slice(1).map((t, i) => ((t - fails[i]) / 1000).toFixed(1));
  console.log(
    `# wrong password for ${WRONG_SECONDS} s: ${sent} REGISTERs (${fails.length} attempts, each challenged once); gaps between attempts: ${gaps.join(", ")} s`,
  );
  console.log(`#   without back-off, retrying every 2 s would be ${Math.round(WRONG_SECONDS / 2) * 2} REGISTERs`);
  await kam.stop();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
