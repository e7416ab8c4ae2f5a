// HTTP endpoints used by the Node-RED editor (the "Check registration" button,
// the language list and the ▶ preview buttons). They are registered on
// RED.httpAdmin, so they live under the editor's admin root and are protected
// by the editor's own authentication when adminAuth is configured.

import { encodeWav } from "../../src";

/** One text-to-speech language offered by an engine. */
export interface SpeechLanguage {
  engine: string;
  language: string;
  label?: string;
}

/** The part of the speech service the admin routes need. */
export interface SpeechServiceLike {
  /** Synthesizes text to 16-bit mono PCM at 8 kHz. */
  synthesize(opts: { text: string; language: string; engine?: string }): Promise<Int16Array>;
  /** Languages offered by the available engines. */
  languages(): SpeechLanguage[] | Promise<SpeechLanguage[]>;
}

export interface ClientStateSummary {
  registration: string;
  reason?: string;
  calls: number;
}

export interface AdminRouteDeps {
  getSpeech(): SpeechServiceLike;
  /** State of a deployed sip-client config node, or null if there is none with this id. */
  getState(id: string): ClientStateSummary | null;
  /** Runs the SIP doctor on a deployed sip-client node (null: no such node); rejects when it is not started. */
  /** testCall: true calls the account itself, a string is the number to call (see Softphone.diagnose). */
  diagnose?(id: string, language: string, testCall?: true | string): Promise<unknown> | null;
  /** The last doctor report of a deployed node: undefined = none yet, null = no such node. */
  lastDiagnosis?(id: string): unknown;
}

/** Longest text the preview endpoint synthesizes. */
export const PREVIEW_MAX_TEXT = 500;

/** Previews synthesized at the same time (each keeps a speech engine busy). */
export const PREVIEW_MAX_CONCURRENT = 2;
/** Previews waiting for a free slot; beyond this the endpoint answers 429. */
export const PREVIEW_MAX_QUEUE = 8;

/** Sample rate of the audio returned by SpeechServiceLike.synthesize. */
export const PREVIEW_SAMPLE_RATE = 8000;

/** Longest test-call number the Diagnose button passes on (a SIP URI fits). */
export const TEST_NUMBER_MAX = 200;

function firstString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

// The part of Node-RED's RED (express under RED.httpAdmin) these routes use; RED itself fits.

/** An express request, as far as the routes read it. */
export interface AdminRequest {
  query?: Record<string, unknown>;
  params: Record<string, string | undefined>;
}

/** An express response, as far as the routes answer with it. */
export interface AdminResponse {
  status(code: number): AdminResponse;
  json(body: unknown): unknown;
  set(field: string, value: string): unknown;
  send(body: Buffer): unknown;
}

/** A permission check from RED.auth: the routes only pass it on to express. */
type AdminMiddleware = (req: never, res: never, next: () => void) => void;
type AdminHandler = (req: AdminRequest, res: AdminResponse) => void;

/** RED, as far as the admin routes need it. */
export interface AdminRed {
  httpAdmin?: {
    get(path: string, ...handlers: Array<AdminMiddleware | AdminHandler>): unknown;
    post?(path: string, ...handlers: Array<AdminMiddleware | AdminHandler>): unknown;
  };
  auth?: { needsPermission?(permission: string): AdminMiddleware };
}

function sendError(res: AdminResponse, status: number, message: string): void {
  res.status(status).json({ error: message, message });
}

/**
 * An async handler for express, which ignores the promise: a failure the handler did not answer
 * itself becomes a 500, never an unhandled rejection (it would stop Node-RED).
 */
function answered(handler: (req: AdminRequest, res: AdminResponse) => Promise<void>): AdminHandler {
  return (req, res) => {
    handler(req, res).catch((err: unknown) => {
      try {
        sendError(res, 500, errorText(err));
      } catch {
        /* the response is already gone */
      }
    });
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * At most `concurrency` jobs run, at most `queueMax` wait; `run` returns null when both are
 * full (the caller answers 429). A failed job frees its slot like a finished one.
 */
export class PreviewLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(
    readonly concurrency = PREVIEW_MAX_CONCURRENT,
    readonly queueMax = PREVIEW_MAX_QUEUE,
  ) {}

  get active(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  run<T>(job: () => Promise<T>): Promise<T> | null {
    if (this.running >= this.concurrency && this.waiting.length >= this.queueMax) return null;
    const start = async (): Promise<T> => {
      try {
        return await job();
      } finally {
        this.running--;
        const next = this.waiting.shift();
        if (next) {
          this.running++;
          next();
        }
      }
    };
    if (this.running < this.concurrency) {
      this.running++;
      return start();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(start);
  }
}

/** Registers the editor's admin endpoints for the sip-client nodes. */
export function registerAdminRoutes(RED: AdminRed, deps: AdminRouteDeps, limiter = new PreviewLimiter()): void {
  const http = RED.httpAdmin;
  if (!http) return; // e.g. Node-RED embedded without an editor
  const permission = (name: string): AdminMiddleware =>
    typeof RED.auth?.needsPermission === "function" ? RED.auth.needsPermission(name) : (_req, _res, next) => next();
  const needsRead = permission("sip-client.read");
  // A preview runs a speech engine (CPU, memory): only users who may change flows get it.
  const needsWrite = permission("sip-client.write");

  http.get(
    "/sip-client/tts/languages",
    needsRead,
    answered(async (_req, res) => {
      try {
        const list = await deps.getSpeech().languages();
        res.json(list.map((l) => ({ engine: l.engine, language: l.language, label: l.label ?? l.language })));
      } catch (err) {
        sendError(res, 500, errorText(err));
      }
    }),
  );

  http.get(
    "/sip-client/tts/preview",
    needsWrite,
    answered(async (req, res) => {
      const query = req.query ?? {};
      const text = (firstString(query.text) ?? "").trim();
      const language = (firstString(query.language) ?? "").trim();
      const engine = (firstString(query.engine) ?? "").trim();
      if (!text) return sendError(res, 400, "text is empty");
      if (text.length > PREVIEW_MAX_TEXT) {
        return sendError(res, 400, `text is longer than ${PREVIEW_MAX_TEXT} characters`);
      }
      if (!language) return sendError(res, 400, "language is missing");
      if (!/^[A-Za-z0-9_.+-]{1,40}$/.test(language)) return sendError(res, 400, "invalid language");
      if (engine && !/^[a-z0-9-]{1,20}$/.test(engine)) return sendError(res, 400, "invalid engine");
      try {
        const speech = deps.getSpeech();
        const job = limiter.run(() => speech.synthesize(engine ? { text, language, engine } : { text, language }));
        if (!job) {
          res.set("Retry-After", "5");
          return sendError(
            res,
            429,
            `too many previews at once (${limiter.concurrency} running, ${limiter.queueMax} waiting): try again in a few seconds`,
          );
        }
        const pcm = await job;
        const wav = encodeWav(pcm, PREVIEW_SAMPLE_RATE);
        res.set("Content-Type", "audio/wav");
        res.set("Cache-Control", "no-store");
        res.send(wav);
      } catch (err) {
        sendError(res, 400, errorText(err));
      }
    }),
  );

  http.get("/sip-client/:id/state", needsRead, (req: AdminRequest, res: AdminResponse) => {
    const id = req.params.id ?? "";
    let state: ClientStateSummary | null = null;
    try {
      state = deps.getState(id);
    } catch (err) {
      return sendError(res, 500, errorText(err));
    }
    if (!state) return sendError(res, 404, "no deployed sip-client node with this id");
    res.json({ registration: state.registration, reason: state.reason, calls: state.calls });
  });

  // The SIP doctor: running it sends requests to the server, so it needs write permission;
  // reading the last report needs read permission. Reports hold no secret.
  if (deps.diagnose && http.post) {
    const diagnose = (id: string, language: string, testCall?: true | string) => deps.diagnose!(id, language, testCall);
    http.post(
      "/sip-client/:id/diagnose",
      needsWrite,
      answered(async (req, res) => {
        const language = (firstString(req.query?.language) ?? "en").slice(0, 10);
        // ?testCall=1 adds the test call: to ?number= when given (an echo, a second extension), else to the account itself.
        const number = (firstString(req.query?.number) ?? "").trim().slice(0, TEST_NUMBER_MAX);
        const testCall = firstString(req.query?.testCall) === "1" ? number || true : undefined;
        const run = diagnose(req.params.id ?? "", language, testCall);
        if (!run) return sendError(res, 404, "no deployed sip-client node with this id");
        try {
          res.json(await run);
        } catch (err) {
          sendError(res, 409, errorText(err));
        }
      }),
    );
  }
  if (deps.lastDiagnosis) {
    const last = (id: string) => deps.lastDiagnosis!(id);
    http.get("/sip-client/:id/diagnose", needsRead, (req: AdminRequest, res: AdminResponse) => {
      const report = last(req.params.id ?? "");
      if (report === null) return sendError(res, 404, "no deployed sip-client node with this id");
      if (report === undefined) return sendError(res, 404, "no diagnosis yet");
      res.json(report);
    });
  }
}
