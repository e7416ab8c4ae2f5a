// The "Simulate a call" panel (resources/sip-simulator.js) takes its words from the sip-client
// catalogue's "simulator" section: every key it uses exists in en-US, fr and de, and the node
// helps of sip-call and sip-dtmf describe it in the three languages.
import assert from "assert";
import fs from "fs";
import path from "path";

const root = path.resolve(__dirname, "../../../..");
const LANGS = ["en-US", "fr", "de"];

function lookup(obj: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);
}

describe("call simulator: editor texts", () => {
  const script = fs.readFileSync(path.join(root, "resources", "sip-simulator.js"), "utf8");
  const used = [...script.matchAll(/\bt\("([\w.]+)"/g)].map((m) => m[1]);
  const states = ["idle", "RINGING", "ANSWERED", "ENDED"].map((s) => "state." + s);

  it("every key the panel uses is in the sip-client catalogue in en-US, fr and de", () => {
    assert.ok(used.length >= 8, `the panel uses its texts (${used.length} found)`);
    for (const lang of LANGS) {
      const cat = JSON.parse(fs.readFileSync(path.join(root, "nodes", "sip-client", "locales", lang, "sip-client.json"), "utf8"));
      for (const key of [...used.filter((k) => k !== "state." && !k.endsWith(".")), ...states]) {
        const text = lookup(cat, "sip-client.simulator." + key);
        assert.ok(typeof text === "string" && text.trim(), `${lang}: sip-client.simulator.${key}`);
      }
    }
  });

  it("the help of sip-call and sip-dtmf explains it in en-US, fr and de", () => {
    for (const node of ["sip-call", "sip-dtmf"])
      for (const lang of LANGS) {
        const help = fs.readFileSync(path.join(root, "nodes", node, "locales", lang, `${node}.html`), "utf8");
        assert.match(help, /msg\.call\.simulated = true/, `${node} ${lang}`);
        assert.match(help, /"simulated"/, `${node} ${lang}: msg.method`);
      }
  });
});
