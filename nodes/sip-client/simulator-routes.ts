// The editor's "Simulate a call" (sip-call and sip-dtmf edit dialogs): admin HTTP endpoints that
// start a virtual incoming call on a deployed sip-client account, press keys and hang up; the call's
// state and its audio go to the editor over RED.comms (the editor's authenticated websocket).
// Like the Diagnose route: under RED.httpAdmin, with the write permission (it runs the flow).

import type { CallInfo, Softphone } from "../../src";

/** The comms topic of one account's simulated calls (the editor subscribes to it). */
export const SIMULATOR_TOPIC_PREFIX = "sip-client/simulator/";

/** What the editor receives on SIMULATOR_TOPIC_PREFIX + account id. */
export type SimulatorEvent =
  | { kind: "state"; call: CallInfo }
  /** 16-bit little-endian PCM at 8 kHz, base64 (a 100 ms batch: 1600 bytes, ~2.2 kB). */
  | { kind: "audio"; callId: string; rate: 8000; pcm: string }
  | { kind: "key"; callId: string; key: string; method: string };

/** The part of RED the simulator routes use. */
export interface SimulatorRed {
  httpAdmin?: { post?(path: string, ...handlers: Array<SimMiddleware | SimHandler>): unknown };
  auth?: { needsPermission?(permission: string): SimMiddleware };
  comms?: { publish(topic: string, data: unknown, retain: boolean): void };
}

interface SimRequest {
  query?: Record<string, unknown>;
  params: Record<string, string | undefined>;
}
interface SimResponse {
  status(code: number): SimResponse;
  json(body: unknown): unknown;
}
type SimMiddleware = (req: never, res: never, next: () => void) => void;
type SimHandler = (req: SimRequest, res: SimResponse) => void;

export interface SimulatorDeps {
  /** The running Softphone of a deployed sip-client node: null = no such node, undefined = not started. */
  phone(id: string): Softphone | null | undefined;
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return "";
}

function fail(res: SimResponse, status: number, message: string): void {
  res.status(status).json({ error: message, message });
}

/** Calls of every account whose events already go to the editor (one set of listeners per Softphone). */
const published = new WeakSet<Softphone>();

/** Sends an account's simulated calls (state, keys, audio) to the editor; once per Softphone. */
export function publishSimulations(RED: SimulatorRed, id: string, phone: Softphone): void {
  if (published.has(phone) || !RED.comms) return;
  published.add(phone);
  const comms = RED.comms;
  const topic = SIMULATOR_TOPIC_PREFIX + id;
  const send = (event: SimulatorEvent) => {
    try {
      comms.publish(topic, event, false);
    } catch {
      // the editor is gone: the call goes on without it
    }
  };
  phone.on("call", (_state, call) => {
    if (call.simulated) send({ kind: "state", call });
  });
  phone.on("dtmf", (key, method, call) => {
    if (call.simulated) send({ kind: "key", callId: call.id, key, method });
  });
  phone.on("simulatedAudio", (pcm, call) => {
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    send({ kind: "audio", callId: call.id, rate: 8000, pcm: bytes.toString("base64") });
  });
}

/** Registers POST /sip-client/:id/simulate, .../simulate/:call/key and .../simulate/:call/hangup. */
export function registerSimulatorRoutes(RED: SimulatorRed, deps: SimulatorDeps): void {
  const http = RED.httpAdmin;
  if (!http?.post) return;
  const needsWrite: SimMiddleware =
    typeof RED.auth?.needsPermission === "function" ? RED.auth.needsPermission("sip-client.write") : (_req, _res, next) => next();

  /** The running account of the request, or an answer saying why there is none. */
  const account = (req: SimRequest, res: SimResponse): Softphone | undefined => {
    const id = req.params.id ?? "";
    const phone = deps.phone(id);
    if (phone === null) fail(res, 404, "no deployed sip-client node with this id: deploy the flow first");
    else if (!phone) fail(res, 409, "the SIP account is not started: deploy a sip-call or sip-dtmf node that uses it");
    else {
      publishSimulations(RED, id, phone);
      return phone;
    }
    return undefined;
  };
  // Every handler answers itself; nothing thrown reaches express.
  const guarded =
    (fn: (req: SimRequest, res: SimResponse) => void | Promise<void>): SimHandler =>
    (req, res) => {
      const answerError = (err: unknown) => {
        try {
          fail(res, 400, err instanceof Error ? err.message : String(err));
        } catch {
          /* the response is gone */
        }
      };
      try {
        const done = fn(req, res);
        if (done) done.catch(answerError);
      } catch (err) {
        answerError(err);
      }
    };

  http.post(
    "/sip-client/:id/simulate",
    needsWrite,
    guarded((req, res) => {
      const phone = account(req, res);
      if (!phone) return;
      const call = phone.simulateCall({ from: text(req.query?.from), name: text(req.query?.name) || undefined });
      res.json({ call, topic: SIMULATOR_TOPIC_PREFIX + (req.params.id ?? "") });
    }),
  );
  http.post(
    "/sip-client/:id/simulate/:call/key",
    needsWrite,
    guarded((req, res) => {
      const phone = account(req, res);
      if (!phone) return;
      phone.simulateDigit(req.params.call ?? "", text(req.query?.key));
      res.json({ ok: true });
    }),
  );
  http.post(
    "/sip-client/:id/simulate/:call/hangup",
    needsWrite,
    guarded(async (req, res) => {
      const phone = account(req, res);
      if (!phone) return;
      await phone.simulateHangup(req.params.call ?? "");
      res.json({ ok: true });
    }),
  );
}
