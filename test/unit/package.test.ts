// The Flow Library scorecard (node-red-dev validate) cannot reach its catalogue here;
// these are the checks it makes that can be made offline, so a regression fails CI.
import assert from "assert";
import fs from "fs";
import path from "path";
import semver from "semver";

const root = path.resolve(__dirname, "../../..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

describe("package.json (Flow Library scorecard rules)", () => {
  it("P01/P03: licence and repository", () => {
    assert.ok(["MIT", "Apache-2.0"].includes(pkg.license));
    assert.ok(fs.existsSync(path.join(root, "LICENSE")));
    assert.match(pkg.repository?.url ?? "", /^git\+https:\/\//);
  });

  it("P04/P05: the node-red keyword and a name users find", () => {
    assert.ok(pkg.keywords.includes("node-red"));
    assert.strictEqual(pkg.name, "node-red-contrib-sip-client");
  });

  it("P06/P07: node-red.version accepts the latest 5.x, engines.node includes 20.19 and 22.9", () => {
    assert.ok(semver.satisfies("5.0.7", pkg["node-red"].version), pkg["node-red"].version);
    assert.ok(semver.satisfies("4.1.8", pkg["node-red"].version));
    assert.ok(!/<\s*5/.test(pkg["node-red"].version), "no cap below 5");
    for (const v of ["20.19.0", "22.9.0", "24.0.0"]) assert.ok(semver.satisfies(v, pkg.engines.node), `${v} in ${pkg.engines.node}`);
  });

  it("D01: at most 6 runtime dependencies; sip.js pinned to 0.21.2; installed versions match the ranges", () => {
    const deps = Object.keys(pkg.dependencies);
    assert.ok(deps.length <= 6, deps.join(", "));
    assert.strictEqual(pkg.dependencies["sip.js"], "0.21.2");
    for (const d of deps) {
      const installed = JSON.parse(fs.readFileSync(path.join(root, "node_modules", d, "package.json"), "utf8")).version;
      assert.ok(semver.satisfies(installed, pkg.dependencies[d]), `${d}@${installed} vs ${pkg.dependencies[d]}`);
    }
  });

  it("N02: every non-config node appears in an example; every node file exists", () => {
    const types = new Set<string>();
    for (const f of fs.readdirSync(path.join(root, "examples")).filter((f) => f.endsWith(".json"))) {
      for (const n of JSON.parse(fs.readFileSync(path.join(root, "examples", f), "utf8"))) types.add(n.type);
    }
    for (const t of ["sip-call", "sip-dtmf"]) assert.ok(types.has(t), `${t} is in an example`);
    for (const [name, file] of Object.entries<string>(pkg["node-red"].nodes)) {
      assert.ok(file.startsWith("dist/nodes/" + name + "/"), file);
      assert.ok(fs.existsSync(path.join(root, "nodes", name, name + ".html")), `${name}.html`);
    }
  });
});
