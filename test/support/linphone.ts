// linphonec 5.1 (Debian linphone-cli) as a second real phone, beside baresip.
//
//   const l = await startLinphone({ user: "carol", password: "pw", kamailio: kam, dtmf: "info" });
//   await l.waitRegistered();
//   l.command("call sip:alice@127.0.0.1"); await l.waitLine(/connected/);
//   l.recording -> WAV of what linphone heard (file sound card)
//   await l.stop();
//
// Runs `linphonec -c <rc>` with HOME in a temp dir and a generated rc file:
//   - [sip] bind_address=127.0.0.1, a free UDP port, TCP and TLS ports 0 (-1 would open random
//     ports on every interface), use_info / use_rfc2833 for how keys are sent.
//   - [rtp] bind_address=127.0.0.1 and a free audio port.
// It is driven by its stdin commands (verified with 5.1.65): `soundcard use files` (the file sound
// card: `play <wav>` is the microphone, `record <wav>` receives what it hears), `register <identity>
// <proxy> <password>`, `call <uri>`, `answer`, `terminate`, `pause`, `resume`, `autoanswer enable`,
// and a line that is a single key (0-9 * #) sends it as DTMF during a call. Its answers are the
// lines it prints: "Registration on <proxy> successful.", "Receiving new incoming call from ...",
// "Call <n> with <uri> connected.", "Call <n> with <uri> ended (...)." etc.
// Only literal 127.0.0.1 addresses are configured, so nothing is looked up in DNS.
// The test Kamailio needs `gruu: false` for it (see KamailioOptions.gruu).

import * as fs from "node:fs";
import * as path from "node:path";
import type { Kamailio } from "./kamailio";
import { makeTempDir, spawnManaged, type ManagedProcess } from "./process";
import { freePort, freePortRange, LOOPBACK } from "./ports";
import { waitFor } from "./wait";
import { tone, writeWav } from "./wav";

export interface LinphoneOptions {
  user: string;
  password: string;
  kamailio: Kamailio;
  /** How keys are sent: RFC 2833 telephone-events (default) or SIP INFO. */
  dtmf?: "rfc2833" | "info";
  /** WAV played as the microphone (default: a generated 30 s 440 Hz tone). */
  audioFile?: string;
  /** Answer incoming calls by itself. */
  autoAnswer?: boolean;
}

/** Lengths of linphonec's output and log at some moment. */
export interface Mark {
  out: number;
  log: number;
}

export interface Linphone {
  readonly user: string;
  readonly uri: string;
  readonly process: ManagedProcess;
  /** What linphone heard in its calls (written by `record`). */
  readonly recording: string;
  /** Sends one stdin command line. */
  command(line: string): void;
  /** Waits for `re` in linphonec's output or log, after `since` (default: from the start). */
  wait(re: RegExp, timeoutMs?: number, since?: Mark): Promise<string>;
  /** Where output and log end now (for wait's `since`). */
  mark(): Mark;
  waitRegistered(timeoutMs?: number): Promise<void>;
  /** Sends keys one by one as DTMF (one line each), `gapMs` apart. */
  sendKeys(keys: string, gapMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startLinphone(opts: LinphoneOptions): Promise<Linphone> {
  const dir = makeTempDir(`linphone-${opts.user}-`);
  const sipPort = await freePort("both");
  const rtpPort = await freePortRange(2, "udp");
  const rc = path.join(dir, "linphonerc");
  // Without its database directory linphonec 5.1 never brings its network up (no SIP port).
  fs.mkdirSync(path.join(dir, ".local", "share", "linphone"), { recursive: true });
  const info = opts.dtmf === "info";
  fs.writeFileSync(
    rc,
    [
      "[sip]",
      `sip_port=${sipPort}`,
      "sip_tcp_port=0",
      "sip_tls_port=0",
      `bind_address=${LOOPBACK}`,
      `use_info=${info ? 1 : 0}`,
      `use_rfc2833=${info ? 0 : 1}`,
      "register_only_when_network_is_up=0",
      "",
      "[rtp]",
      `bind_address=${LOOPBACK}`,
      `audio_rtp_port=${rtpPort}`,
      "",
      "[sound]",
      "echocancellation=0",
      "",
      "[net]",
      "firewall_policy=0",
      "",
      "[misc]",
      "version_check_url_root=",
      "",
    ].join("\n"),
  );
  let source = opts.audioFile;
  if (!source) {
    source = path.join(dir, "tone.wav");
    writeWav(source, tone(440, 30));
  }
  const recording = path.join(dir, "heard.wav");
  const logFile = path.join(dir, "linphonec.log");
  const proc = spawnManaged("linphonec", ["-d", "5", "-l", logFile, "-c", rc], {
    name: `linphonec-${opts.user}`,
    cwd: dir,
    env: { ...process.env, HOME: dir },
    stdin: "pipe",
  });
  const command = (line: string) => {
    if (proc.running) proc.child.stdin?.write(line + "\n");
  };
  const readLog = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "");
  // Registration states go to its log file (-d 5): "moving from state [..] to [LinphoneRegistrationOk]";
  // call states to stdout: "Call 1 with <uri> connected.", "Media streams established with ...".
  const mark = (): Mark => ({ out: proc.output().length, log: readLog().length });
  const wait = async (re: RegExp, timeoutMs = 10_000, since: Mark = { out: 0, log: 0 }): Promise<string> => {
    let found: RegExpExecArray | null = null;
    await waitFor(
      () => {
        if (!proc.running) throw new Error(`linphonec exited: ${proc.output().slice(-2000)}`);
        found = re.exec(proc.output().slice(since.out)) ?? re.exec(readLog().slice(since.log));
        return found !== null;
      },
      timeoutMs,
      `linphonec ${opts.user}: ${re}`,
    );
    return found![0];
  };
  const uri = `sip:${opts.user}@${LOOPBACK}`;
  command("soundcard use files");
  command(`play ${source}`);
  command(`record ${recording}`);
  if (opts.autoAnswer) command("autoanswer enable");
  command(`register ${uri} sip:${LOOPBACK}:${opts.kamailio.ports.udp} ${opts.password}`);
  return {
    user: opts.user,
    uri,
    process: proc,
    recording,
    command,
    wait,
    mark,
    waitRegistered: async (timeoutMs = 10_000) => {
      await wait(/to \[LinphoneRegistrationOk\]/, timeoutMs);
    },
    sendKeys: async (keys, gapMs = 400) => {
      for (const k of keys) {
        command(k);
        await new Promise((r) => setTimeout(r, gapMs));
      }
    },
    stop: async () => {
      command("terminate all");
      command("quit");
      const quit = await Promise.race([proc.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
      if (!quit) await proc.stop(1000);
    },
  };
}
