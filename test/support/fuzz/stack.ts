// The whole running stack under fuzz: Kamailio, one fuzzing relay per
// transport, and a real Node-RED (the devDependency) started as a child process
// with this package linked into a temp userDir, the editor on 127.0.0.1, the
// network guard preloaded, and a flow with three accounts (UDP, TCP, WS), each
// with sip-call (greeting) and sip-dtmf (a code), whose messages are printed
// by a function node as "FUZZEV {...}" lines in the Node-RED log.

import * as fs from "node:fs";
import * as path from "node:path";
import { startKamailio, Kamailio } from "../kamailio";
import { makeTempDir, spawnManaged, ManagedProcess } from "../process";
import { freePort, freePortRange } from "../ports";
import { waitFor } from "../wait";
import { startRelay, FuzzRelay, RelayKind } from "./relay";

export interface Account {
  id: string;
  user: string;
  password: string;
  kind: RelayKind;
  relay: FuzzRelay;
  /** The phone's local SIP port (UDP only; TCP/WS connect out from an ephemeral port). */
  sipPort?: number;
  /** First of the 16 RTP ports the account may use. */
  rtpBase: number;
}

export interface FuzzEvent {
  a: string;
  t?: string;
  p?: unknown;
  c?: string;
  r?: string;
  time: number;
}

export interface FuzzStack {
  kam: Kamailio;
  accounts: Account[];
  red: ManagedProcess;
  readonly userDir: string;
  readonly editorPort: number;
  events: FuzzEvent[];
  /** Last registration state reported for the account. */
  registration(id: string): string | undefined;
  /** Lines that show an uncaught exception or unhandled rejection, and lines the network guard printed. */
  crashLines(): string[];
  guardLines(): string[];
  alive(): boolean;
  /** RSS of the Node-RED process in bytes (from /proc). */
  rss(): number;
  /** Starts Node-RED again with the same flow (after a crash). */
  restartRed(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, "..", "..", "..", "..");
export const GREETING = "Hello. This is the fuzz test speaking.";
const CRASH_RE =
  /Uncaught Exception|unhandledRejection|UnhandledPromiseRejection|FATAL ERROR|JavaScript heap out of memory|Segmentation fault|Maximum call stack/i;

export interface StackOptions {
  /** Kamailio tm timers etc. */
  kamailio?: Parameters<typeof startKamailio>[0];
  /** Node-RED log level (default "info"; our FUZZEV lines are warnings). */
  logLevel?: string;
  /** Which accounts (default all three). */
  kinds?: RelayKind[];
  /** Point the UDP account at the port this returns instead of its relay (e.g. a lossy relay for the soak). */
  udpServer?: (kam: Kamailio) => Promise<number>;
}

export async function startFuzzStack(opts: StackOptions = {}): Promise<FuzzStack> {
  if (!fs.existsSync(path.join(ROOT, "dist", "nodes", "sip-client", "sip-client.js"))) throw new Error("run `npm run build` first");
  const users = { alice: "pw-alice", carol: "pw-carol", dave: "pw-dave", bob: "pw-bob" };
  const kam = await startKamailio({ users, ...opts.kamailio });
  const kinds = opts.kinds ?? ["udp", "tcp", "ws"];
  const accounts: Account[] = [];
  const spec: Record<RelayKind, { user: keyof typeof users; upstream: number }> = {
    udp: { user: "alice", upstream: kam.ports.udp },
    tcp: { user: "carol", upstream: kam.ports.tcp },
    ws: { user: "dave", upstream: kam.ports.ws },
  };
  for (const kind of kinds) {
    const relay = await startRelay(kind, await freePort(kind === "udp" ? "udp" : "tcp"), spec[kind].upstream);
    accounts.push({
      id: `acct-${kind}`,
      user: spec[kind].user,
      password: users[spec[kind].user],
      kind,
      relay,
      sipPort: kind === "udp" ? await freePort("udp") : undefined,
      rtpBase: await freePortRange(16, "udp"),
    });
  }

  const udpServerPort = opts.udpServer ? await opts.udpServer(kam) : undefined;
  const userDir = makeTempDir("fuzz-red");
  fs.mkdirSync(path.join(userDir, "node_modules"), { recursive: true });
  fs.symlinkSync(ROOT, path.join(userDir, "node_modules", "node-red-contrib-sip-client"), "dir");
  fs.writeFileSync(
    path.join(userDir, "package.json"),
    JSON.stringify({ name: "fuzz", private: true, dependencies: { "node-red-contrib-sip-client": "*" } }),
  );
  const editorPort = await freePort("tcp");
  fs.writeFileSync(
    path.join(userDir, "settings.js"),
    `module.exports = {
  uiHost: "127.0.0.1",
  uiPort: ${editorPort},
  flowFile: "flows.json",
  credentialSecret: false,
  logging: { console: { level: ${JSON.stringify(opts.logLevel ?? "info")} } },
  editorTheme: { tours: false, projects: { enabled: false } },
  telemetry: { enabled: false, updateNotification: false },
  diagnostics: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
};
`,
  );
  const flow: object[] = [{ id: "tab", type: "tab", label: "fuzz" }];
  const creds: Record<string, { password: string }> = {};
  for (const a of accounts) {
    const rtp = a.rtpBase;
    const port = a.kind === "udp" && udpServerPort ? udpServerPort : a.relay.port;
    flow.push(
      {
        id: a.id,
        type: "sip-client",
        name: `fuzz ${a.kind}`,
        server: "127.0.0.1",
        port: String(port),
        transport: a.kind,
        username: a.user,
        expires: "60",
        localPort: a.sipPort ? String(a.sipPort) : "0",
        keepAlive: "25",
        wsPath: "/",
        rtpPortMin: String(rtp),
        rtpPortMax: String(rtp + 15),
        ttsLanguage: "en-US",
        codecs: "PCMA,PCMU",
      },
      {
        id: `${a.id}-call`,
        z: "tab",
        type: "sip-call",
        client: a.id,
        autoAnswer: true,
        greetings: [{ number: "", message: GREETING }],
        afterGreeting: "stay",
        wires: [[`${a.id}-log`]],
      },
      {
        id: `${a.id}-dtmf`,
        z: "tab",
        type: "sip-dtmf",
        client: a.id,
        terminator: "#",
        actions: [
          { code: "1234#", message: "Open.", topic: "gate" },
          { code: "1", message: "One.", topic: "one" },
        ],
        invalidMessage: "Wrong code.",
        wires: [[`${a.id}-log`], [`${a.id}-log`], [`${a.id}-log`]],
      },
      {
        id: `${a.id}-log`,
        z: "tab",
        type: "function",
        name: `log ${a.kind}`,
        outputs: 0,
        func: `node.warn("FUZZEV " + JSON.stringify({ a: ${JSON.stringify(a.id)}, t: msg.topic, p: (typeof msg.payload === "string" || typeof msg.payload === "number") ? msg.payload : null, c: msg.call && msg.call.id, r: msg.reason || (msg.call && [msg.call.outcome, msg.call.reason].filter(Boolean).join(" ")) || undefined }));\nreturn null;`,
      },
    );
    creds[a.id] = { password: a.password };
  }
  fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flow, null, 1));
  fs.writeFileSync(path.join(userDir, "flows_cred.json"), JSON.stringify(creds));

  const events: FuzzEvent[] = [];
  const crash: string[] = [];
  const guard: string[] = [];
  const MAX_EVENTS = 20_000;
  let red!: ManagedProcess;
  const startRed = async (): Promise<void> => {
    red = spawnManaged(
      process.execPath,
      [
        "--require",
        path.join(__dirname, "net-guard.js"),
        require.resolve("node-red/red.js"),
        "--userDir",
        userDir,
        "--settings",
        path.join(userDir, "settings.js"),
      ],
      {
        name: "node-red",
        cwd: userDir,
        env: { ...process.env, NODE_OPTIONS: "" },
        onLine: (line) => {
          const ev = /FUZZEV (\{.*\})\s*$/.exec(line);
          if (ev) {
            try {
              events.push({ ...JSON.parse(ev[1]), time: Date.now() });
            } catch {
              /* partial line */
            }
            if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
            return;
          }
          if (line.startsWith("[fuzz-guard]")) {
            if (guard.length < 200) guard.push(line);
            return;
          }
          if (CRASH_RE.test(line) && crash.length < 200) crash.push(line);
        },
      },
    );
    await waitFor(() => !red.running || /Started flows/.test(red.output()), 60_000, "Node-RED to start flows");
    if (!red.running) throw new Error(`Node-RED exited at start:\n${red.output().slice(-3000)}`);
  };
  await startRed();

  const registration = (id: string): string | undefined => {
    for (let i = events.length - 1; i >= 0; i--) if (events[i].a === id && events[i].t === "registration") return String(events[i].p);
    return undefined;
  };
  try {
    await waitFor(() => accounts.every((a) => registration(a.id) === "REGISTERED") || !red.running, 30_000, "every account REGISTERED");
  } catch (err) {
    const states = accounts.map((a) => `${a.id}=${registration(a.id)}`).join(" ");
    await red.stop(3000);
    for (const a of accounts) await a.relay.close();
    await kam.stop();
    throw new Error(`${(err as Error).message} (${states})\n${red.output().slice(-4000)}`);
  }

  return {
    kam,
    accounts,
    userDir,
    editorPort,
    events,
    get red() {
      return red;
    },
    registration,
    crashLines: () => [...crash],
    guardLines: () => [...guard],
    alive: () => red.running,
    rss: () => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${red.pid}/status`, "utf8"));
        return m ? Number(m[1]) * 1024 : NaN;
      } catch {
        return NaN;
      }
    },
    restartRed: async () => {
      if (red.running) await red.stop(5000);
      const since = Date.now();
      await startRed();
      // Ready again when every account has registered from the new process.
      await waitFor(
        () =>
          !red.running ||
          accounts.every((a) => events.some((e) => e.a === a.id && e.t === "registration" && e.p === "REGISTERED" && e.time >= since)),
        30_000,
        "every account REGISTERED after the restart",
      ).catch(() => undefined);
    },
    stop: async () => {
      await red.stop(5000);
      for (const a of accounts) await a.relay.close();
      await kam.stop();
    },
  };
}

/** Reads `stack.red` through the getter (the process object changes on restart). */
export function redOf(stack: FuzzStack): ManagedProcess {
  return stack.red;
}
