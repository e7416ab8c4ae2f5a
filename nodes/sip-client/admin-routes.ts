// HTTP endpoints used by the Node-RED editor (the "Check registration" button,
// the language list and the ▶ preview buttons). They are registered on
// RED.httpAdmin, so they live under the editor's admin root and are protected
// by the editor's own authentication when adminAuth is configured.

import { encodeWav } from "../../src/speech/wav";

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
}

/** Longest text the preview endpoint synthesizes. */
export const PREVIEW_MAX_TEXT = 500;

/** Sample rate of the audio returned by SpeechServiceLike.synthesize. */
export const PREVIEW_SAMPLE_RATE = 8000;

function firstString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

function sendError(res: any, status: number, message: string): void {
  res.status(status).json({ error: message, message });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Registers the editor's admin endpoints for the sip-client nodes. */
export function registerAdminRoutes(RED: any, deps: AdminRouteDeps): void {
  const http = RED.httpAdmin;
  if (!http) return; // e.g. Node-RED embedded without an editor
  const needsRead =
    RED.auth && typeof RED.auth.needsPermission === "function"
      ? RED.auth.needsPermission("sip-client.read")
      : (_req: any, _res: any, next: () => void) => next();

  http.get("/sip-client/tts/languages", needsRead, async (_req: any, res: any) => {
    try {
      const list = await deps.getSpeech().languages();
      res.json(
        list.map((l) => ({ engine: l.engine, language: l.language, label: l.label ?? l.language })),
      );
    } catch (err) {
      sendError(res, 500, errorText(err));
    }
  });

  http.get("/sip-client/tts/preview", needsRead, async (req: any, res: any) => {
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
      const pcm = await speech.synthesize(engine ? { text, language, engine } : { text, language });
      const wav = encodeWav(pcm, PREVIEW_SAMPLE_RATE);
      res.set("Content-Type", "audio/wav");
      res.set("Cache-Control", "no-store");
      res.send(wav);
    } catch (err) {
      sendError(res, 400, errorText(err));
    }
  });

  http.get("/sip-client/:id/state", needsRead, (req: any, res: any) => {
    const id = String(req.params.id ?? "");
    let state: ClientStateSummary | null = null;
    try {
      state = deps.getState(id);
    } catch (err) {
      return sendError(res, 500, errorText(err));
    }
    if (!state) return sendError(res, 404, "no deployed sip-client node with this id");
    res.json({ registration: state.registration, reason: state.reason, calls: state.calls });
  });
}
