// The editor helpers shared by the three nodes live in resources/sip-editor.js, which
// Node-RED (>= 1.3) serves at resources/<module>/ from the package root. Each node's HTML
// loads it; the file must ship in the tarball ("files" in package.json), or no node's
// editor would load (Node-RED waits for the script before adding the node's definition).
import assert from "assert";
import { execFileSync } from "child_process";
import fs from "fs";
import path from "path";

const root = path.resolve(__dirname, "../../..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const SCRIPT_SRC = /<script type="text\/javascript" src="resources\/([^/"]+)\/([^"]+)"><\/script>/;

describe("editor resources", () => {
  it("each node's HTML loads resources/sip-editor.js of this package, and the file exists", () => {
    for (const name of Object.keys(pkg["node-red"].nodes)) {
      const html = fs.readFileSync(path.join(root, "nodes", name, name + ".html"), "utf8");
      const m = SCRIPT_SRC.exec(html);
      assert.ok(m, `${name}.html loads a script from resources/`);
      assert.strictEqual(m[1], pkg.name, `${name}.html: the module name in the path`);
      assert.strictEqual(m[2], "sip-editor.js");
      assert.ok(fs.existsSync(path.join(root, "resources", m[2])), `resources/${m[2]} exists`);
      assert.ok(!/window\.SipClientEditor\s*=/.test(html), `${name}.html does not define the helpers itself`);
    }
  });

  it("npm pack puts resources/sip-editor.js into the tarball", function () {
    this.timeout(30_000); // npm starts in about 3 s
    // --ignore-scripts: list the files only (prepack would rebuild dist/); no registry look-up.
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--no-update-notifier"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
    assert.ok(files.includes("resources/sip-editor.js"), files.filter((f) => !f.startsWith("dist/")).join(", "));
  });
});
