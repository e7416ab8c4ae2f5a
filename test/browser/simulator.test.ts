// "Simulate a call" in the real editor (issue 13, item 2): a real Node-RED 4 (child process, this
// package linked into its user directory) with a flow whose account points at a closed loopback port
// (no SIP server), Debian's Chromium through playwright-core. The test opens the sip-call node,
// clicks Simulate, calls, waits for the greeting, presses 1 on the page's keypad: the flow's
// sip-dtmf gets the key (debug messages, marked simulated) and speaks its action's text. The audio
// the page received and played is compared with the same texts synthesised here (loudness envelopes).
//
// Needs `npm run build` and Chromium at /usr/bin/chromium (or CHROMIUM_PATH). Artifacts (screenshots,
// Node-RED log) in test-artifacts/browser/.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { chromium, type Browser, type Page } from "playwright-core";
import { SpeechService } from "../../src";
import { speechMatch } from "../support/audio-match";
import { freeUdpPort } from "../support/ports";
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, startNodeRed, waitForEditor, type NodeRed } from "../support/editor-browser";

// Globals of the editor page (only used inside page.evaluate / waitForFunction).
declare const RED: any;

const GREETING = "Welcome to the test menu. Press one for the weather.";
const ACTION_TEXT = "Sunny and warm, all day long.";

/** The menu flow: a greeting on answer, key 1 → an action that speaks; both sip-dtmf outputs to debug nodes. */
function menuFlow(sipPort: number): object[] {
  const tab = "5a00000000000001";
  return [
    { id: tab, type: "tab", label: "Simulator" },
    {
      id: "5a00000000000002",
      type: "sip-client",
      name: "test account",
      server: "127.0.0.1",
      port: String(sipPort),
      transport: "udp",
      username: "620",
      ttsLanguage: "en-US",
    },
    {
      id: "5a00000000000003",
      type: "sip-call",
      z: tab,
      name: "menu line",
      client: "5a00000000000002",
      autoAnswer: true,
      greetings: [{ number: "", message: GREETING, language: "" }],
      afterGreeting: "stay",
      x: 160,
      y: 100,
      wires: [[]],
    },
    {
      id: "5a00000000000004",
      type: "sip-dtmf",
      z: tab,
      name: "menu keys",
      client: "5a00000000000002",
      terminator: "#",
      actions: [{ code: "1", message: ACTION_TEXT, topic: "weather" }],
      outputs: 2,
      x: 160,
      y: 200,
      wires: [["5a00000000000005"], ["5a00000000000006"]],
    },
    {
      id: "5a00000000000005",
      type: "debug",
      z: tab,
      name: "keys",
      active: true,
      tosidebar: true,
      console: false,
      complete: "true",
      x: 400,
      y: 180,
      wires: [],
    },
    {
      id: "5a00000000000006",
      type: "debug",
      z: tab,
      name: "weather",
      active: true,
      tosidebar: true,
      console: false,
      complete: "true",
      x: 400,
      y: 220,
      wires: [],
    },
  ];
}

describe("Simulate a call in the editor (real browser)", function () {
  this.timeout(180_000);
  let browser: Browser;
  let red: NodeRed;
  let page: Page;

  before(async function () {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    assert.ok(fs.existsSync(path.join(ROOT, "dist", "nodes", "sip-call", "sip-call.js")), "run npm run build first");
    assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
    red = await startNodeRed("simulator");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ locale: "en-US" });
    page = await context.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(red.url);
    await waitForEditor(page);
  });

  after(async function () {
    if (browser) await browser.close();
    if (red) await red.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page) await page.screenshot({ path: path.join(ARTIFACTS, "simulator-failed.png") }).catch(() => {});
  });

  it("keys pressed on the page's keypad reach the flow (msg.call.simulated) and the page plays the flow's speech", async function () {
    const sipPort = await freeUdpPort(); // nobody there: no SIP server
    await page.evaluate(async (flow) => {
      const res = await fetch("flows", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full", "Node-RED-API-Version": "v1" },
        body: JSON.stringify(flow),
      });
      if (!res.ok) throw new Error("POST /flows " + res.status);
    }, menuFlow(sipPort));
    await page.reload();
    await waitForEditor(page);
    // The debug sidebar's messages, as the editor receives them.
    await page.evaluate(() => {
      (window as any).debugMessages = [];
      RED.comms.subscribe("debug", (_t: string, m: any) => (window as any).debugMessages.push(m));
    });

    // Open the sip-call node (double-click, or the editor's own API if the clicks are split).
    const callNode = page.locator("#red-ui-workspace-chart g.red-ui-flow-node-group[id='5a00000000000003'] rect.red-ui-flow-node");
    await callNode.dblclick();
    const opened = await page
      .waitForSelector("#node-dialog-ok", { state: "visible", timeout: 5000 })
      .then(() => true)
      .catch(() => false);
    if (!opened) await page.evaluate(() => RED.editor.edit(RED.nodes.node("5a00000000000003")));
    await page.waitForSelector(".sip-call-simulator .sip-sim-open", { state: "visible" });
    assert.equal((await page.locator(".sip-call-simulator .sip-sim-open").innerText()).trim(), "Simulate a call");
    await page.click(".sip-call-simulator .sip-sim-open");
    await page.fill(".sip-call-simulator .sip-sim-number", "5551234");
    await page.click(".sip-call-simulator .sip-sim-call");
    await page.waitForFunction(() => document.querySelector(".sip-sim-state")?.getAttribute("data-state") === "ANSWERED", undefined, {
      timeout: 15_000,
    });
    await page.screenshot({ path: path.join(ARTIFACTS, "simulator-answered.png") });

    // The greeting: wait until about its length has arrived (it is synthesised on the first call).
    const speech = new SpeechService({ defaultLanguage: "en-US" });
    let greeting: Int16Array, action: Int16Array;
    try {
      greeting = await speech.synthesize({ text: GREETING, language: "en-US" });
      action = await speech.synthesize({ text: ACTION_TEXT, language: "en-US" });
    } finally {
      await speech.close();
    }
    await page.waitForFunction((n) => (window as any).SipClientSimulator.state.received.length >= n, greeting.length + 4000, { timeout: 30_000 });

    // Key 1 on the page's keypad.
    await page.click(".sip-call-simulator .sip-sim-key[data-key='1']");
    await page.waitForFunction(() => (window as any).debugMessages.some((m: any) => m.name === "weather"), undefined, { timeout: 10_000 });
    const debug: Array<{ name: string; msg: string }> = await page.evaluate(() => (window as any).debugMessages);
    const key = JSON.parse(debug.find((m) => m.name === "keys")!.msg);
    assert.equal(key.topic, "dtmf");
    assert.equal(key.payload, "1");
    assert.equal(key.method, "simulated");
    assert.equal(key.call.simulated, true);
    assert.equal(key.call.from.number, "5551234");
    const weather = JSON.parse(debug.find((m) => m.name === "weather")!.msg);
    assert.equal(weather.topic, "weather");
    assert.equal(weather.call.simulated, true);

    // The action's text plays: wait for it, then hang up from the page.
    const before = await page.evaluate(() => (window as any).SipClientSimulator.state.received.length);
    await page.waitForFunction((n) => (window as any).SipClientSimulator.state.received.length >= n, before + action.length + 4000, {
      timeout: 30_000,
    });
    await page.click(".sip-call-simulator .sip-sim-hangup");
    await page.waitForFunction(() => document.querySelector(".sip-sim-state")?.getAttribute("data-state") === "ENDED", undefined, {
      timeout: 10_000,
    });

    // What the page received: the greeting, then (after the key) the action's text.
    const received = Int16Array.from(await page.evaluate(() => (window as any).SipClientSimulator.state.received as number[]));
    const g = speechMatch(greeting, received.subarray(0, before));
    const a = speechMatch(action, received.subarray(before));
    assert.ok(g.score > 0.8, `the page played the greeting (envelope correlation ${g.score.toFixed(2)})`);
    assert.ok(a.score > 0.8, `the page played the action's text after the key (envelope correlation ${a.score.toFixed(2)})`);
    // A different text does not match (the comparison can tell texts apart).
    assert.ok(speechMatch(action, received.subarray(0, before)).score < g.score, "the greeting part does not match the action's text as well");
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
  });

  it("says to deploy first when the flow has changes that are not deployed", async function () {
    await page.evaluate(() => RED.nodes.dirty(true));
    await page.evaluate(() => RED.editor.edit(RED.nodes.node("5a00000000000003")));
    await page.waitForSelector(".sip-call-simulator .sip-sim-open", { state: "visible" });
    await page.waitForTimeout(400); // tray slide-in
    await page.click(".sip-call-simulator .sip-sim-open");
    const note = await page.locator(".sip-call-simulator .sip-sim-note").innerText();
    assert.match(note, /deploy first/);
    await page.click("#node-dialog-cancel");
  });
});
