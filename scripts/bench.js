#!/usr/bin/env node
// `npm run bench -- <name> [args…]` runs one compiled benchmark, dist/bench/<name>.js
// (e.g. `npm run bench -- calls 100 20`); without a name it lists them. Benchmarks print
// figures and assert nothing; BENCHMARKS.md gives the command and the recorded results of each.
"use strict";
const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");

const dir = path.resolve(__dirname, "..", "dist", "bench");

function list(d = dir, prefix = "") {
  let out = [];
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) out = out.concat(list(path.join(d, e.name), `${prefix}${e.name}/`));
    else if (e.name.endsWith(".js")) out.push(prefix + e.name.slice(0, -3));
  }
  return out.sort();
}

const [name, ...args] = process.argv.slice(2);
const names = fs.existsSync(dir) ? list() : [];
if (!name || !names.includes(name)) {
  if (name) console.error(`no benchmark "${name}"`);
  console.log(`usage: npm run bench -- <name> [args…]\nbenchmarks: ${names.join(", ") || "(none: run npm run build)"}`);
  process.exitCode = name ? 1 : 0;
} else {
  const child = spawn(process.execPath, [path.join(dir, `${name}.js`), ...args], { stdio: "inherit" });
  child.on("close", (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}
