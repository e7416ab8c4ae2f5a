// The soak (not in CI; prints figures, exit code 1 if Node-RED died or calls failed):
//   npm run build && node dist/bench/soak.js [--minutes 60] [--restart-every 10] [--loss 0.1]
//        [--call-every 8] [--junk 20] [--junk-invites] [--seed N]
// A real Node-RED (child process) whose UDP account registers to Kamailio through a
// lossy relay (--loss of the datagrams dropped, both ways); Kamailio is restarted every
// --restart-every minutes (its bindings are lost); baresip calls the account every
// --call-every seconds (answered, greeting starts, hang-up); --junk mutated
// out-of-dialog SIP messages per second from 127.0.0.1 and 127.0.0.2 (no INVITE that
// could be answered unless --junk-invites: those would hold call slots).
// Every minute: uncaught exceptions, seconds not registered (by the phone's own state,
// and by Kamailio having no binding), calls ok/failed, RSS. At the end: a summary with
// the RSS slope after warm-up (plateau vs growth).
import * as dgram from "node:dgram";
import { startFuzzStack } from "../test/support/fuzz/stack";
import { startCaller } from "../test/support/fuzz/caller";
import { build, Kind } from "../test/support/fuzz/corpus";
import { mutateSip } from "../test/support/fuzz/mutate";
import { signature } from "../test/support/fuzz/fuzzer";
import { Prng } from "../test/support/fuzz/prng";
import { WireTracker } from "../test/support/fuzz/wire";
import { createLossyRelay, LossyRelay } from "../test/support/lossy-relay";
import { sleep } from "../test/support/wait";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const MINUTES = Number(arg("minutes", "60"));
const RESTART_MIN = Number(arg("restart-every", "10"));
const LOSS = Number(arg("loss", "0.1"));
const CALL_EVERY_S = Number(arg("call-every", "8"));
const JUNK_PER_S = Number(arg("junk", "20"));
const SEED = Number(arg("seed", String(Date.now() % 2 ** 31)));
const JUNK_INVITES = process.argv.includes("--junk-invites");
const JUNK_KINDS: Kind[] = [
  "OPTIONS",
  "MESSAGE",
  "SUBSCRIBE",
  "NOTIFY",
  "INFO",
  "REFER",
  "BYE",
  "CANCEL",
  "ACK",
  "resp-REGISTER",
  "resp-dialog",
  ...(JUNK_INVITES ? ["INVITE" as Kind] : []),
];
const mib = (b: number): string => (b / 1048576).toFixed(1);

interface Sample {
  t: number;
  rss: number;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : NaN;
}

async function main(): Promise<void> {
  console.log(
    `soak: ${MINUTES} min, Kamailio restart every ${RESTART_MIN} min, ${(LOSS * 100).toFixed(0)} % loss, a call every ${CALL_EVERY_S} s, ${JUNK_PER_S} junk messages/s, seed ${SEED}`,
  );
  let lossy: LossyRelay | undefined;
  const stack = await startFuzzStack({
    kinds: ["udp"],
    udpServer: async (kam) => {
      lossy = await createLossyRelay({ targetPort: kam.ports.udp });
      lossy.drop({ direction: "both", count: Infinity, match: () => Math.random() < LOSS });
      return lossy.port;
    },
  });
  const caller = await startCaller(stack);
  const acct = stack.accounts[0];
  const rng = new Prng(SEED);
  const junkSocks = [dgram.createSocket("udp4"), dgram.createSocket("udp4")];
  for (const s of junkSocks) s.on("error", () => undefined);
  await new Promise<void>((r) => junkSocks[0].bind(0, "127.0.0.1", () => r()));
  await new Promise<void>((r) => junkSocks[1].bind(0, "127.0.0.2", () => r()));
  const sink = dgram.createSocket("udp4");
  sink.on("message", () => undefined);
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", () => r()));
  const wire = new WireTracker(); // out-of-dialog junk only: no dialog is ever learned

  const t0 = Date.now();
  const end = t0 + MINUTES * 60_000;
  const samples: Sample[] = [];
  let calls = { ok: 0, failed: 0 };
  const failures: string[] = [];
  let junk = 0;
  let restarts = 0;
  let redRestarts = 0;
  const deaths = new Map<string, number>();
  let notRegisteredPhoneS = 0;
  let noBindingS = 0;
  let lastRestart = t0;
  let lastCall = 0;
  let lastMinute = t0;
  let lastTick = Date.now();
  let bindingNow = true;
  let stopping = false;

  // Kamailio's view, every 2 s (kamcmd is not free).
  const bindingPoll = (async () => {
    while (!stopping) {
      const ul = await stack.kam.ulDump().catch(() => undefined);
      bindingNow = !!ul?.some((b) => b.aor === acct.user);
      await sleep(2000);
    }
  })();

  const callOnce = async (): Promise<void> => {
    const r = await caller.normalCall(15_000);
    if (r.answered && r.greeting) calls.ok++;
    else {
      calls.failed++;
      if (failures.length < 20) failures.push(`${new Date().toISOString().slice(11, 19)} ${r.detail}`);
    }
  };
  let callRunning: Promise<void> | undefined;

  try {
    while (Date.now() < end) {
      const now = Date.now();
      const dt = (now - lastTick) / 1000;
      lastTick = now;
      if (stack.registration(acct.id) !== "REGISTERED") notRegisteredPhoneS += dt;
      if (!bindingNow) noBindingS += dt;
      if (!stack.alive()) {
        redRestarts++;
        const sig = signature(stack.red.output());
        deaths.set(sig, (deaths.get(sig) ?? 0) + 1);
        console.log(`  ${new Date().toISOString().slice(11, 19)} Node-RED died: ${sig}; restarting`);
        const down = Date.now();
        await stack.restartRed();
        notRegisteredPhoneS += (Date.now() - down) / 1000; // not registered while it was dead and starting
        lastTick = Date.now();
      }
      if (now - lastRestart >= RESTART_MIN * 60_000) {
        lastRestart = now;
        restarts++;
        await stack.kam.restart();
      }
      if (!callRunning && now - lastCall >= CALL_EVERY_S * 1000) {
        lastCall = now;
        callRunning = callOnce().finally(() => {
          callRunning = undefined;
        });
      }
      // Junk for this 250 ms slice.
      for (let i = 0; i < JUNK_PER_S / 4; i++) {
        const r = rng.fork(junk);
        const outside = r.chance(0.5);
        const sock = junkSocks[outside ? 1 : 0];
        const target = {
          transport: "UDP" as const,
          user: acct.user,
          domain: `127.0.0.1:${stack.kam.ports.udp}`,
          peerHost: outside ? "127.0.0.2" : "127.0.0.1",
          peerPort: sock.address().port,
          sinkPort: sink.address().port,
          registrarPort: stack.kam.ports.udp,
          wire,
        };
        const m = mutateSip(build(r.pick(JUNK_KINDS), target, r), r, 60_000);
        sock.send(m.bytes, acct.sipPort, "127.0.0.1");
        junk++;
      }
      if (now - lastMinute >= 60_000) {
        lastMinute = now;
        const rss = stack.rss();
        samples.push({ t: (now - t0) / 60_000, rss });
        console.log(
          `${((now - t0) / 60_000).toFixed(0).padStart(3)} min | uncaught ${stack.crashLines().length} | Node-RED restarts ${redRestarts} | not REGISTERED ${notRegisteredPhoneS.toFixed(0)} s (phone), no binding ${noBindingS.toFixed(0)} s (Kamailio) | calls ok ${calls.ok} failed ${calls.failed} | junk ${junk} | Kamailio restarts ${restarts} | lossy relay dropped ${lossy?.dropped ?? 0}/${(lossy?.dropped ?? 0) + (lossy?.forwarded ?? 0)} | RSS ${mib(rss)} MiB`,
        );
      }
      await sleep(250);
    }
    await callRunning;
  } finally {
    stopping = true;
    await bindingPoll;
    for (const s of [...junkSocks, sink]) await new Promise<void>((r) => s.close(() => r()));
  }

  const warm = samples.filter((s) => s.t >= Math.max(1, MINUTES * 0.2));
  const perHour = slope(
    warm.map((s) => s.t / 60),
    warm.map((s) => s.rss / 1048576),
  );
  const first = warm[0]?.rss ?? NaN;
  const last = warm[warm.length - 1]?.rss ?? NaN;
  const verdict = !Number.isFinite(perHour) ? "not enough samples" : Math.abs(last - first) / 1048576 < 10 || perHour < 10 ? "plateau" : "GROWTH";
  console.log("\nsummary");
  console.log(
    `  duration ${((Date.now() - t0) / 60_000).toFixed(1)} min; Kamailio restarts ${restarts}; lossy relay dropped ${lossy?.dropped ?? 0} of ${(lossy?.dropped ?? 0) + (lossy?.forwarded ?? 0)} datagrams`,
  );
  console.log(
    `  uncaught exceptions ${stack.crashLines().length}; Node-RED restarts ${redRestarts}${[...deaths].map(([sig, n]) => `\n    ${n}× ${sig}`).join("")}`,
  );
  console.log(`  not REGISTERED: ${notRegisteredPhoneS.toFixed(0)} s by the phone's state, ${noBindingS.toFixed(0)} s without a binding at Kamailio`);
  console.log(`  calls ok ${calls.ok}, failed ${calls.failed}${failures.length ? "\n    " + failures.join("\n    ") : ""}`);
  console.log(`  junk messages ${junk}`);
  console.log(`  RSS: ${samples.map((s) => mib(s.rss)).join(" ")} MiB`);
  console.log(`  RSS slope after warm-up (${warm.length} samples): ${perHour.toFixed(1)} MiB/h, ${mib(first)} → ${mib(last)} MiB: ${verdict}`);
  const bad = redRestarts > 0 || stack.crashLines().length > 0 || calls.failed > calls.ok * 0.1 || verdict === "GROWTH";
  console.log(bad ? "RESULT: FAILED" : "RESULT: survived");
  await caller.stop();
  await stack.stop();
  await lossy?.close();
  calls = { ok: 0, failed: 0 };
  process.exit(bad ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
