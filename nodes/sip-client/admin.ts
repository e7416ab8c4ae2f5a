// Wires the editor's HTTP endpoints to the runtime once per Node-RED process.
import type { NodeAPI } from "node-red";
import { SpeechService } from "../../src";
import type { SipClientNode } from "../shared/client-api";
import { registerAdminRoutes } from "./admin-routes";

let registered = false;
let previewSpeech: SpeechService | undefined;

export function registerAdminRoutesOnce(RED: NodeAPI): void {
  if (registered) return;
  registered = true;
  registerAdminRoutes(RED, {
    // Previews work before anything is deployed, so they get their own (lazily started) engine.
    getSpeech: () => (previewSpeech ??= new SpeechService({})),
    getState: (id) => {
      const node = RED.nodes.getNode(id) as SipClientNode | null;
      if (!node || node.type !== "sip-client") return null;
      return {
        registration: node.registrationState,
        reason: node.registrationDetail.reason,
        calls: node.phone?.activeCalls().length ?? 0,
      };
    },
  });
}
