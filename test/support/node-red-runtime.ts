// The Node-RED runtime of node-red-node-test-helper, started and stopped as the flow tests need it:
// `beforeEach(startRed)` / `afterEach(stopRed)`, or awaited inside a hook that does more.
import helper from "node-red-node-test-helper";

export function startRed(): Promise<void> {
  return new Promise<void>((resolve) => helper.startServer(() => resolve()));
}

/** Unloads the flow (its nodes close: calls end, sockets close), then stops the runtime. */
export async function stopRed(): Promise<void> {
  await helper.unload();
  await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
}
