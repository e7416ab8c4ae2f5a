// The checks after a fuzz run: the Node-RED process is alive, logged no
// uncaught exception / unhandled rejection, every account is REGISTERED again
// with exactly one binding at Kamailio, and a normal call is answered.

import { Caller } from "./caller";
import { FuzzStack } from "./stack";
import { sleep } from "../wait";

export interface Verdict {
  alive: boolean;
  crashLines: string[];
  registrations: Record<string, string | undefined>;
  bindings: Record<string, number>;
  call: { answered: boolean; greeting: boolean; detail: string };
  guard: string[];
  ok: boolean;
}

/** Re-registration after a reconnect may wait for back-off: give it this long. */
export const RECOVER_MS = 60_000;
/**
 * A normal call is tried again (every 5 s) for this long. Calls the fuzzer set up from the
 * registrar's address hold call slots (maxCalls 4) until they end: unACKed ones after 64·T1
 * (32 s), ACKed ones without audio at the RTP timeout (60 s, the default): cover the longer.
 */
export const CALL_RETRY_MS = 75_000;

export async function verifyAfterFuzz(stack: FuzzStack, caller: Caller, recoverMs = RECOVER_MS): Promise<Verdict> {
  const deadline = Date.now() + recoverMs;
  const bindings: Record<string, number> = {};
  const registrations: Record<string, string | undefined> = {};
  for (;;) {
    const ul = await stack.kam.ulDump().catch(() => []);
    for (const a of stack.accounts) {
      bindings[a.user] = ul.filter((b) => b.aor === a.user).length;
      registrations[a.id] = stack.registration(a.id);
    }
    const good = stack.accounts.every((a) => registrations[a.id] === "REGISTERED" && bindings[a.user] === 1);
    if (good || Date.now() > deadline || !stack.alive()) break;
    await sleep(1000);
  }
  // Calls the fuzzer set up may still hold the call slots: retry for CALL_RETRY_MS (see there).
  let call = { answered: false, greeting: false, detail: "process dead" };
  for (const until = Date.now() + CALL_RETRY_MS; stack.alive();) {
    call = await caller.normalCall();
    if (call.answered || Date.now() > until) break;
    await sleep(5000);
  }
  const crashLines = stack.crashLines();
  const alive = stack.alive();
  const ok =
    alive && crashLines.length === 0 && call.answered && stack.accounts.every((a) => registrations[a.id] === "REGISTERED" && bindings[a.user] === 1);
  return { alive, crashLines, registrations, bindings, call, guard: stack.guardLines(), ok };
}
