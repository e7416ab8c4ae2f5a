// Wires the editor's HTTP endpoints to the runtime once per Node-RED process.
import type { NodeAPI } from "node-red";
import { SpeechService } from "../../src";
import type { SipClientNode } from "../shared/client-api";
import { registerAdminRoutes } from "./admin-routes";
import { registerSimulatorRoutes } from "./simulator-routes";

let registered = false;
let previewSpeech: SpeechService | undefined;

export function registerAdminRoutesOnce(RED: NodeAPI): void {
  if (registered) return;
  registered = true;
  registerAdminRoutes(RED, {
    // Previews work before anything is deployed, so they get their own (lazily started) engine.
    getSpeech: () => (previewSpeech ??= new SpeechService({})),
    getState: (id) => {
      const node = clientNode(RED, id);
      if (!node) return null;
      return {
        registration: node.registrationState,
        reason: node.registrationDetail.reason,
        calls: node.phone?.activeCalls().length ?? 0,
      };
    },
    diagnose: (id, language, testCall) => clientNode(RED, id)?.diagnose(language, testCall) ?? null,
    lastDiagnosis: (id) => {
      const node = clientNode(RED, id);
      return node ? node.lastDiagnosis : null;
    },
  });
  // "Simulate a call" (sip-call/sip-dtmf dialogs): null = not deployed, undefined = not started.
  registerSimulatorRoutes(RED, { phone: (id) => (clientNode(RED, id) ? clientNode(RED, id)!.phone : null) });
}

function clientNode(RED: NodeAPI, id: string): SipClientNode | null {
  const node = RED.nodes.getNode(id) as SipClientNode | null;
  return node && node.type === "sip-client" ? node : null;
}
