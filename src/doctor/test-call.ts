// The SIP doctor's test call: a call through the PBX to the account itself (we answer our own
// incoming leg, which no flow sees), or to a number the user gives (an echo service or a second
// extension). It checks that audio flows both ways (a tone burst each way, detected on the other
// leg), measures the round-trip delay, and sends a key by each DTMF method to see which arrive.
//
// Round-trip delay: leg A sends a tone; the other side answers with a tone (our leg B does so as
// soon as it hears A's; an echo returns A's own); A times the answer's first frame. For the
// self-call, B's reaction time (from hearing to sending) is taken off, so what is left is the
// network and the PBX both ways, as a caller would feel it. RTCP's RTT is not used: a PBX that
// relays media answers RTCP itself, and only the first hop would be measured.
//
// Bounded: one test call per account at a time (the Softphone), TEST_CALL_TIMEOUT_MS in all,
// every step its own short timeout; the calls are always hung up; dial() counts them against the
// call limit. Only the account's own AOR or the number the user gave is dialled.
import type { CallInfo, CallParty, CallState, DtmfDigit, DtmfMethod, WireDtmfMethod } from "../types";
import { DTMF_METHODS } from "../types";
import { PROBE_TONE_BACK_HZ, PROBE_TONE_OUT_HZ, probeTone, ToneDetector } from "./tone-probe";
import type { Facts, FindingId, FindingLevel } from "./doctor";

/** The whole test call at most (ms): set-up, tones, keys; then it is hung up whatever happens. */
export const TEST_CALL_TIMEOUT_MS = 30_000;
/** How long the test call may ring (s), within TEST_CALL_TIMEOUT_MS. */
export const TEST_CALL_RING_SECONDS = 20;
/** How long a probe tone may take to be heard on the other leg (ms). */
export const TONE_CHECK_TIMEOUT_MS = 3000;
/** How long a key sent by one method may take to arrive (ms). */
export const DTMF_CHECK_TIMEOUT_MS = 2500;
/** Round-trip delay above which calls feel sluggish (ms; ITU-T G.114: 150 ms one way). */
export const ROUND_TRIP_WARN_MS = 300;
/** One key per method, all different, so a key is never merged with another method's. */
const PROBE_DIGITS: Readonly<Record<WireDtmfMethod, DtmfDigit>> = { rfc4733: "4", info: "7", inband: "9" };
/** The methods as the report names them. */
const METHOD_NAMES: Readonly<Record<DtmfMethod, string>> = { rfc4733: "RFC 4733", info: "SIP INFO", inband: "in-band", simulated: "simulated" };

export interface TestCallWatcher {
  state?(state: CallState, call: CallInfo): void;
  dtmf?(digit: DtmfDigit, method: DtmfMethod, call: CallInfo): void;
}

/** What the test call uses of the Softphone (its facade, with the doctor's calls kept from the flow). */
export interface TestCallPort {
  /** Dials quietly (no flow sees the call); throws like dial() (call limit, bad target). */
  dial(target: string, ringTimeoutSeconds: number): CallInfo;
  /** The next incoming call that `match` accepts becomes the doctor's (quiet, not answered); undefined stops. */
  trapInbound(trap?: { match: (from: CallParty) => boolean; taken: (call: CallInfo) => void }): void;
  answer(id: string): Promise<void>;
  hangup(id: string): Promise<void>;
  /** Plays 8 kHz PCM into the call; resolves when queued. */
  playPcm(id: string, pcm: Int16Array): Promise<unknown>;
  /** Stops what the call plays. */
  stopPlayback(id: string): void;
  sendDtmf(id: string, digit: DtmfDigit, method: WireDtmfMethod): Promise<void>;
  watchCall(id: string, watcher: TestCallWatcher): () => void;
  /** 20 ms frames of what the remote side of the call sends. */
  listenAudio(id: string, onFrame: (pcm: Int16Array) => void): () => void;
  /** The DTMF methods the account listens for. */
  readonly receiveMethods: readonly DtmfMethod[];
  /** The account's user: the self-call's incoming leg comes from it. */
  readonly user: string;
  /** The account's own AOR. */
  readonly selfTarget: string;
}

export interface TestCallOptions {
  /** Monotonic ms (default performance.now). */
  now?: () => number;
  timeoutMs?: number;
  toneTimeoutMs?: number;
  dtmfTimeoutMs?: number;
}

export type TestFinding = { id: FindingId; level: FindingLevel; facts: Facts };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves with `value()` once `done()` holds (checked on `poke`), or undefined after `ms`. */
function until<T>(ms: number, subscribe: (poke: () => void) => () => void, done: () => T | undefined): Promise<T | undefined> {
  return new Promise((resolve) => {
    let stop = () => {};
    const finish = (v: T | undefined) => {
      clearTimeout(timer);
      stop();
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), ms);
    stop = subscribe(() => {
      const v = done();
      if (v !== undefined) finish(v);
    });
    const v = done();
    if (v !== undefined) finish(v);
  });
}

/**
 * Runs the test call; `target` undefined calls the account itself. Never rejects: every failure is
 * a finding. The calls are hung up before it resolves.
 */
export async function runTestCall(port: TestCallPort, target: string | undefined, options: TestCallOptions = {}): Promise<TestFinding[]> {
  const now = options.now ?? (() => performance.now());
  const self = target === undefined;
  const shown = self ? port.selfTarget : target;
  const ids = new Set<string>();
  const unsubscribe: Array<() => void> = [];
  const findings: TestFinding[] = [];
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve();
    }, options.timeoutMs ?? TEST_CALL_TIMEOUT_MS);
  });
  try {
    await Promise.race([timeout, steps()]);
  } catch (err) {
    findings.push({ id: "test-call", level: "fail", facts: { target: shown, self, reason: (err as Error)?.message ?? String(err) } });
  } finally {
    clearTimeout(timer);
    port.trapInbound(undefined);
    for (const off of unsubscribe) off();
    await Promise.all([...ids].map((id) => port.hangup(id).catch(() => undefined)));
  }
  if (timedOut)
    findings.push({
      id: "test-call",
      level: "fail",
      facts: { target: shown, self, timeout: true, seconds: (options.timeoutMs ?? TEST_CALL_TIMEOUT_MS) / 1000 },
    });
  return [...findings]; // a step still running after the timeout adds nothing to the report

  /** Resolves at ANSWERED; rejects when the call ends first, with why. */
  function answered(id: string): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      const off = port.watchCall(id, {
        state(s, c) {
          if (s === "ANSWERED") resolve();
          if (s === "ENDED") reject(new Error([c.outcome, c.statusCode, c.reason].filter((x) => x !== undefined && x !== "").join(" ") || "ended"));
        },
      });
      unsubscribe.push(off);
    });
    p.catch(() => undefined); // may be left unawaited when an earlier step fails
    return p;
  }

  async function steps(): Promise<void> {
    let inbound: Promise<CallInfo> | undefined;
    if (self) {
      inbound = new Promise<CallInfo>((resolve) =>
        port.trapInbound({
          match: (from) => from.number === port.user,
          taken: (call) => {
            ids.add(call.id);
            port.trapInbound(undefined);
            resolve(call);
          },
        }),
      );
    }
    const a = port.dial(shown, TEST_CALL_RING_SECONDS);
    ids.add(a.id);
    if (a.state === "ENDED") throw new Error(a.reason ?? "the call could not be placed");
    const aUp = answered(a.id);
    let b: CallInfo | undefined;
    if (inbound) {
      b = await Promise.race([inbound, aUp.then(() => undefined)]);
      if (!b) throw new Error("answered, but not by this account: the server routed the call elsewhere");
      const bUp = answered(b.id);
      await port.answer(b.id);
      await Promise.all([aUp, bUp]);
    } else await aUp;
    if (timedOut) return;
    findings.push({ id: "test-call", level: "ok", facts: { target: shown, self } });
    await audioChecks(a, b);
    if (timedOut) return;
    for (const m of DTMF_METHODS) {
      await dtmfCheck(a, b ?? a, m);
      if (timedOut) return;
    }
  }

  /** A tone each way (self) or a tone and its echo (a number); the round-trip delay from it. */
  async function audioChecks(a: CallInfo, b: CallInfo | undefined): Promise<void> {
    const toneMs = options.toneTimeoutMs ?? TONE_CHECK_TIMEOUT_MS;
    const backHz = b ? PROBE_TONE_BACK_HZ : PROBE_TONE_OUT_HZ;
    const atA = new ToneDetector(backHz);
    const atB = new ToneDetector(PROBE_TONE_OUT_HZ);
    let bSent: number | undefined;
    const pokes = new Set<() => void>();
    const poke = () => pokes.forEach((p) => p());
    const watch = (p: () => void) => {
      pokes.add(p);
      return () => pokes.delete(p);
    };
    const answerTone = async (): Promise<void> => {
      if (!b || bSent !== undefined) return;
      bSent = now();
      await port.playPcm(b.id, probeTone(PROBE_TONE_BACK_HZ));
    };
    unsubscribe.push(
      port.listenAudio(a.id, (pcm) => {
        if (!atA.heardAt && atA.push(pcm, now())) poke();
      }),
    );
    if (b)
      unsubscribe.push(
        port.listenAudio(b.id, (pcm) => {
          if (atB.heardAt || !atB.push(pcm, now())) return;
          answerTone().catch(() => undefined);
          poke();
        }),
      );
    await port.playPcm(a.id, probeTone(PROBE_TONE_OUT_HZ));
    const t0 = now();
    if (b) {
      await until(toneMs, watch, () => atB.heardAt);
      if (atB.heardAt === undefined) await answerTone(); // still test the way back
    }
    await until(toneMs, watch, () => atA.heardAt);
    // The rest of the bursts would mask the in-band keys that follow.
    port.stopPlayback(a.id);
    if (b) port.stopPlayback(b.id);
    const out = b ? atB.heardAt !== undefined : undefined;
    const back = atA.heardAt !== undefined;
    if (b) findings.push({ id: "audio", level: out && back ? "ok" : out || back ? "warn" : "fail", facts: { out, back, target: shown } });
    else findings.push({ id: "audio", level: back ? "ok" : "fail", facts: { back, echo: true, target: shown } });
    if (atA.heardAt === undefined || (b && atB.heardAt === undefined)) {
      findings.push({ id: "round-trip", level: "info", facts: {} });
      return;
    }
    // The self-call: B's reaction (hearing A's tone → its own tone queued) is not part of the path.
    const reaction = b && atB.heardAt !== undefined && bSent !== undefined ? bSent - atB.heardAt : 0;
    const ms = Math.max(0, Math.round(atA.heardAt - t0 - reaction));
    findings.push({ id: "round-trip", level: ms > ROUND_TRIP_WARN_MS ? "warn" : "ok", facts: { ms, limit: ROUND_TRIP_WARN_MS } });
  }

  /** One key by `method` from A; did it arrive at `to` (B, or A itself for an echo), and how? */
  async function dtmfCheck(a: CallInfo, to: CallInfo, method: WireDtmfMethod): Promise<void> {
    const id = `dtmf-${method}` as FindingId;
    const echo = to.id === a.id;
    if (!port.receiveMethods.includes(method)) {
      findings.push({ id, level: "info", facts: { method, name: METHOD_NAMES[method], off: true } });
      return;
    }
    const digit = PROBE_DIGITS[method];
    let via: DtmfMethod | undefined;
    const pokes = new Set<() => void>();
    unsubscribe.push(
      port.watchCall(to.id, {
        dtmf(d, m) {
          if (d !== digit || via) return;
          via = m;
          pokes.forEach((p) => p());
        },
      }),
    );
    let error: string | undefined;
    await port.sendDtmf(a.id, digit, method).catch((e: Error) => {
      error = e?.message ?? String(e);
    });
    await until(
      options.dtmfTimeoutMs ?? DTMF_CHECK_TIMEOUT_MS,
      (p) => {
        pokes.add(p);
        return () => pokes.delete(p);
      },
      () => via,
    );
    const facts: Facts = {
      method,
      name: METHOD_NAMES[method],
      via,
      viaName: via && METHOD_NAMES[via],
      error,
      target: shown,
      echo: echo || undefined,
    };
    if (echo) findings.push({ id, level: via ? "ok" : "info", facts });
    else findings.push({ id, level: via === method ? "ok" : via ? "warn" : "fail", facts });
    await sleep(100); // the next key starts on a quiet line
  }
}
