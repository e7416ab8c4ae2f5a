#!/usr/bin/env node
// `npm run bench -- <name> [args…]` runs one compiled benchmark, dist/bench/<name>.js
// (e.g. `npm run bench -- calls 100 20`); without a name it lists them. Benchmarks print
// figures and assert nothing; BENCHMARKS.md gives the command and the recorded results of each.
"use strict";
const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");

const dir = path.resolve(__dirname, "..", "dist", "bench");

// Named variants (issue 11): a benchmark with fixed arguments; the user's arguments follow.
// e.g. `npm run bench -- calls-node-red 100 20` runs `calls.js --node-red --block 50/200 100 20`.
const ALIASES = {
  "calls-block": ["calls", "--block", "50/200"],
  "calls-node-red": ["calls", "--node-red", "--block", "50/200"],
  "calls-node-red-idle": ["calls", "--node-red"],
  "first-audio-wire": ["calls", "1", "5", "--first-audio-only"],
  "dtmf-latency-node-red": ["dtmf-latency", "--node-red"],
};

function list(d = dir, prefix = "") {
  let out = [];
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory() && e.name === "lib" && d === dir) continue; // bench/lib: shared helpers, not benchmarks
    if (e.isDirectory()) out = out.concat(list(path.join(d, e.name), `${prefix}${e.name}/`));
    else if (e.name.endsWith(".js")) out.push(prefix + e.name.slice(0, -3));
  }
  return out.sort();
}

const [given, ...rest] = process.argv.slice(2);
const [name, ...fixed] = ALIASES[given] ?? [given];
const args = [...fixed, ...rest];
const names = fs.existsSync(dir) ? list() : [];
if (!name || !names.includes(name)) {
  if (given) console.error(`no benchmark "${given}"`);
  console.log(
    `usage: npm run bench -- <name> [args…]\nbenchmarks: ${names.join(", ") || "(none: run npm run build)"}\nvariants: ${Object.entries(ALIASES)
      .map(([k, v]) => `${k} (= ${v.join(" ")})`)
      .join(", ")}`,
  );
  process.exitCode = name ? 1 : 0;
} else {
  const child = spawn(process.execPath, [path.join(dir, `${name}.js`), ...args], { stdio: "inherit" });
  child.on("close", (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}
