// A real Node-RED for the benchmarks, started the way the integration tests start one
// (node-red-node-test-helper, test/support/node-red-runtime.ts): the package's sip-client and
// sip-call (auto-answer, a greeting repeated in a loop; optionally sip-dtmf), plus, with `block`,
// an inject node firing every `everyMs` into a function node that busy-waits `blockMs` (the
// "heavy flow" of issue 11). Returns the account's Softphone (the config node's own) for counting.
import helper from "node-red-node-test-helper";
import { startRed, stopRed } from "../../test/support/node-red-runtime";
import { waitFor } from "../../test/support/wait";
import type { Softphone, SpeechService } from "../../src";

// Node-RED loads nodes as CommonJS modules.
/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
const sipDtmf = require("../../nodes/sip-dtmf/sip-dtmf.js");
const injectNode = require("@node-red/nodes/core/common/20-inject.js");
const functionNode = require("@node-red/nodes/core/function/10-function.js");
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve("node-red"));

export interface NodeRedPhoneOptions {
  kamailioUdpPort: number;
  rtpPorts: readonly [number, number];
  /** The sip-call node's limit (Maximum calls). */
  maxCalls: number;
  /** Greeting for every caller, repeated ("afterGreeting: repeat"); none: calls stay silent. */
  greeting?: string;
  block?: { blockMs: number; everyMs: number };
  /** Add a sip-dtmf node; every message it sends (both outputs) is handed to this callback. */
  onDtmfMessage?: (msg: Record<string, unknown>) => void;
}

export interface NodeRedPhone {
  phone: Softphone;
  speech: SpeechService;
  /** Messages the sip-call node sent. */
  callMessages: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startNodeRedPhone(o: NodeRedPhoneOptions): Promise<NodeRedPhone> {
  await startRed();
  const flow: object[] = [
    {
      id: "acct",
      type: "sip-client",
      server: "127.0.0.1",
      port: String(o.kamailioUdpPort),
      transport: "udp",
      username: "alice",
      codecs: "PCMU,PCMA",
      rtpPortMin: String(o.rtpPorts[0]),
      rtpPortMax: String(o.rtpPorts[1]),
    },
    {
      id: "call",
      type: "sip-call",
      client: "acct",
      autoAnswer: true,
      greetings: o.greeting ? [{ number: "", message: o.greeting }] : [],
      afterGreeting: o.greeting ? "repeat" : "stay",
      maxCalls: String(o.maxCalls),
      wires: [["callout"]],
    },
    { id: "callout", type: "helper" },
  ];
  if (o.onDtmfMessage)
    flow.push({ id: "keys", type: "sip-dtmf", client: "acct", wires: [["dtmfout"], ["dtmfout"]] }, { id: "dtmfout", type: "helper" });
  if (o.block) {
    flow.push(
      {
        id: "tick",
        type: "inject",
        props: [{ p: "payload" }],
        payload: "",
        payloadType: "date",
        repeat: String(o.block.everyMs / 1000),
        once: true,
        onceDelay: 0.1,
        wires: [["heavy"]],
      },
      {
        id: "heavy",
        type: "function",
        // A flow that holds the event loop: a busy wait, as a large JSON parse or a sync file write would.
        func: `const end = Date.now() + ${o.block.blockMs}; while (Date.now() < end) {} return null;`,
        outputs: 1,
        wires: [[]],
      },
    );
  }
  await helper.load([sipClient, sipCall, sipDtmf, injectNode, functionNode], flow, { acct: { password: "secret" } });
  const callMessages: Array<Record<string, unknown>> = [];
  helper.getNode("callout").on("input", (m: Record<string, unknown>) => callMessages.push(m));
  if (o.onDtmfMessage) helper.getNode("dtmfout").on("input", (m: Record<string, unknown>) => o.onDtmfMessage!(m));
  await waitFor(() => callMessages.some((m) => m.payload === "REGISTERED"), 15_000, "REGISTERED (Node-RED)");
  const acct = helper.getNode("acct") as unknown as { phone?: Softphone; speech: SpeechService };
  const phone = acct.phone;
  if (!phone) throw new Error("the sip-client node has no Softphone");
  await acct.speech.warmUp(["en-US"]);
  return { phone, speech: acct.speech, callMessages, stop: stopRed };
}
