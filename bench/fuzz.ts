// The long fuzz run (prints figures, asserts nothing; exit code 1 if the stack did not survive):
//   npm run build && node dist/bench/fuzz.js [--count 100000] [--seed N] [--rtp N] [--only udp,tcp,ws] [--stop-on-crash]
// A real Node-RED (child process) with three accounts (UDP, TCP, WS) registered to
// Kamailio; --count mutated SIP messages per transport (UDP split over the registrar
// relay, 127.0.0.1 and 127.0.0.2), --rtp mutated RTP packets (default = --count) into
// a live call from baresip. After a crash Node-RED is restarted and the run goes on
// (unless --stop-on-crash); every crash is written to test/support/fuzz/crashers/
// and appended to the crashers file (FUZZ_CRASHERS_FILE, default test/support/fuzz/crashers/crashers.md).
// Then: alive, no uncaught exception, every account REGISTERED with one binding, and
// a normal call from baresip is answered and hears the greeting start.
import { startFuzzStack } from "../test/support/fuzz/stack";
import { runFuzz, DEFAULT_CRASHERS_FILE } from "../test/support/fuzz/fuzzer";
import { startCaller } from "../test/support/fuzz/caller";
import { verifyAfterFuzz } from "../test/support/fuzz/verify";
import { sleep, waitFor } from "../test/support/wait";
import type { RelayKind } from "../test/support/fuzz/relay";

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const count = Number(arg("count", "100000"));
  const seed = Number(arg("seed", String(Date.now() % 2 ** 31)));
  const rtp = Number(arg("rtp", String(count)));
  const kinds = (arg("only", "udp,tcp,ws") ?? "").split(",").filter(Boolean) as RelayKind[];
  const stopOnCrash = process.argv.includes("--stop-on-crash");
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  console.log(`fuzz: seed ${seed}, ${count} SIP messages per transport (${kinds.join(", ")}), ${rtp} RTP packets`);
  const stack = await startFuzzStack({ kinds });
  const caller = await startCaller(stack);
  let code = 0;
  try {
    await caller.keepCallUp();
    await waitFor(() => stack.events.some((e) => e.t === "call" && e.p === "ANSWERED"), 15_000, "the baresip call ANSWERED").catch(() =>
      console.log("warning: the live call did not come up before fuzzing"),
    );
    await sleep(500);
    const res = await runFuzz(stack, {
      seed,
      perTransport: count,
      rtp,
      continueAfterCrash: !stopOnCrash,
      pinpoint: !process.argv.includes("--no-pinpoint"),
      crashersFile: process.env.FUZZ_CRASHERS_FILE ?? DEFAULT_CRASHERS_FILE,
      log: (l) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${l}`),
      tick: () => caller.keepCallUp(),
    });
    const sec = res.ms / 1000;
    const sipSent = res.sent["udp-registrar"] + res.sent["udp-local"] + res.sent["udp-outside"] + res.sent.tcp + res.sent.ws;
    console.log("\n| channel | messages | rate (/s) |\n| --- | ---: | ---: |");
    for (const [k, v] of Object.entries(res.sent)) console.log(`| ${k} | ${v} | ${(v / sec).toFixed(0)} |`);
    console.log(`| all SIP | ${sipSent} | ${(sipSent / sec).toFixed(0)} |`);
    console.log(`\nduration ${sec.toFixed(1)} s; skipped (no TCP/WS connection at that moment): ${JSON.stringify(res.skipped)}`);
    console.log(`phone answers to injected messages: ${JSON.stringify(res.answers)}`);
    console.log(`message kinds: ${JSON.stringify(res.byKind)}`);
    console.log(`RSS before ${mib(res.rssBefore)} MiB, after ${mib(res.rssAfter)} MiB`);
    // Keys the flow saw although baresip pressed none: forged by mutated RTP events or SIP INFO.
    const keys = stack.events.filter((e) => e.t === "dtmf" || e.t === "dtmf-code");
    const calls = stack.events.filter((e) => e.t === "call" && e.p === "ANSWERED");
    console.log(
      `flow events kept (last ${stack.events.length}): ${keys.length} forged keys/codes (${keys.filter((e) => e.a === "acct-udp").length} on the UDP account with the live call), ${calls.length} calls ANSWERED`,
    );
    console.log(`crashes: ${res.crashes.length}`);
    const bySig = new Map<string, number[]>();
    for (const c of res.crashes) bySig.set(c.signature ?? "?", [...(bySig.get(c.signature ?? "?") ?? []), c.index]);
    for (const [sig, idx] of bySig) {
      const culprit = res.crashes.find((c) => c.signature === sig && c.culprit)?.culprit;
      console.log(
        `  ${idx.length}× ${sig}\n     first after #${idx[0]}; culprit ${culprit ? `#${culprit.index} ${culprit.channel} [${culprit.ops.join(",")}] ${culprit.confirmed ? "confirmed alone" : "not alone"}` : "not pinpointed"}`,
      );
    }
    const v = await verifyAfterFuzz(stack, caller);
    console.log(
      `\nafter the run: alive ${v.alive}; uncaught ${v.crashLines.length}; registrations ${JSON.stringify(v.registrations)}; bindings ${JSON.stringify(v.bindings)}`,
    );
    console.log(`normal call: ${v.call.detail}`);
    if (!v.alive) console.log(`Node-RED died after the run; its last lines:\n${stack.red.output().split("\n").slice(-25).join("\n")}`);
    console.log(`network guard blocks: ${v.guard.length}${v.guard.length ? "\n  " + v.guard.slice(0, 10).join("\n  ") : ""}`);
    console.log(`RSS at the end ${mib(stack.rss())} MiB`);
    console.log(v.ok && res.crashes.length === 0 ? "RESULT: survived" : "RESULT: FAILED");
    if (!v.ok || res.crashes.length) code = 1;
  } finally {
    await caller.stop();
    await stack.stop();
  }
  process.exit(code);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
