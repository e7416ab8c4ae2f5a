// Kamailio as a real SIP registrar + proxy for integration tests.
//
//   const kam = await startKamailio({ users: { alice: "secret", bob: "pw2" } });
//   kam.ports.udp / .tcp (same number) / .tls / .ws / .wss
//   await kam.ulDump()        -> current bindings (kamcmd ul.dump over the ctl socket)
//   kam.registerCount("alice") -> REGISTERs seen (challenged ones included)
//   await kam.stop()
//
// What the generated kamailio.cfg does (written from scratch for this project):
//   - listens only on 127.0.0.1 (and, with opts.ipv6, on [::1] too: UDP/TCP,
//     TLS and WS on the same port numbers): UDP+TCP on one port, TLS (self-signed EC cert
//     made with openssl in the temp dir, SAN IP:127.0.0.1 and IP:::1), plain WebSocket
//     (xhttp + websocket on its own TCP port) and secure WebSocket (xhttp on
//     its own TLS port). Every alias carries an explicit port: a port-less
//     alias for 127.0.0.1 would make every local port "myself" and loop
//     in-dialog requests.
//   - opts.requireClientCert: mutual TLS on the TLS/WSS ports; the client
//     certificate must be signed by a test CA made for the run (kam.clientCa).
//   - registrar with digest auth: REGISTER is challenged with 401
//     (auth_challenge) and checked with pv_auth_check() against a password in
//     the in-memory htable "users" (filled from opts.users at mod-init; no
//     database). usrloc keeps bindings in memory only, keyed by user name
//     (use_domain off), so the AoR domain/port does not matter.
//   - proxy: initial requests to a registered user are looked up and relayed
//     with t_relay(); INVITE/SUBSCRIBE are record-routed (double RR when the
//     transport changes, e.g. WS <-> UDP); in-dialog requests follow
//     loose_route(); CANCEL and ACK are matched to their transactions.
//     Callers need not be registered. opts.authInvite challenges initial
//     INVITEs with 407 (proxy auth) as well.
//   - NAT-style handling (nathelper) so TCP/TLS/WS clients and clients behind
//     the lossy relay are reached over the connection/address they used:
//     fix_nated_register() stores the source as "received" for REGISTER,
//     set_contact_alias() for dialog-forming requests/replies,
//     handle_ruri_alias() for in-dialog requests.
//   - a branch route drops any branch whose destination is not 127.0.0.1 (or ::1), so
//     the proxy never sends traffic anywhere else (and never needs DNS).
//   - xlog lines "HARNESS|..." on stderr record every request and reply;
//     registerCount()/requests() parse them.
//
// The process runs as `kamailio -f CFG -DD -E -P <abs pid> -Y <abs rundir>` in
// its own process group; stop() sends SIGTERM then SIGKILLs the group.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeTempDir, spawnManaged, type ExitInfo, type ManagedProcess } from "./process";
import { freePort, LOOPBACK, releasePort } from "./ports";
import { sleep } from "./wait";

export interface KamailioOptions {
  /** user -> plain-text password. Default: {}. */
  users?: Record<string, string>;
  /** Digest realm in challenges. Default "127.0.0.1". */
  realm?: string;
  /** Offer qop=auth in challenges (default true). */
  qop?: boolean;
  /** Challenge initial INVITEs with 407 Proxy Authentication Required. */
  authInvite?: boolean;
  /** Answer a wrong password / unknown user with 403 instead of a fresh 401/407. */
  forbidBadAuth?: boolean;
  /** Like Asterisk's rewrite_contact: a REGISTER from a NAT-ed source gets its Contact rewritten to that source. */
  rewriteContact?: boolean;
  /** Digest algorithm of the challenges (default MD5). */
  algorithm?: "MD5" | "SHA-256";
  /** registrar min/max/default expires in seconds (defaults 1 / 3600 / 3600). */
  minExpires?: number;
  maxExpires?: number;
  defaultExpires?: number;
  /** tm timers (ms): no final reply for non-INVITE / INVITE after provisional. */
  frTimerMs?: number;
  frInvTimerMs?: number;
  /** Kamailio log level (core `debug`): 1 = notice (default), 2 = info, 3 = debug. */
  debug?: number;
  /** Start timeout in ms (default 15000). */
  startTimeoutMs?: number;
  /**
   * Mutual TLS on the TLS and WSS ports: a client must present a certificate signed by a test CA
   * made for this run (see Kamailio.clientCa). Default false (no client certificate asked for).
   */
  requireClientCert?: boolean;
  /**
   * Also listen on [::1] (UDP+TCP, TLS and WS, the same port numbers as on 127.0.0.1), relay
   * between the families and accept ::1 as a destination. Default false: IPv4 only.
   */
  ipv6?: boolean;
  /**
   * GRUU (RFC 5627) for clients that ask for it (default true, Kamailio's default). Linphone 5.1
   * puts a portless GRUU in its Contact, so in-dialog requests to it would go to port 5060: off for it.
   */
  gruu?: boolean;
  /** Remove telephone-event (RFC 4733) from every SDP it relays (sdpops), like a PBX without RFC 2833. */
  stripTelephoneEvent?: boolean;
  /** Answer every in-dialog INFO with 405 instead of relaying it, like a PBX that blocks SIP INFO. */
  blockInfo?: boolean;
}

/** PEM files for mutual TLS tests (made with openssl in the temp dir). */
export interface ClientCaFiles {
  /** The test CA Kamailio trusts for client certificates. */
  caPath: string;
  /** A client certificate signed by that CA, and its key. */
  certPath: string;
  keyPath: string;
  /** A self-signed client certificate (not from the CA), and its key: must be refused. */
  rogueCertPath: string;
  rogueKeyPath: string;
}

export interface KamailioPorts {
  /** UDP and TCP share this port number. */
  udp: number;
  tcp: number;
  tls: number;
  /** Plain WebSocket (ws://127.0.0.1:ws). */
  ws: number;
  /** Secure WebSocket (wss://127.0.0.1:wss, self-signed cert). */
  wss: number;
}

export interface Binding {
  aor: string;
  contact: string;
  /** Seconds left; -1 if kamcmd printed something non-numeric. */
  expires: number;
  /** Source address recorded for NAT-ed/connection-oriented clients, e.g. "sip:127.0.0.1:40312;transport=tcp". */
  received?: string;
  /** Local socket the REGISTER came in on, e.g. "udp:127.0.0.1:21000". */
  socket?: string;
  callId?: string;
  cseq?: number;
  userAgent?: string;
  instance?: string;
  regId?: number;
  path?: string;
  q?: number;
  tcpconnId?: number;
  /** Every field kamcmd printed for this contact. */
  raw: Record<string, string>;
}

export interface SeenRequest {
  method: string;
  ruri: string;
  toUser: string;
  fromUser: string;
  authUser: string;
  proto: string;
  srcIp: string;
  srcPort: number;
  /** Index of the (re)start this request was seen in (0 = first start). */
  generation: number;
}

export interface SeenReply {
  status: number;
  method: string;
  proto: string;
  srcIp: string;
  srcPort: number;
  generation: number;
}

export type Transport = "udp" | "tcp" | "tls" | "ws" | "wss";

/** The IPv6 loopback Kamailio also listens on with opts.ipv6. */
export const LOOPBACK6 = "::1";

export interface Kamailio {
  readonly host: "127.0.0.1";
  readonly ports: KamailioPorts;
  readonly realm: string;
  readonly dir: string;
  readonly cfgPath: string;
  /** PEM files of the self-signed TLS certificate (CN/SAN 127.0.0.1). */
  readonly certPath: string;
  readonly keyPath: string;
  /** Set when started with requireClientCert. */
  readonly clientCa?: ClientCaFiles;
  readonly ctlSocket: string;
  /** "sip:<user>@127.0.0.1:<port>[;transport=x]" for the given transport's port. */
  uri(user?: string, transport?: Transport): string;
  /** Started with opts.ipv6: "sip:<user>@[::1]:<port>[;transport=x]". */
  uri6(user?: string, transport?: Transport): string;
  /** Whether it listens on [::1] too (opts.ipv6). */
  readonly ipv6: boolean;
  /** "ws://127.0.0.1:<ws>" / "wss://127.0.0.1:<wss>". */
  wsUrl(secure?: boolean): string;
  ulDump(): Promise<Binding[]>;
  /** REGISTERs received (challenged and authorised alike), optionally for one user (To user). */
  registerCount(user?: string): number;
  /** Every request seen (from xlog lines), oldest first. */
  requests(method?: string): SeenRequest[];
  /** Every reply relayed back through the proxy. */
  replies(): SeenReply[];
  /** Add or change a user at runtime (htable.sets). */
  setUser(user: string, password: string): Promise<void>;
  /**
   * Add a static binding without a REGISTER (ul.add), e.g. to route calls for
   * `user` to a SIPp UAS: addBinding("carol", `sip:carol@127.0.0.1:${uas.port}`).
   */
  addBinding(user: string, contact: string, expires?: number): Promise<void>;
  /** Remove all bindings of a user (ul.rm). */
  removeBindings(user: string): Promise<void>;
  /** Run any kamcmd RPC command against this instance; resolves stdout. */
  kamcmd(...args: string[]): Promise<string>;
  /** Combined stdout/stderr of all runs so far. */
  log(): string;
  readonly running: boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the group is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Stop (if running) and start again on the same ports; in-memory bindings are lost. */
  restart(): Promise<void>;
  /** SIGKILL (simulated crash); restart() works afterwards. */
  kill(): Promise<void>;
}

const KAMAILIO_BIN = findBin("kamailio");
const KAMCMD_BIN = findBin("kamcmd");

function findBin(name: string): string {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/sbin"]) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return name;
}

function findModulePath(): string | undefined {
  const candidates: string[] = [];
  try {
    for (const d of fs.readdirSync("/usr/lib")) candidates.push(path.join("/usr/lib", d, "kamailio", "modules"));
  } catch {
    /* ignore */
  }
  candidates.push("/usr/lib/kamailio/modules", "/usr/lib64/kamailio/modules", "/usr/local/lib64/kamailio/modules", "/usr/local/lib/kamailio/modules");
  return candidates.find((c) => fs.existsSync(path.join(c, "tm.so")));
}

function run(cmd: string, args: string[], timeoutMs = 10000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

function cfgString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const USER_RE = /^[A-Za-z0-9._+~!*'-]+$/;

interface CfgParams {
  ports: KamailioPorts;
  users: Record<string, string>;
  realm: string;
  qop: boolean;
  authInvite: boolean;
  forbidBadAuth: boolean;
  rewriteContact: boolean;
  algorithm: "MD5" | "SHA-256";
  minExpires: number;
  maxExpires: number;
  defaultExpires: number;
  gruu: boolean;
  stripTelephoneEvent: boolean;
  blockInfo: boolean;
  frTimerMs: number;
  frInvTimerMs: number;
  debug: number;
  certPath: string;
  keyPath: string;
  /** CA file for client certificates: Kamailio then requires and verifies one. */
  clientCaPath?: string;
  /** Listen on [::1] too. */
  ipv6: boolean;
  ctlSocket: string;
  mpath: string | undefined;
}

/** The generated configuration (exported for debugging). */
export function kamailioConfig(p: CfgParams): string {
  const { ports } = p;
  const realm = cfgString(p.realm);
  const qopFlag = p.qop ? "1" : "0";
  const users =
    Object.entries(p.users)
      .map(([u, pw]) => `    $sht(users=>${u}) = ${cfgString(pw)};`)
      .join("\n") || '    xlog("L_INFO", "harness: no users configured\\n");';
  const badAuth = p.forbidBadAuth
    ? `
    if ($var(rc) == -2 || $var(rc) == -3) {
      xlog("L_NOTICE", "HARNESS|AUTHFAIL|$rm|$au|$var(rc)\\n");
      sl_send_reply("403", "Forbidden");
      exit;
    }`
    : "";
  return `#!KAMAILIO
# Generated by test/support/kamailio.ts for one test run. Do not edit.

debug=${p.debug}
log_stderror=yes
log_prefix=""
memdbg=5
memlog=5
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=no
dns_try_ipv6=no
dns_try_naptr=no
dns_srv_lb=no
tcp_accept_no_cl=yes
tcp_connection_lifetime=3605
enable_tls=yes
server_header="Server: kamailio-test-harness"
user_agent_header="User-Agent: kamailio-test-harness"

listen=udp:${LOOPBACK}:${ports.udp}
listen=tcp:${LOOPBACK}:${ports.tcp}
listen=tls:${LOOPBACK}:${ports.tls}
listen=tcp:${LOOPBACK}:${ports.ws}
listen=tls:${LOOPBACK}:${ports.wss}
alias="${LOOPBACK}:${ports.udp}"
alias="${LOOPBACK}:${ports.tls}"
alias="${LOOPBACK}:${ports.ws}"
alias="${LOOPBACK}:${ports.wss}"
${
  p.ipv6
    ? `listen=udp:[${LOOPBACK6}]:${ports.udp}
listen=tcp:[${LOOPBACK6}]:${ports.tcp}
listen=tls:[${LOOPBACK6}]:${ports.tls}
listen=tcp:[${LOOPBACK6}]:${ports.ws}
alias="[${LOOPBACK6}]:${ports.udp}"
alias="[${LOOPBACK6}]:${ports.tls}"
alias="[${LOOPBACK6}]:${ports.ws}"`
    : "# IPv4 only"
}

${p.mpath ? `mpath="${p.mpath}/"` : "# default mpath"}
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "tls.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "ctl.so"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
${p.algorithm !== "MD5" ? `modparam("auth", "algorithm", "${p.algorithm}")\n` : ""}loadmodule "htable.so"
loadmodule "nathelper.so"
loadmodule "xhttp.so"
loadmodule "websocket.so"
${p.stripTelephoneEvent ? 'loadmodule "sdpops.so"\n' : ""}
modparam("tls", "certificate", "${p.certPath}")
modparam("tls", "private_key", "${p.keyPath}")
modparam("tls", "tls_method", "TLSv1.2+")
${
  p.clientCaPath
    ? `modparam("tls", "ca_list", "${p.clientCaPath}")
modparam("tls", "verify_certificate", 1)
modparam("tls", "require_certificate", 1)
modparam("tls", "verify_depth", 2)`
    : `modparam("tls", "verify_certificate", 0)
modparam("tls", "require_certificate", 0)`
}
modparam("ctl", "binrpc", "unix:${p.ctlSocket}")
modparam("htable", "htable", "users=>size=6;")
modparam("tm", "fr_timer", ${p.frTimerMs})
modparam("tm", "fr_inv_timer", ${p.frInvTimerMs})
modparam("rr", "append_fromtag", 1)
modparam("registrar", "min_expires", ${p.minExpires})
modparam("registrar", "max_expires", ${p.maxExpires})
modparam("registrar", "default_expires", ${p.defaultExpires})
modparam("registrar", "gruu_enabled", ${p.gruu ? 1 : 0})
modparam("registrar", "received_avp", "$avp(harness_received)")
modparam("nathelper", "received_avp", "$avp(harness_received)")
modparam("nathelper", "natping_interval", 0)
modparam("usrloc", "nat_bflag", 6)
modparam("usrloc", "timer_interval", 5)
modparam("websocket", "keepalive_mechanism", 0)

event_route[htable:mod-init] {
${users}
}

request_route {
  xlog("L_NOTICE", "HARNESS|REQ|$rm|$tU|$fU|$au|$pr|$si|$sp|$ru\\n");

  if (!mf_process_maxfwd_header("10")) {
    sl_send_reply("483", "Too Many Hops");
    exit;
  }
  force_rport();

  # 2: Via host != source, 16: source port != Via port,
  # 64: WebSocket, 128: Contact port != source port.
  if (nat_uac_test("210")) {
    if (is_method("REGISTER")) {
      ${p.rewriteContact ? "fix_nated_contact();" : "fix_nated_register();"}
    } else if (is_first_hop()) {
      set_contact_alias();
    }
    setflag(5);
  }

${p.stripTelephoneEvent ? '  if (has_body("application/sdp")) {\n    sdp_remove_codecs_by_name("telephone-event");\n  }\n' : ""}  # ---- in-dialog requests
  if (has_totag()) {
${p.blockInfo ? '    if (is_method("INFO")) {\n      sl_send_reply("405", "Method Not Allowed");\n      exit;\n    }\n' : ""}    if (loose_route()) {
      if (!isdsturiset()) {
        handle_ruri_alias();
      }
      route(RELAY);
      exit;
    }
    if (is_method("ACK")) {
      if (t_check_trans()) {
        route(RELAY);
      }
      exit;
    }
    sl_send_reply("404", "Not here");
    exit;
  }

  if (is_method("CANCEL")) {
    if (t_check_trans()) {
      route(RELAY);
    }
    exit;
  }

  if (!is_method("ACK")) {
    if (t_precheck_trans()) {
      t_check_trans();
      exit;
    }
    t_check_trans();
  }

  remove_hf("Route");

  # ---- registrar
  if (is_method("REGISTER")) {
    if ($sht(users=>$au) == $null) {
      auth_challenge(${realm}, "${qopFlag}");
      exit;
    }
    pv_auth_check(${realm}, "$sht(users=>$au)", "0", "1");
    $var(rc) = $rc;
    if ($var(rc) < 0) {${badAuth}
      auth_challenge(${realm}, "${qopFlag}");
      exit;
    }
    consume_credentials();
    if (isflagset(5)) {
      setbflag(6);
    }
    if (!save("location")) {
      sl_reply_error();
      exit;
    }
    xlog("L_NOTICE", "HARNESS|SAVED|$tU|$pr|$si|$sp\\n");
    exit;
  }

  # ---- requests for the proxy itself
  if (uri == myself && $rU == $null) {
    if (is_method("OPTIONS")) {
      sl_send_reply("200", "OK");
    } else if (!is_method("ACK")) {
      sl_send_reply("484", "Address Incomplete");
    }
    exit;
  }

${
  p.authInvite
    ? `  # ---- proxy authentication of new calls
  # (the auth user need not match the From user, unlike for REGISTER)
  if (is_method("INVITE")) {
    if ($sht(users=>$au) == $null) {
      auth_challenge(${realm}, "${qopFlag}");
      exit;
    }
    pv_auth_check(${realm}, "$sht(users=>$au)", "0", "0");
    $var(rc) = $rc;
    if ($var(rc) < 0) {${badAuth}
      auth_challenge(${realm}, "${qopFlag}");
      exit;
    }
    consume_credentials();
  }
`
    : "  # INVITEs are not authenticated (authInvite off)\n"
}
  if (is_method("INVITE|SUBSCRIBE")) {
    record_route();
  }

  if (uri != myself) {
    # Relay to a foreign 127.0.0.1 address as a plain proxy.
    route(RELAY);
    exit;
  }

  if (!lookup("location")) {
    $var(rc) = $rc;
    xlog("L_NOTICE", "HARNESS|NOTFOUND|$rm|$rU|$var(rc)\\n");
    if (is_method("ACK")) {
      exit;
    }
    t_newtran();
    if ($var(rc) == -2) {
      t_reply("405", "Method Not Allowed");
    } else {
      t_reply("404", "Not Found");
    }
    exit;
  }
  route(RELAY);
}

route[RELAY] {
  if (is_method("INVITE|BYE|UPDATE|SUBSCRIBE|NOTIFY|REFER|INFO|MESSAGE|PRACK|OPTIONS")) {
    t_on_reply("NATREPLY");
  }
  t_on_branch("LOOPBACK_ONLY");
  if (!t_relay()) {
    sl_reply_error();
  }
  exit;
}

branch_route[LOOPBACK_ONLY] {
  if (isdsturiset()) {
    if ($(du{uri.host}) != "${LOOPBACK}"${p.ipv6 ? ` && $(du{uri.host}) != "[${LOOPBACK6}]" && $(du{uri.host}) != "${LOOPBACK6}"` : ""}) {
      xlog("L_WARN", "HARNESS|DROP|$rm|$du\\n");
      drop;
    }
  } else if ($rd != "${LOOPBACK}"${p.ipv6 ? ` && $rd != "[${LOOPBACK6}]" && $rd != "${LOOPBACK6}"` : ""}) {
    xlog("L_WARN", "HARNESS|DROP|$rm|$ru\\n");
    drop;
  }
}

onreply_route[NATREPLY] {
${p.stripTelephoneEvent ? '  if (has_body("application/sdp")) {\n    sdp_remove_codecs_by_name("telephone-event");\n  }\n' : ""}  if (isbflagset(6) || nat_uac_test("64")) {
    if (is_first_hop()) {
      set_contact_alias();
    }
  }
}

reply_route {
  xlog("L_NOTICE", "HARNESS|RPL|$rs|$rm|$pr|$si|$sp\\n");
}

event_route[xhttp:request] {
  set_reply_close();
  set_reply_no_connect();
  if ($Rp != ${ports.ws} && $Rp != ${ports.wss}) {
    xhttp_reply("403", "Forbidden", "", "");
    exit;
  }
  if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
    if (ws_handle_handshake()) {
      exit;
    }
  }
  xhttp_reply("404", "Not Found", "", "");
}
`;
}

// ---- kamcmd output parsing ------------------------------------------------

type Tree = { [k: string]: string | Tree | Array<string | Tree> };

/** Parses kamcmd's brace-structured output ("Key: value", "Key: {", "}"). */
export function parseKamcmd(out: string): Tree {
  const root: Tree = {};
  const stack: Tree[] = [root];
  const put = (obj: Tree, key: string, val: string | Tree): void => {
    if (!(key in obj)) obj[key] = val;
    else {
      const cur = obj[key];
      if (Array.isArray(cur)) cur.push(val);
      else obj[key] = [cur, val];
    }
  };
  for (const rawLine of out.split("\n")) {
    const line = rawLine.trim();
    if (!line) continue;
    if (line === "{") continue; // top-level opening brace
    if (line === "}") {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const m = /^([^:]+):\s?(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1].trim();
    const val = m[2].trim();
    if (val === "{") {
      const child: Tree = {};
      put(stack[stack.length - 1], key, child);
      stack.push(child);
    } else {
      put(stack[stack.length - 1], key, val);
    }
  }
  return root;
}

function asList(v: string | Tree | Array<string | Tree> | undefined): Tree[] {
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.filter((x): x is Tree => typeof x === "object");
}

function optStr(v: string | undefined): string | undefined {
  if (v === undefined || v === "[not set]" || v === "") return undefined;
  return v;
}

function optNum(v: string | undefined): number | undefined {
  const s = optStr(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function bindingsFromUlDump(out: string): Binding[] {
  const tree = parseKamcmd(out);
  const result: Binding[] = [];
  const domains = tree["Domains"];
  const domainList = asList(domains).flatMap((d) => asList(d["Domain"]));
  for (const dom of domainList) {
    for (const aors of asList(dom["AoRs"])) {
      for (const info of asList(aors["Info"])) {
        const aor = typeof info["AoR"] === "string" ? info["AoR"] : "";
        for (const contacts of asList(info["Contacts"])) {
          for (const c of asList(contacts["Contact"])) {
            const raw: Record<string, string> = {};
            for (const [k, v] of Object.entries(c)) if (typeof v === "string") raw[k] = v;
            result.push({
              aor,
              contact: raw["Address"] ?? "",
              expires: optNum(raw["Expires"]) ?? -1,
              received: optStr(raw["Received"]),
              socket: optStr(raw["Socket"]),
              callId: optStr(raw["Call-ID"]),
              cseq: optNum(raw["CSeq"]),
              userAgent: optStr(raw["User-Agent"]),
              instance: optStr(raw["Instance"]),
              regId: optNum(raw["Reg-Id"]),
              path: optStr(raw["Path"]),
              q: optNum(raw["Q"]),
              tcpconnId: optNum(raw["Tcpconn-Id"]),
              raw,
            });
          }
        }
      }
    }
  }
  return result;
}

// ---- starting ----------------------------------------------------------------

/** A throw-away self-signed EC certificate for 127.0.0.1 and ::1 (openssl), as cert.pem and key.pem in `dir`. */
export async function makeCert(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const certPath = path.join(dir, "cert.pem");
  const keyPath = path.join(dir, "key.pem");
  const r = await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-days",
    "30",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1,IP:::1",
  ]);
  if (r.code !== 0) throw new Error(`kamailio harness: openssl could not make a certificate:\n${r.out}`);
  return { certPath, keyPath };
}

/** A test CA, a client certificate it signed, and a self-signed rogue client certificate. */
async function makeClientCa(dir: string): Promise<ClientCaFiles> {
  const f = (n: string) => path.join(dir, n);
  const files: ClientCaFiles = {
    caPath: f("client-ca.pem"),
    certPath: f("client-cert.pem"),
    keyPath: f("client-key.pem"),
    rogueCertPath: f("rogue-cert.pem"),
    rogueKeyPath: f("rogue-key.pem"),
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const steps: string[][] = [
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      f("client-ca-key.pem"),
      "-out",
      files.caPath,
      "-days",
      "30",
      "-subj",
      "/CN=harness test client CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    ["req", ...ec, "-keyout", files.keyPath, "-out", f("client.csr"), "-subj", "/CN=harness client"],
    [
      "x509",
      "-req",
      "-in",
      f("client.csr"),
      "-CA",
      files.caPath,
      "-CAkey",
      f("client-ca-key.pem"),
      "-CAcreateserial",
      "-out",
      files.certPath,
      "-days",
      "30",
    ],
    ["req", "-x509", ...ec, "-keyout", files.rogueKeyPath, "-out", files.rogueCertPath, "-days", "30", "-subj", "/CN=harness client"],
  ];
  for (const args of steps) {
    const r = await run("openssl", args);
    if (r.code !== 0) throw new Error(`kamailio harness: openssl ${args[0]} failed:\n${r.out}`);
  }
  return files;
}

async function allocatePorts(): Promise<KamailioPorts> {
  const sip = await freePort("both");
  const tls = await freePort("tcp");
  const ws = await freePort("tcp");
  const wss = await freePort("tcp");
  return { udp: sip, tcp: sip, tls, ws, wss };
}

export async function startKamailio(opts: KamailioOptions = {}): Promise<Kamailio> {
  const users = opts.users ?? {};
  for (const u of Object.keys(users)) {
    if (!USER_RE.test(u)) throw new Error(`kamailio harness: unsupported user name ${JSON.stringify(u)}`);
  }
  const realm = opts.realm ?? LOOPBACK;
  if (/["$\\]/.test(realm)) throw new Error(`kamailio harness: unsupported realm ${JSON.stringify(realm)}`);

  const dir = makeTempDir("kamailio");
  const rundir = path.join(dir, "run");
  fs.mkdirSync(rundir);
  const cfgPath = path.join(dir, "kamailio.cfg");
  const pidFile = path.join(rundir, "kamailio.pid");
  const ctlSocket = path.join(rundir, "kamailio_ctl");
  const { certPath, keyPath } = await makeCert(dir);
  const clientCa = opts.requireClientCert ? await makeClientCa(dir) : undefined;
  const mpath = findModulePath();
  const startTimeout = opts.startTimeoutMs ?? 15000;

  let ports!: KamailioPorts;
  let proc: ManagedProcess | undefined;
  let logText = "";
  let generation = 0;
  const seenRequests: SeenRequest[] = [];
  const seenReplies: SeenReply[] = [];

  const onLine = (line: string): void => {
    const i = line.indexOf("HARNESS|");
    if (i < 0) return;
    const f = line.slice(i).split("|");
    if (f[1] === "REQ") {
      seenRequests.push({
        method: f[2],
        toUser: nul(f[3]),
        fromUser: nul(f[4]),
        authUser: nul(f[5]),
        proto: f[6],
        srcIp: f[7],
        srcPort: Number(f[8]),
        ruri: f.slice(9).join("|"),
        generation,
      });
    } else if (f[1] === "RPL") {
      seenReplies.push({ status: Number(f[2]), method: f[3], proto: f[4], srcIp: f[5], srcPort: Number(f[6]), generation });
    }
  };
  const nul = (s: string | undefined): string => (s === undefined || s === "<null>" ? "" : s);

  const kamcmd = async (...args: string[]): Promise<string> => {
    const r = await run(KAMCMD_BIN, ["-s", `unixs:${ctlSocket}`, ...args], 10000);
    if (r.code !== 0) throw new Error(`kamcmd ${args.join(" ")} failed (${r.code}): ${r.out.trim()}`);
    return r.out;
  };

  const writeCfg = (): void => {
    fs.writeFileSync(
      cfgPath,
      kamailioConfig({
        ports,
        users,
        realm,
        qop: opts.qop ?? true,
        authInvite: opts.authInvite ?? false,
        forbidBadAuth: opts.forbidBadAuth ?? false,
        rewriteContact: opts.rewriteContact ?? false,
        stripTelephoneEvent: opts.stripTelephoneEvent ?? false,
        blockInfo: opts.blockInfo ?? false,
        algorithm: opts.algorithm ?? "MD5",
        minExpires: opts.minExpires ?? 1,
        maxExpires: opts.maxExpires ?? 3600,
        defaultExpires: opts.defaultExpires ?? 3600,
        gruu: opts.gruu ?? true,
        frTimerMs: opts.frTimerMs ?? 10000,
        frInvTimerMs: opts.frInvTimerMs ?? 60000,
        debug: opts.debug ?? 1,
        certPath,
        keyPath,
        clientCaPath: clientCa?.caPath,
        ipv6: opts.ipv6 ?? false,
        ctlSocket,
        mpath,
      }),
    );
  };

  const checkCfg = async (): Promise<void> => {
    const r = await run(KAMAILIO_BIN, ["-c", "-f", cfgPath], 20000);
    if (r.code !== 0) {
      const logPath = path.join(dir, "config-check.log");
      fs.writeFileSync(logPath, r.out);
      const important = r.out.split("\n").filter((l) => /CRITICAL|ERROR|error|WARNING/.test(l));
      const m = /line (\d+), column/.exec(r.out);
      const cfgLine = m ? `\ncfg line ${m[1]}: ${fs.readFileSync(cfgPath, "utf8").split("\n")[Number(m[1]) - 1] ?? ""}` : "";
      throw new Error(
        `kamailio harness: "kamailio -c -f ${cfgPath}" failed (exit ${r.code}):\n` +
          `${(important.length ? important : r.out.split("\n").slice(-30)).join("\n")}${cfgLine}\n(full output: ${logPath})`,
      );
    }
  };

  /** Spawns and waits until the ctl socket answers. Resolves false on a bind failure. */
  const launch = async (): Promise<boolean> => {
    try {
      fs.rmSync(pidFile, { force: true });
      fs.rmSync(ctlSocket, { force: true });
    } catch {
      /* ignore */
    }
    if (generation > 0 || logText) logText += `\n----- kamailio start #${generation} -----\n`;
    const p = spawnManaged(KAMAILIO_BIN, ["-f", cfgPath, "-DD", "-E", "-P", pidFile, "-Y", rundir], {
      name: "kamailio",
      cwd: dir,
      onLine,
    });
    proc = p;
    const deadline = Date.now() + startTimeout;
    while (Date.now() < deadline) {
      if (!p.running) break;
      if (fs.existsSync(ctlSocket)) {
        const r = await run(KAMCMD_BIN, ["-s", `unixs:${ctlSocket}`, "core.version"], 3000);
        if (r.code === 0) return true;
      }
      await sleep(100);
    }
    const out = p.output();
    await p.stop(1000);
    logText += p.output();
    proc = undefined;
    if (/Address already in use|bind\(.*failed|failed to bind/i.test(out)) return false;
    throw new Error(`kamailio harness: kamailio did not come up within ${startTimeout} ms. Output:\n${out}`);
  };

  const stopProc = async (graceMs = 3000, how: "stop" | "kill" = "stop"): Promise<ExitInfo | undefined> => {
    const p = proc;
    if (!p) return undefined;
    const info = how === "kill" ? await p.kill() : await p.stop(graceMs);
    logText += p.output();
    proc = undefined;
    return info;
  };

  // First start, retrying with new ports if another process grabbed one.
  let started = false;
  for (let attempt = 0; attempt < 4 && !started; attempt++) {
    if (ports) releasePort(ports.udp, ports.tls, ports.ws, ports.wss);
    ports = await allocatePorts();
    writeCfg();
    if (attempt === 0) await checkCfg();
    started = await launch();
  }
  if (!started) throw new Error(`kamailio harness: could not bind free ports after 4 attempts:\n${logText}`);

  const kam: Kamailio = {
    host: LOOPBACK,
    ports,
    realm,
    dir,
    cfgPath,
    certPath,
    keyPath,
    clientCa,
    ctlSocket,
    uri(user?: string, transport: Transport = "udp") {
      const port = transport === "udp" ? ports.udp : ports[transport];
      const tp = transport === "udp" ? "" : `;transport=${transport}`;
      return `sip:${user ? `${user}@` : ""}${LOOPBACK}:${port}${tp}`;
    },
    uri6(user?: string, transport: Transport = "udp") {
      if (!opts.ipv6) throw new Error("kamailio harness: uri6() needs startKamailio({ ipv6: true })");
      const port = transport === "udp" ? ports.udp : ports[transport];
      const tp = transport === "udp" ? "" : `;transport=${transport}`;
      return `sip:${user ? `${user}@` : ""}[${LOOPBACK6}]:${port}${tp}`;
    },
    ipv6: opts.ipv6 ?? false,
    wsUrl(secure = false) {
      return secure ? `wss://${LOOPBACK}:${ports.wss}` : `ws://${LOOPBACK}:${ports.ws}`;
    },
    async ulDump() {
      return bindingsFromUlDump(await kamcmd("ul.dump"));
    },
    registerCount(user?: string) {
      return seenRequests.filter((r) => r.method === "REGISTER" && (user === undefined || r.toUser === user)).length;
    },
    requests(method?: string) {
      return seenRequests.filter((r) => method === undefined || r.method === method);
    },
    replies() {
      return [...seenReplies];
    },
    async setUser(user: string, password: string) {
      if (!USER_RE.test(user)) throw new Error(`kamailio harness: unsupported user name ${JSON.stringify(user)}`);
      users[user] = password;
      writeCfg(); // so restart() keeps the user
      await kamcmd("htable.sets", "users", user, password);
    },
    async addBinding(user: string, contact: string, expires = 3600) {
      if (!/^sips?:[^@]*@?127\.0\.0\.1(:\d+)?([;?].*)?$/.test(contact)) {
        throw new Error(`kamailio harness: binding contact must point at 127.0.0.1, got ${contact}`);
      }
      // ul.add table aor contact expires q path flags cflags methods
      await kamcmd("ul.add", "location", user, contact, String(expires), "1.0", ".", "0", "0", "4294967295");
    },
    async removeBindings(user: string) {
      await kamcmd("ul.rm", "location", user).catch((e: Error) => {
        if (!/not found|404/i.test(e.message)) throw e;
      });
    },
    kamcmd,
    log() {
      return logText + (proc ? proc.output() : "");
    },
    get running() {
      return proc?.running ?? false;
    },
    async stop(graceMs = 3000) {
      await stopProc(graceMs);
    },
    async restart() {
      await stopProc();
      generation++;
      // The same ports must be free again; TCP/TLS listeners use SO_REUSEADDR.
      let ok = false;
      for (let i = 0; i < 20 && !ok; i++) {
        ok = await launch();
        if (!ok) await sleep(250);
      }
      if (!ok) throw new Error(`kamailio harness: restart could not re-bind ports ${JSON.stringify(ports)}`);
    },
    async kill() {
      await stopProc(0, "kill");
    },
  };
  return kam;
}
