// Test double around the real Pico worker thread (src/speech/pico/pico-worker.ts): it runs the
// real worker and adds one message of its own, { type: "crash", mode }, for the crash-recovery
// tests. "uncaught" throws out of the worker at once; "next-request" answers the next request
// with the fatal error a WASM trap would give. Production code has no such hook.
import path from "path";
import { parentPort } from "worker_threads";

export type CrashMode = "uncaught" | "next-request";

const port = parentPort;
if (!port) throw new Error("pico-crash-worker.js must be started as a worker thread");

let failNext = false;
const on = port.on.bind(port);
// The real worker registers its "message" listener when it is loaded below: wrap that listener.
port.on = ((event: string, listener: (msg: unknown) => void) =>
  on(
    event,
    event !== "message"
      ? listener
      : (msg: { type?: string; mode?: CrashMode; id?: number }) => {
          if (msg.type === "crash") {
            // Synchronous, so that it happens before any request queued behind it.
            if (msg.mode === "uncaught") throw new Error("Pico worker crash requested");
            failNext = true;
            return;
          }
          if (failNext) {
            failNext = false;
            port.postMessage({ type: "error", id: msg.id, message: "simulated WASM failure", fatal: true });
            return;
          }
          listener(msg);
        },
  )) as typeof port.on;

// Loaded by path and synchronously, after the port is patched above (a static import would be hoisted before it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
require(path.join(__dirname, "../../../src/speech/pico/pico-worker.js"));
