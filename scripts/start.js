#!/usr/bin/env node
// `npm start`: a local Node-RED 4.1 (the devDependency) with this package installed
// in its own user directory, its example flows under Import → Examples, on loopback.
"use strict";
const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");

const root = path.resolve(__dirname, "..");
const userDir = process.env.NODE_RED_USER_DIR || path.join(root, ".node-red-dev");
const port = Number(process.env.PORT || 1880);
const host = process.env.HOST || "127.0.0.1";

// Install the package into the user directory the way the palette manager would (a link to this checkout).
const modules = path.join(userDir, "node_modules");
fs.mkdirSync(modules, { recursive: true });
const link = path.join(modules, "node-red-contrib-sip-client");
try {
  fs.rmSync(link, { recursive: true, force: true });
} catch {
  /* not there */
}
fs.symlinkSync(root, link, "dir");
const pkgFile = path.join(userDir, "package.json");
if (!fs.existsSync(pkgFile)) {
  fs.writeFileSync(
    pkgFile,
    JSON.stringify({ name: "node-red-project", private: true, dependencies: { "node-red-contrib-sip-client": "file:" + root } }, null, 2),
  );
}
const settings = path.join(userDir, "settings.js");
if (!fs.existsSync(settings)) {
  fs.writeFileSync(
    settings,
    `module.exports = {
  uiHost: ${JSON.stringify(host)},
  flowFile: "flows.json",
  credentialSecret: false,
  logging: { console: { level: "info" } },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`,
  );
}

const red = require.resolve("node-red/red.js");
console.log(`Starting Node-RED with node-red-contrib-sip-client (user directory ${userDir})`);
console.log(`Open http://${host}:${port}/ — the examples are under Import → Examples → node-red-contrib-sip-client`);
const child = spawn(process.execPath, [red, "--userDir", userDir, "--port", String(port), "--settings", settings], { stdio: "inherit" });
const stop = (sig) => child.kill(sig);
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
child.on("exit", (code) => process.exit(code ?? 0));
