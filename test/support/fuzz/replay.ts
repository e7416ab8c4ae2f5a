// Replays saved reproducers against a fresh stack (Kamailio + Node-RED):
//   npm run build && node dist/test/support/fuzz/replay.js test/support/fuzz/crashers/<file>.repro.json [...]
// Prints, per file, whether Node-RED survived; exit code 1 if any killed it.
import * as fs from "node:fs";
import { startFuzzStack } from "./stack";
import { sendOne, Reproducer } from "./fuzzer";
import { sleep } from "../wait";

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  const stack = await startFuzzStack();
  let dead = 0;
  try {
    for (const f of files) {
      const rep = JSON.parse(fs.readFileSync(f, "utf8")) as Reproducer;
      if (!stack.alive()) await stack.restartRed();
      await sendOne(stack, rep.channel, Buffer.from(rep.base64, "base64"), rep.to);
      await sleep(1000);
      const alive = stack.alive();
      if (!alive) dead++;
      console.log(`${alive ? "survived" : "KILLED  "} ${f}${alive ? "" : "\n  " + stack.crashLines().slice(-2).join("\n  ")}`);
    }
  } finally {
    await stack.stop();
  }
  process.exit(dead ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
