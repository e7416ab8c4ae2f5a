// The flow most flow tests start from: alice's sip-client account at the test Kamailio and one
// sip-call node wired to a helper node. Its messages are collected, and the errors the sip-call
// node reports (done(err)) too; it resolves once the account is REGISTERED.
import helper from "node-red-node-test-helper";
import type { Kamailio } from "./kamailio";
import { waitFor } from "./wait";

/* eslint-disable @typescript-eslint/no-require-imports */
const sipClient = require("../../nodes/sip-client/sip-client.js");
const sipCall = require("../../nodes/sip-call/sip-call.js");
const sipDtmf = require("../../nodes/sip-dtmf/sip-dtmf.js");
/* eslint-enable @typescript-eslint/no-require-imports */

export interface CallFlowOptions {
  /** Properties of the sip-client node over the defaults (UDP to Kamailio, user alice). */
  client?: Record<string, unknown>;
  /** Properties of the sip-call node ("call", wired to "out"). */
  call?: Record<string, unknown>;
  /** When given: a sip-dtmf node ("dtmf", these properties) on the same account, wired to a helper node. */
  dtmf?: Record<string, unknown>;
  /** alice's password at Kamailio (default "secret"). */
  password?: string;
}

export interface CallFlow<M> {
  /** Every message of the sip-call node, in order. */
  out: M[];
  /** What the sip-call node reported as errors. */
  errors: string[];
  /** Every message of the sip-dtmf node (with the `dtmf` option). */
  dtmf: M[];
}

export async function loadCallFlow<M extends { payload?: unknown }>(kam: Kamailio, o: CallFlowOptions = {}): Promise<CallFlow<M>> {
  await helper.load(
    [sipClient, sipCall, sipDtmf],
    [
      { id: "acct", type: "sip-client", server: "127.0.0.1", port: String(kam.ports.udp), transport: "udp", username: "alice", ...o.client },
      { id: "call", type: "sip-call", client: "acct", wires: [["out"]], ...o.call },
      { id: "out", type: "helper" },
      ...(o.dtmf
        ? [
            { id: "dtmf", type: "sip-dtmf", client: "acct", wires: [["dtmfOut"]], ...o.dtmf },
            { id: "dtmfOut", type: "helper" },
          ]
        : []),
    ],
    { acct: { password: o.password ?? "secret" } },
  );
  const flow: CallFlow<M> = { out: [], errors: [], dtmf: [] };
  helper.getNode("out").on("input", (m: M) => flow.out.push(m));
  if (o.dtmf) helper.getNode("dtmfOut").on("input", (m: M) => flow.dtmf.push(m));
  const call = helper.getNode("call");
  const reportError = call.error.bind(call);
  call.error = (e: unknown, msg?: unknown) => {
    flow.errors.push(String((e as Error)?.message ?? e));
    return reportError(e, msg);
  };
  await waitFor(() => flow.out.some((m) => m.payload === "REGISTERED"), 10_000, "REGISTERED");
  return flow;
}
