#!/usr/bin/env node
// Compiles the TypeScript and lays out dist/ the way Node-RED needs it:
// each node's .html, locales/ and icons/ must sit beside its compiled .js.
"use strict";
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const root = path.resolve(__dirname, "..");
const dist = path.join(root, "dist");

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", root], { stdio: "inherit" });

const nodesDir = path.join(root, "nodes");
for (const name of fs.readdirSync(nodesDir)) {
  const src = path.join(nodesDir, name);
  // Only real nodes (those with an editor file) get the editor layout.
  if (!fs.statSync(src).isDirectory() || !fs.readdirSync(src).some((f) => f.endsWith(".html"))) continue;
  const out = path.join(dist, "nodes", name);
  fs.mkdirSync(out, { recursive: true });
  for (const entry of fs.readdirSync(src)) {
    const from = path.join(src, entry);
    if (entry.endsWith(".html")) fs.copyFileSync(from, path.join(out, entry));
    else if (entry === "locales") fs.cpSync(from, path.join(out, entry), { recursive: true });
  }
  fs.cpSync(path.join(root, "icons"), path.join(out, "icons"), { recursive: true });
}
