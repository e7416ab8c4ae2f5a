// nodes/ goes through one door into the core: src/index.ts. A node that imports src/call/...
// or src/phone/... directly would tie Node-RED code to the core's inner layout.
import assert from "assert";
import fs from "fs";
import path from "path";

/** The repository root, from dist/test/unit/nodes (compiled) or test/unit/nodes (ts-node). */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Every module specifier of a file: import/export … from, import(), require(), import x = require(). */
export function moduleSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
}

/** What `spec`, imported from `file`, points into under src/, relative to src/ ("" = src itself); undefined: not src/. */
export function srcTarget(root: string, file: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const rel = path.relative(path.join(root, "src"), path.resolve(path.dirname(file), spec));
  if (rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join("/");
}

/** The public entry, as a specifier may name it. */
const PUBLIC_ENTRY = /^(?:|index|index\.js|index\.ts)$/;

describe("nodes/ imports only the public entry of src/", () => {
  const root = repoRoot();
  const files = tsFiles(path.join(root, "nodes"));

  it("finds the node sources", () => {
    assert.ok(
      files.some((f) => f.endsWith(path.join("sip-call", "sip-call.ts"))),
      "nodes/sip-call/sip-call.ts is scanned",
    );
    assert.ok(files.length >= 8);
  });

  it("no file under nodes/ imports a module of src/ other than src/index", () => {
    const bad: string[] = [];
    for (const file of files) {
      const rel = path.relative(root, file).split(path.sep).join("/");
      for (const spec of moduleSpecifiers(fs.readFileSync(file, "utf8"))) {
        const target = srcTarget(root, file, spec);
        if (target !== undefined && !PUBLIC_ENTRY.test(target)) bad.push(`${rel}: "${spec}"`);
      }
    }
    assert.deepStrictEqual(bad, [], `import through src/index.ts instead:\n${bad.join("\n")}`);
  });

  it("no node reaches past the facade into the call manager (softphone.calls)", () => {
    const bad: string[] = [];
    for (const file of files) {
      const rel = path.relative(root, file).split(path.sep).join("/");
      fs.readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (/\.calls\??\./.test(line)) bad.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepStrictEqual(bad, [], `use the Softphone's methods (calls by id) instead:\n${bad.join("\n")}`);
  });

  it("the scanner sees every form of import", () => {
    const root2 = "/r";
    const file = "/r/nodes/x/y.ts";
    const specs = moduleSpecifiers(
      [
        'import type { A } from "../../src/call/call";',
        'import {\n  B,\n  C,\n} from "../../src/phone/phone";',
        'export { D } from "../../src/types";',
        'import "../../src/speech/pico/pico-engine";',
        'const e = require("../../src/dtmf/collector");',
        'import f = require("../../src/sip/sip-transport");',
        'const g = await import("../../src/media/sdp");',
        'import { H } from "../../src";',
        'import { I } from "../shared/status";',
      ].join("\n"),
    );
    const targets = specs.map((s) => srcTarget(root2, file, s));
    assert.deepStrictEqual(targets.filter((t) => t !== undefined && !PUBLIC_ENTRY.test(t)).sort(), [
      "call/call",
      "dtmf/collector",
      "media/sdp",
      "phone/phone",
      "sip/sip-transport",
      "speech/pico/pico-engine",
      "types",
    ]);
    assert.ok(targets.includes(""), "../../src is the public entry");
    assert.ok(targets.includes(undefined), "../shared/status is not src/");
  });
});
