// The real caller of a fuzz run: baresip (bob) calls the UDP account through
// Kamailio. During the run it keeps one call up, so mutated RTP and in-dialog
// messages hit a live call; afterwards a fresh call proves the phone still
// answers (ANSWERED, then the greeting starts playing).

import { startBaresip, Baresip } from "../baresip";
import { sleep, waitFor } from "../wait";
import { FuzzStack, GREETING } from "./stack";

export interface Caller {
  bob: Baresip;
  /** Calls alice if no call of hers is up (at most once every REDIAL_MS). */
  keepCallUp(): Promise<void>;
  /** A fresh call after the fuzzing: resolves what happened (never throws). */
  normalCall(timeoutMs?: number): Promise<{ answered: boolean; greeting: boolean; detail: string }>;
  stop(): Promise<void>;
}

/** Minimum time between two re-dials while fuzzing. */
export const REDIAL_MS = 5000;

export async function startCaller(stack: FuzzStack): Promise<Caller> {
  const bob = await startBaresip({ user: "bob", password: "pw-bob", kamailio: stack.kam, answerMode: "auto" });
  await bob.waitRegistered();
  const acct = stack.accounts.find((a) => a.kind === "udp")?.id ?? "acct-udp";
  let lastDial = 0;
  const callUp = (): boolean => {
    // The last call event of the account's calls: ANSWERED/RINGING count as up.
    const open = new Map<string, string>();
    for (const e of stack.events) if (e.a === acct && e.t === "call" && e.c) open.set(e.c, String(e.p));
    return [...open.values()].some((s) => s === "ANSWERED" || s === "RINGING");
  };
  const dial = async (): Promise<void> => {
    lastDial = Date.now();
    try {
      await bob.hangup();
    } catch {
      /* no call */
    }
    try {
      await bob.dial(stack.kam.uri("alice"));
    } catch {
      /* reported by the checks */
    }
  };
  return {
    bob,
    async keepCallUp() {
      if (Date.now() - lastDial < REDIAL_MS || callUp()) return;
      await dial();
    },
    async normalCall(timeoutMs = 20_000) {
      try {
        await bob.hangup();
      } catch {
        /* none */
      }
      await sleep(500);
      const since = stack.events.length;
      const mark = bob.mark();
      await dial();
      const newEvents = () => stack.events.slice(since).filter((e) => e.a === acct);
      try {
        await waitFor(() => newEvents().some((e) => e.t === "call" && e.p === "ANSWERED"), timeoutMs, "ANSWERED");
      } catch {
        const ev = newEvents()
          .slice(-8)
          .map((e) => `${e.t}:${String(e.p)}${e.r ? `(${e.r})` : ""}`)
          .join(" ");
        const bevs = bob.events
          .slice(mark)
          .map((e) => `${(e as { type?: string }).type ?? ""}`)
          .join(" ");
        return { answered: false, greeting: false, detail: `no ANSWERED; node events: ${ev || "none"}; baresip: ${bevs || "none"}` };
      }
      let greeting = false;
      try {
        await waitFor(() => newEvents().some((e) => e.t === "playback" && e.p === "started"), 10_000, "greeting");
        greeting = true;
      } catch {
        /* reported */
      }
      try {
        await bob.hangup();
      } catch {
        /* gone */
      }
      return { answered: true, greeting, detail: greeting ? `answered, greeting "${GREETING}" started` : "answered, no greeting started" };
    },
    async stop() {
      await bob.stop();
    },
  };
}
