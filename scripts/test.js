#!/usr/bin/env node
// Lints the sources, then runs the compiled test suites with mocha (no --exit: a
// test that leaves a socket, timer or process open makes mocha hang, and that is
// a failure):
//   0. lint: `eslint .` and `prettier --check .` (counted as one check, passed or failed)
//   1. dist/test/unit/**/*.test.js
//   2. dist/test/integration/**/*.test.js
//   3. dist/test/browser/**/*.test.js (if any)
// Each group runs in its own mocha process with the spec reporter. A group
// with no test files is skipped. The script prints "N passed, N failed"
// (", N skipped" for pending tests) summed over the runs as its last line
// and exits non-zero if any run failed.
//
// Environment: MOCHA_GREP=<pattern> passes --grep to every run.
"use strict";
const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");

const root = path.resolve(__dirname, "..");
const mochaBin = require.resolve("mocha/bin/mocha.js");
const eslintBin = binOf("eslint");
const prettierBin = binOf("prettier");

// A package's command-line script (its "bin"), found from its main entry: packages
// with an "exports" map do not let require.resolve reach bin/ directly.
function binOf(name) {
  let dir = path.dirname(require.resolve(name, { paths: [root] }));
  for (;;) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
      if (pkg.name === name) return path.join(dir, typeof pkg.bin === "string" ? pkg.bin : pkg.bin[name]);
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the ${name} command`);
    dir = up;
  }
}

// The lint run (both tools) must end within this time.
const LINT_MAX_MINUTES = 5;

const groups = [
  { name: "unit", dir: "dist/test/unit", timeout: 10000, maxMinutes: 15 },
  // Most integration time is spent waiting on SIP timers (64·T1, back-off, TTLs) with real peers on
  // loopback, so two files run at once (mocha --parallel: one worker process per file); the
  // slowest files start first so the two workers end together.
  {
    name: "integration",
    dir: "dist/test/integration",
    timeout: 60000,
    maxMinutes: 40,
    jobs: 2,
    first: ["registration", "security-calls", "dns", "fuzz", "node-red", "keypad-security", "calls"],
  },
  { name: "browser", dir: "dist/test/browser", timeout: 120000, maxMinutes: 30 },
];

// After mocha printed its summary it must exit by itself within this time.
const EXIT_GRACE_MS = 30000;

function findTests(dir) {
  const out = [];
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(".test.js")) out.push(p);
    }
  };
  walk(path.join(root, dir));
  return out.sort();
}

function stripAnsi(s) {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

function runGroup(group, files) {
  return new Promise((resolve) => {
    const args = [mochaBin, "--reporter", "spec", "--timeout", String(group.timeout), "--slow", String(Math.min(group.timeout / 4, 5000))];
    if (process.env.MOCHA_GREP) args.push("--grep", process.env.MOCHA_GREP);
    if (group.jobs > 1 && files.length > 1) args.push("--parallel", "--jobs", String(group.jobs));
    const rank = (f) => {
      const i = (group.first ?? []).indexOf(path.basename(f, ".test.js"));
      return i < 0 ? Infinity : i;
    };
    args.push(...[...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((f) => path.relative(root, f)));
    console.log(`\n=== ${group.name} tests (${files.length} file${files.length === 1 ? "" : "s"}) ===`);
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    let summarySeen = false;
    let graceTimer;
    let note = "";
    const kill = (why) => {
      if (note) return;
      note = why;
      console.error(`\n[test.js] ${group.name}: ${why}; terminating mocha`);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    };
    const onData = (stream) => (buf) => {
      stream.write(buf);
      text += buf.toString();
      if (text.length > 4 * 1024 * 1024) text = text.slice(-2 * 1024 * 1024);
      if (!summarySeen && /^\s*\d+ passing \(/m.test(stripAnsi(text))) {
        summarySeen = true;
        graceTimer = setTimeout(
          () => kill(`mocha did not exit within ${EXIT_GRACE_MS / 1000}s after its summary (a socket, timer or process was left open)`),
          EXIT_GRACE_MS,
        );
      }
    };
    child.stdout.on("data", onData(process.stdout));
    child.stderr.on("data", onData(process.stderr));
    const hardTimer = setTimeout(() => kill(`run exceeded ${group.maxMinutes} minutes`), group.maxMinutes * 60000);
    child.on("close", (code, signal) => {
      clearTimeout(hardTimer);
      if (graceTimer) clearTimeout(graceTimer);
      const plain = stripAnsi(text);
      const num = (re) => {
        const m = re.exec(plain);
        return m ? Number(m[1]) : 0;
      };
      const passed = num(/^\s*(\d+) passing/m);
      let failed = num(/^\s*(\d+) failing/m);
      const skipped = num(/^\s*(\d+) pending/m);
      const ok = code === 0 && !note;
      if (!ok && failed === 0) failed = 1; // crashed, hung or killed: count the run as a failure
      resolve({ name: group.name, code, signal, ok, passed, failed, skipped, note });
    });
  });
}

// Runs one tool to its end; resolves with its exit code and what it printed.
function runTool(bin, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    const onData = (stream) => (buf) => {
      stream.write(buf);
      if (text.length < 1024 * 1024) text += buf.toString();
    };
    child.stdout.on("data", onData(process.stdout));
    child.stderr.on("data", onData(process.stderr));
    const timer = setTimeout(() => child.kill("SIGKILL"), LINT_MAX_MINUTES * 60000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, signal, text: stripAnsi(text) });
    });
  });
}

// ESLint and Prettier over the sources (their ignore files say which); one check in the totals.
async function runLint() {
  console.log("\n=== lint (eslint, prettier --check) ===");
  const problems = [];
  const eslint = await runTool(eslintBin, ["."]);
  if (eslint.code !== 0) {
    const m = /(\d+) problems? \((\d+) errors?/.exec(eslint.text);
    problems.push(m ? `eslint: ${m[2]} error${m[2] === "1" ? "" : "s"}` : `eslint exited ${eslint.signal ?? eslint.code}`);
  }
  const prettier = await runTool(prettierBin, ["--check", "."]);
  if (prettier.code !== 0) {
    const m = /issues found in (\d+) files?/.exec(prettier.text) ?? /issues found in (the) above file/.exec(prettier.text);
    problems.push(
      m
        ? `prettier: ${m[1] === "the" ? 1 : m[1]} file${m[1] === "the" || m[1] === "1" ? "" : "s"} not formatted (npm run format)`
        : `prettier exited ${prettier.signal ?? prettier.code}`,
    );
  }
  const ok = problems.length === 0;
  return { name: "lint", code: ok ? 0 : 1, signal: null, ok, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, note: problems.join("; ") };
}

async function main() {
  const results = [await runLint()];
  for (const group of groups) {
    const files = findTests(group.dir);
    if (files.length === 0) {
      console.log(`\n=== ${group.name} tests: none found in ${group.dir}, skipped ===`);
      continue;
    }
    results.push(await runGroup(group, files));
  }
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  console.log("\n=== summary ===");
  for (const r of results) {
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
    const status = r.ok ? "ok" : `FAILED (exit ${r.code}${r.signal ? `, ${r.signal}` : ""}${r.note ? `: ${r.note}` : ""})`;
    console.log(`${r.name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped — ${status}`);
  }
  const allOk = results.every((r) => r.ok);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exitCode = allOk ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  console.log("0 passed, 1 failed");
  process.exitCode = 1;
});
