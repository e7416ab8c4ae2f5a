// The real Node-RED editor for the browser tests: Node-RED 4.1 (the devDependency) as a child process
// with this package linked into its user directory, Debian's Chromium and the wait until the editor is
// ready. Needs `npm run build` (the package is loaded from dist/).
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Page } from "playwright-core";
import { freeTcpPort } from "./ports";

// Globals of the editor page (only used inside page.evaluate / waitForFunction).
declare const RED: any;
declare const $: any;

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const PACKAGE_NAME = "node-red-contrib-sip-client";
/** Screenshots and Node-RED logs of the browser tests. */
export const ARTIFACTS = path.join(ROOT, "test-artifacts", "browser");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--autoplay-policy=no-user-gesture-required",
];

export interface NodeRed {
  url: string;
  userDir: string;
  proc: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

export async function startNodeRed(label: string, lang?: string): Promise<NodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "sip-client-editor-"));
  fs.mkdirSync(path.join(userDir, "node_modules"));
  fs.symlinkSync(ROOT, path.join(userDir, "node_modules", PACKAGE_NAME), "dir");
  const settings = {
    uiHost: "127.0.0.1",
    flowFile: "flows.json",
    credentialSecret: "browser-test-secret",
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    // No palette catalogue: the editor would fetch catalogue.nodered.org (a DNS query off the machine).
    editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
    logging: { console: { level: "info", metrics: false, audit: false } },
    ...(lang ? { lang } : {}),
  };
  fs.writeFileSync(path.join(userDir, "settings.js"), "module.exports = " + JSON.stringify(settings, null, 2) + ";\n");
  const port = await freeTcpPort();
  const redJs = require.resolve("node-red/red.js");
  const proc = spawn(process.execPath, [redJs, "-u", userDir, "-p", String(port)], {
    cwd: userDir,
    env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout.on("data", (d) => (output += d));
  proc.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}/`;
  const logFile = path.join(ARTIFACTS, `node-red-${label}.log`);

  let exited = false;
  proc.once("exit", () => (exited = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error("Node-RED exited while starting:\n" + output);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("Node-RED did not start in 60 s:\n" + output);
    }
    try {
      const res = await fetch(url + "settings", { headers: { Accept: "application/json" } });
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    url,
    userDir,
    proc,
    log: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
        proc.kill("SIGINT");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      fs.writeFileSync(logFile, output);
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

export async function waitForEditor(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      typeof RED !== "undefined" &&
      RED.nodes &&
      RED.workspaces &&
      RED.workspaces.active() &&
      document.querySelector(".red-ui-palette-node[data-palette-type='sip-call']") !== null &&
      !$("#red-ui-loading-progress").is(":visible"),
    undefined,
    { timeout: 60_000 },
  );
  // Let the editor finish its start-up animations.
  await page.waitForTimeout(500);
}
