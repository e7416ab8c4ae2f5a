// Transfers: which Refer-To we follow (checkReferTo), and our own REFER's progress (OutgoingTransfer)
// with a stand-in session, a manual clock and hand-made NOTIFYs.
import assert from "assert";
import { EventEmitter } from "events";
import { SessionState, UserAgent } from "sip.js";
import {
  checkReferTo,
  isReferRefusal,
  MAX_REFERS_PER_CALL,
  MAX_TRANSFER_NOTIFIES,
  OutgoingTransfer,
  TRANSFER_TIMEOUT_MS,
  type TransferEvent,
} from "../../../src/call/transfer";
import type { Call } from "../../../src/call/call";
import { CallManager } from "../../../src/call/call-manager";
import { ManualClock } from "../../support/manual-clock";

const LOCAL = ["pbx.example.com"];

describe("call/transfer: checkReferTo (incoming REFER)", () => {
  const check = (raw: unknown, list: string[] = ["20?", "+4930*"]) => checkReferTo(raw, list, LOCAL);

  it("follows a number on the allow-list at the account's host, without parameters", () => {
    assert.deepStrictEqual(check("<sip:201@pbx.example.com;transport=udp>;foo=bar"), {
      uri: "sip:201@pbx.example.com",
      number: "201",
      host: "pbx.example.com",
    });
    assert.deepStrictEqual(check("sip:+493012345@PBX.example.com:5070"), {
      uri: "sip:+493012345@pbx.example.com:5070",
      number: "+493012345",
      host: "pbx.example.com",
    });
    assert.deepStrictEqual(check('"Desk" <sips:205@pbx.example.com;method=INVITE>'), {
      uri: "sips:205@pbx.example.com",
      number: "205",
      host: "pbx.example.com",
    });
  });

  it("refuses a number at a foreign host (a number pattern is never a licence to call elsewhere)", () => {
    const r = check("<sip:201@evil.example.net>");
    assert.ok(isReferRefusal(r) && r.statusCode === 403, JSON.stringify(r));
  });

  it("a pattern with @ matches user@host, wildcards included", () => {
    assert.ok(!isReferRefusal(checkReferTo("<sip:anna@desk.example.org>", ["*@desk.example.org"], LOCAL)));
    assert.ok(isReferRefusal(checkReferTo("<sip:anna@evil.example.org>", ["*@desk.example.org"], LOCAL)));
  });

  it("refuses targets not on the list, and everything with an empty list", () => {
    const r = check("<sip:301@pbx.example.com>");
    assert.deepStrictEqual(r, { statusCode: 403, reason: "transfer target not allowed" });
    assert.ok(isReferRefusal(checkReferTo("<sip:201@pbx.example.com>", [], LOCAL)));
    assert.ok(isReferRefusal(check("<sip:pbx.example.com>")), "no user part: no number to match");
  });

  it("refuses embedded headers (Replaces...), other methods and schemes, and garbage", () => {
    const refused = (raw: unknown, code: number) => {
      const r = check(raw, ["*"]);
      assert.ok(isReferRefusal(r), `${JSON.stringify(raw)} refused`);
      assert.strictEqual(r.statusCode, code, `${JSON.stringify(raw)}: ${r.reason}`);
    };
    refused("<sip:201@pbx.example.com?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>", 403);
    refused("<sip:201@pbx.example.com?Require=replaces>", 403);
    refused("<sip:201@pbx.example.com;method=BYE>", 403);
    refused("<tel:+4930123>", 403);
    refused("<http://evil.example/>", 403);
    refused("<201>", 403);
    refused("", 400);
    refused(undefined, 400);
    refused(["<sip:201@pbx.example.com>"], 400);
    refused("<sip:201@pbx.example.com", 400);
    refused(`<sip:${"2".repeat(600)}@pbx.example.com>`, 400);
    refused("<sip:201@pbx.example.com>\r\nX: y", 400);
    refused("<sip:@@@>", 400);
  });
});

/** The parts of a Call an OutgoingTransfer uses: session.refer, state events, snapshot, hangup. */
function fakeCall(referImpl?: (opts: any) => Promise<unknown>) {
  const call = new EventEmitter() as EventEmitter & Record<string, any>;
  call.hangups = [] as unknown[];
  call.refers = [] as any[];
  call.snapshot = () => ({ id: "c1", state: "ANSWERED" });
  call.hangup = (end: unknown) => {
    call.hangups.push(end);
    return Promise.resolve();
  };
  call.session = {
    refer: (uri: unknown, opts: any) => {
      call.refers.push({ uri, opts });
      return referImpl ? referImpl(opts) : Promise.resolve({});
    },
  };
  return call;
}

function notify(body: string | undefined, headers: Record<string, string> = {}) {
  const h: Record<string, string> = {
    event: "refer",
    "subscription-state": "active;expires=60",
    "content-type": "message/sipfrag;version=2.0",
    ...headers,
  };
  const n = {
    accepted: 0,
    request: { body, getHeader: (name: string) => h[name.toLowerCase()] },
    accept: () => {
      n.accepted++;
      return Promise.resolve();
    },
  };
  return n;
}

describe("call/transfer: OutgoingTransfer (our REFER)", () => {
  const target = UserAgent.makeURI("sip:carol@pbx.example.com")!;
  function start(referImpl?: (opts: any) => Promise<unknown>, timeoutMs?: number) {
    const clock = new ManualClock();
    const call = fakeCall(referImpl);
    const events: TransferEvent[] = [];
    const t = new OutgoingTransfer(call as unknown as Call, target, (e) => events.push(e), { clock, timeoutMs });
    t.start();
    const { onNotify, requestDelegate } = call.refers[0].opts;
    return { clock, call, events, t, onNotify, requestDelegate, states: () => events.map((e) => e.state) };
  }

  it("REFER accepted, NOTIFY 100, 180, 200: succeeded, and the call is ended (transferred)", async () => {
    const x = start();
    x.requestDelegate.onAccept({ message: { statusCode: 202 } });
    const n = [
      notify("SIP/2.0 100 Trying"),
      notify("SIP/2.0 180 Ringing"),
      notify("SIP/2.0 180 Ringing"),
      notify("SIP/2.0 200 OK", { "subscription-state": "terminated;reason=noresource" }),
    ];
    for (const one of n) x.onNotify(one);
    assert.deepStrictEqual(x.states(), ["requested", "accepted", "trying", "ringing", "succeeded"]);
    assert.deepStrictEqual(x.events.at(-1), {
      direction: "outbound",
      state: "succeeded",
      target: "sip:carol@pbx.example.com",
      status: 200,
      reason: "OK",
    });
    assert.ok(
      n.every((one) => one.accepted === 1),
      "every NOTIFY is answered",
    );
    assert.deepStrictEqual(x.call.hangups, [{ reason: "transferred" }]);
    assert.strictEqual((await x.t.outcome).state, "succeeded");
  });

  it("a refused REFER (4xx): failed with its status, the call stays", async () => {
    const x = start();
    x.requestDelegate.onReject({ message: { statusCode: 405, reasonPhrase: "Method Not Allowed", callId: "a" } });
    assert.deepStrictEqual(x.events.at(-1), {
      direction: "outbound",
      state: "failed",
      target: "sip:carol@pbx.example.com",
      status: 405,
      reason: "Method Not Allowed",
    });
    assert.deepStrictEqual(x.call.hangups, []);
    assert.strictEqual((await x.t.outcome).state, "failed");
  });

  it("a failing sipfrag (486): failed; later NOTIFYs are answered but not reported", () => {
    const x = start();
    x.onNotify(notify("SIP/2.0 486 Busy Here", { "subscription-state": "terminated" }));
    const late = notify("SIP/2.0 200 OK");
    x.onNotify(late);
    assert.deepStrictEqual(x.states(), ["requested", "failed"]);
    assert.strictEqual(x.events.at(-1)!.status, 486);
    assert.strictEqual(late.accepted, 1);
    assert.deepStrictEqual(x.call.hangups, []);
  });

  it("no final outcome within the timeout: failed, the call stays (TRANSFER_TIMEOUT_MS by default)", () => {
    const x = start();
    x.onNotify(notify("SIP/2.0 100 Trying"));
    x.clock.advance(TRANSFER_TIMEOUT_MS - 1);
    assert.strictEqual(x.states().at(-1), "trying");
    x.clock.advance(1);
    assert.deepStrictEqual(x.events.at(-1), {
      direction: "outbound",
      state: "failed",
      target: "sip:carol@pbx.example.com",
      reason: "no outcome within 120 s",
    });
    assert.deepStrictEqual(x.call.hangups, []);
    const y = start(undefined, 5000);
    y.clock.advance(5000);
    assert.strictEqual(y.states().at(-1), "failed");
  });

  it("the subscription ends without an outcome, or the call ends: failed", () => {
    const x = start();
    x.onNotify(notify("SIP/2.0 100 Trying", { "subscription-state": "terminated;reason=timeout" }));
    assert.deepStrictEqual(x.events.at(-1)?.reason, "the transferee ended the report without an outcome (timeout)");
    const y = start();
    y.call.emit("state", "ENDED");
    assert.deepStrictEqual(y.events.at(-1)?.reason, "the call ended before the outcome was known");
    assert.strictEqual(y.clock.timers.size, 0, "the timer is cleared");
  });

  it("ignores NOTIFYs of other events and bodies that are no sipfrag; reports at most MAX_TRANSFER_NOTIFIES", () => {
    const x = start();
    x.onNotify(notify("SIP/2.0 200 OK", { event: "dialog" }));
    x.onNotify(notify("SIP/2.0 200 OK", { "content-type": "text/plain" }));
    x.onNotify(notify("garbage"));
    assert.deepStrictEqual(x.states(), ["requested"]);
    for (let i = 0; i < MAX_TRANSFER_NOTIFIES; i++) x.onNotify(notify(i % 2 ? "SIP/2.0 100 Trying" : "SIP/2.0 180 Ringing"));
    const reported = x.events.length;
    x.onNotify(notify("SIP/2.0 200 OK"));
    assert.strictEqual(x.events.length, reported, "over the bound: answered, not reported");
    assert.deepStrictEqual(x.call.hangups, []);
  });

  it("a REFER that cannot be sent (sip.js rejects or throws): failed", async () => {
    const x = start(() => Promise.reject(new Error("Invalid session state Terminated")));
    assert.strictEqual((await x.t.outcome).reason, "Invalid session state Terminated");
    const clock = new ManualClock();
    const call = fakeCall();
    call.session.refer = () => {
      throw new Error("boom");
    };
    const t = new OutgoingTransfer(call as unknown as Call, target, () => undefined, { clock });
    t.start();
    assert.strictEqual((await t.outcome).state, "failed");
  });
});

describe("call/transfer: the call manager and incoming REFERs", () => {
  /** An inbound call on a manager whose inbound policy is `policy`; `refer(raw)` sends it a REFER. */
  function callWithPolicy(policy: Record<string, unknown>, limits: { maxCalls?: number } = {}) {
    const cm = new CallManager({
      userAgent: { transport: undefined, configuration: { uri: { host: "127.0.0.1" } } } as never,
      domain: "127.0.0.1:5060",
      codecs: ["PCMA"],
      speech: { synthesize: () => Promise.reject(new Error("no speech")), loadAudio: () => Promise.reject(new Error("no audio")) },
    });
    cm.claimInboundPolicy("node", { autoAnswer: false, ...policy }, limits);
    const events: TransferEvent[] = [];
    const logs: string[] = [];
    cm.on("transfer", (e) => events.push(e));
    cm.on("log", (_level, text) => logs.push(text));
    const inv = {
      request: { body: undefined, getHeader: () => undefined, getHeaders: () => [] },
      remoteIdentity: { uri: { user: "bob", toString: () => "sip:bob@127.0.0.1" }, displayName: "" },
      localIdentity: { uri: { user: "alice", toString: () => "sip:alice@127.0.0.1" }, displayName: "" },
      state: SessionState.Initial,
      delegate: undefined as any,
      stateChange: { addListener: () => undefined },
      progress: () => Promise.resolve(),
      reject: () => Promise.resolve(),
      dispose: () => Promise.resolve(),
      refer: () => new Promise(() => undefined),
    };
    cm.onInvite(inv as never);
    const answers: number[] = [];
    const refer = (raw: string) =>
      inv.delegate.onRefer({
        request: { getHeader: () => raw, getHeaders: () => [raw] },
        reject: (o: { statusCode: number }) => {
          answers.push(o.statusCode);
          return Promise.resolve();
        },
        accept: (o: { statusCode: number }) => {
          answers.push(o.statusCode);
          return Promise.resolve();
        },
      });
    return { cm, events, logs, answers, refer };
  }

  it("transfers not allowed (the default): 603, reported as refused, logged", () => {
    const x = callWithPolicy({});
    x.refer("<sip:201@127.0.0.1>");
    assert.deepStrictEqual(x.answers, [603]);
    assert.deepStrictEqual(x.events, [
      { direction: "inbound", target: "<sip:201@127.0.0.1>", state: "refused", status: 603, reason: "transfers are not allowed" },
    ]);
    assert.match(x.logs[0], /refused a call transfer \(REFER to "<sip:201@127\.0\.0\.1>"\) .*\(603\): transfers are not allowed/);
  });

  it("at most MAX_REFERS_PER_CALL REFERs per call are considered; later ones are refused even to an allowed target", () => {
    const x = callWithPolicy({ allowTransfer: true, transferAllowList: ["201"] });
    for (let i = 0; i < MAX_REFERS_PER_CALL; i++) x.refer("<sip:999@127.0.0.1>");
    x.refer("<sip:201@127.0.0.1>");
    x.refer("<sip:201@127.0.0.1>");
    assert.deepStrictEqual(x.answers, Array(MAX_REFERS_PER_CALL + 2).fill(403), "no REFER accepted (202)");
    assert.deepStrictEqual(
      x.events.map((e) => e.reason),
      [...Array(MAX_REFERS_PER_CALL).fill("transfer target not allowed"), "too many transfer requests in this call"],
      "one report past the bound, then silence",
    );
  });

  it("embedded headers and other schemes are refused even with a catch-all list", () => {
    const x = callWithPolicy({ allowTransfer: true, transferAllowList: ["*", "*@*"] });
    x.refer("<sip:201@127.0.0.1?Replaces=abc%3Bto-tag%3D1>");
    x.refer("<tel:201>");
    assert.deepStrictEqual(x.answers, [403, 403]);
    assert.deepStrictEqual(
      x.events.map((e) => e.state),
      ["refused", "refused"],
    );
  });

  it("an allowed REFER is followed through dial(): its limits apply (maxCalls reached: 202, then failed 503)", () => {
    const x = callWithPolicy({ allowTransfer: true, transferAllowList: ["201"] }, { maxCalls: 1 });
    x.refer("<sip:201@127.0.0.1:5060;transport=udp>");
    assert.deepStrictEqual(x.answers, [202]);
    assert.deepStrictEqual(
      x.events.map((e) => [e.state, e.status, e.reason, e.target]),
      [
        ["accepted", 202, undefined, "sip:201@127.0.0.1:5060"],
        ["failed", 503, "maximum number of calls reached", "sip:201@127.0.0.1:5060"],
      ],
    );
    assert.strictEqual(x.cm.list().length, 1, "no second call");
  });

  it("our transfer: only of an answered call, one at a time per call", () => {
    const x = callWithPolicy({});
    const call = x.cm.list()[0];
    assert.throws(() => x.cm.transfer(call, "201"), /^Error: transfer: the call is RINGING, not ANSWERED$/);
    call.setState("ANSWERED");
    assert.throws(() => x.cm.transfer(call, " "), /no target/);
    const t = x.cm.transfer(call, "201");
    assert.strictEqual(t.target, "sip:201@127.0.0.1:5060");
    assert.throws(() => x.cm.transfer(call, "202"), /a transfer of this call is in progress/);
    assert.deepStrictEqual(
      x.events.map((e) => [e.direction, e.state]),
      [["outbound", "requested"]],
    );
    call.emit("state", "ENDED", call.snapshot());
  });
});
