// The call status of sip-call, mapped in nodes/shared/status.ts: state, party, marks, more calls.
import assert from "assert";
import type { CallInfo } from "../../../src";
import { callStatus } from "../../../nodes/shared/status";

function call(over: Partial<CallInfo>): CallInfo {
  return {
    id: "c1",
    direction: "inbound",
    state: "RINGING",
    from: { number: "0612345678", uri: "sip:0612345678@pbx" },
    to: { number: "alice", uri: "sip:alice@pbx" },
    ...over,
  } as CallInfo;
}

describe("sip-call status (callStatus)", () => {
  const none = () => false;
  it("shows the newest call's state and caller, and how many more calls there are", () => {
    assert.deepStrictEqual(callStatus([call({})], none), { fill: "yellow", shape: "dot", text: "RINGING 0612345678" });
    const two = [call({ id: "a", state: "ANSWERED" }), call({ id: "b", from: { number: "17", name: "Gate", uri: "sip:17@pbx" } })];
    assert.strictEqual(callStatus(two, none).text, "RINGING Gate (+1)");
    assert.strictEqual(callStatus([call({ direction: "outbound", state: "ANSWERED" })], none).fill, "green");
    assert.strictEqual(callStatus([call({ direction: "outbound", state: "DIALING" })], none).text, "DIALING alice");
  });
  it("marks a call on hold, with early media, or being recorded", () => {
    assert.strictEqual(callStatus([call({ earlyMedia: true })], none).text, "RINGING (early media) 0612345678");
    assert.strictEqual(
      callStatus([call({ state: "ANSWERED", earlyMedia: true })], none).text,
      "ANSWERED 0612345678",
      "early media is over once answered",
    );
    const rec = (id: string) => id === "c1";
    assert.strictEqual(callStatus([call({ state: "ANSWERED", hold: "local" })], rec).text, "ANSWERED (hold, rec) 0612345678");
  });
});
