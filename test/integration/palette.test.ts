// `npm pack` → a clean Node-RED 4.1 user directory → the palette manager's upload
// (POST /nodes, multipart field "tarball") → all nodes, icons, help and examples load.
import assert from "assert";
import fs from "fs";
import os from "os";
import path from "path";
import { execFileSync, spawn, ChildProcess } from "child_process";
import { freeTcpPort } from "../support/ports";
import { waitFor } from "../support/wait";

const root = path.resolve(__dirname, "../../..");

describe("palette installation of the npm pack tarball", function () {
  this.timeout(240_000);
  let dir: string;
  let red: ChildProcess | undefined;
  let base = "";
  let log = "";

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sip-palette-"));
    // Pack from a copy of the sources with no dist/ (as a fresh clone after `npm ci`): the
    // package must build itself (prepack), as `npm publish` and installs from git need.
    const src = path.join(dir, "src-copy");
    const listed = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);
    for (const f of listed) {
      if (!fs.existsSync(path.join(root, f)) || f.startsWith("dist/")) continue;
      fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
      fs.copyFileSync(path.join(root, f), path.join(src, f));
    }
    fs.symlinkSync(path.join(root, "node_modules"), path.join(src, "node_modules"), "dir");
    assert.ok(!fs.existsSync(path.join(src, "dist")), "the copy starts without dist/");
    execFileSync("npm", ["pack", "--pack-destination", dir], { cwd: src, stdio: "pipe" });
    const userDir = path.join(dir, "user");
    fs.mkdirSync(userDir);
    fs.writeFileSync(
      path.join(userDir, "settings.js"),
      `module.exports = { uiHost: "127.0.0.1", flowFile: "flows.json", credentialSecret: false, editorTheme: { tours: false } };`,
    );
    const port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    red = spawn(process.execPath, [require.resolve("node-red/red.js"), "-u", userDir, "-p", String(port), "-s", path.join(userDir, "settings.js")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    red.stdout!.on("data", (d) => {
      log += d;
    });
    red.stderr!.on("data", (d) => {
      log += d;
    });
    await waitFor(() => /Server now running/.test(log), 30_000, "Node-RED to start");
  });

  after(async () => {
    if (red && red.exitCode === null) {
      red.kill("SIGTERM");
      await new Promise((r) => red!.once("exit", r));
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("contains only what users need", () => {
    const tgz = fs.readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    const files = execFileSync("tar", ["-tzf", path.join(dir, tgz)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ""));
    const allowed =
      /^(dist\/(src|nodes)\/|examples\/|pico-lang\/|resources\/sip-(editor|simulator)\.js$|README\.md$|CHANGELOG\.md$|LICENSE$|NOTICE$|package\.json$)/;
    const stray = files.filter((f) => !allowed.test(f));
    assert.deepStrictEqual(stray, []);
    for (const must of [
      "dist/nodes/sip-call/sip-call.js",
      "dist/nodes/sip-call/sip-call.html",
      "dist/nodes/sip-call/icons/sip-phone.svg",
      "dist/nodes/sip-dtmf/locales/fr/sip-dtmf.html",
      "pico-lang/NOTICE",
      "pico-lang/fr-FR_ta.bin",
      "resources/sip-editor.js",
      "resources/sip-simulator.js",
      "NOTICE",
      "LICENSE",
    ]) {
      assert.ok(files.includes(must), `${must} is in the tarball`);
    }
    assert.ok(!files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "no TypeScript sources");
  });

  it("installs through POST /nodes and hot-loads the three nodes, icons, help and examples", async () => {
    const tgz = fs.readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    const form = new FormData();
    form.append("tarball", new Blob([fs.readFileSync(path.join(dir, tgz))], { type: "application/gzip" }), tgz);
    const res = await fetch(`${base}/nodes`, { method: "POST", body: form, headers: { "Node-RED-API-Version": "v2" } });
    const info = (await res.json()) as {
      name: string;
      nodes: Array<{ name: string; enabled: boolean; loaded: boolean; err?: string; types: string[] }>;
    };
    assert.strictEqual(res.status, 200, JSON.stringify(info) + log.slice(-3000));
    assert.strictEqual(info.name, "node-red-contrib-sip-client");
    const types = info.nodes.flatMap((n) => n.types).sort();
    assert.deepStrictEqual(types, ["sip-call", "sip-client", "sip-dtmf"]);
    for (const n of info.nodes) assert.ok(n.enabled && !n.err, JSON.stringify(n));

    for (const icon of ["sip-phone.svg", "sip-keypad.svg"]) {
      const r = await fetch(`${base}/icons/node-red-contrib-sip-client/${icon}`);
      assert.strictEqual(r.status, 200, icon);
    }
    const html = await (await fetch(`${base}/nodes`, { headers: { Accept: "text/html" } })).text();
    for (const t of ["sip-client", "sip-call", "sip-dtmf"]) assert.ok(html.includes(`data-template-name="${t}"`), `${t} editor template`);
    // The editor loads the shared helpers from the installed package's resources/ before the nodes.
    assert.ok(html.includes('src="resources/node-red-contrib-sip-client/sip-editor.js"'), "editor helpers referenced");
    const helpers = await fetch(`${base}/resources/node-red-contrib-sip-client/sip-editor.js`);
    assert.strictEqual(helpers.status, 200, "editor helpers served from the installed package");
    assert.match(await helpers.text(), /window\.SipClientEditor = /);
    assert.ok(html.includes('src="resources/node-red-contrib-sip-client/sip-simulator.js"'), "call simulator referenced");
    const simulator = await fetch(`${base}/resources/node-red-contrib-sip-client/sip-simulator.js`);
    assert.strictEqual(simulator.status, 200, "call simulator served from the installed package");
    const help = (await (await fetch(`${base}/nodes/messages?lng=fr`)).json()) as Record<string, unknown>;
    assert.ok(help["node-red-contrib-sip-client/sip-call"], "French message catalogue");
    const examples = (await (await fetch(`${base}/library/examples/flows/node-red-contrib-sip-client/answer-and-greet-callers`)).json()) as unknown[];
    assert.ok(Array.isArray(examples) && examples.some((n) => (n as { type: string }).type === "sip-call"), "example flow served");
    assert.ok(
      !/\[error\]/.test(log),
      log
        .split("\n")
        .filter((l) => /\[error\]/.test(l))
        .join("\n"),
    );
  });
});
