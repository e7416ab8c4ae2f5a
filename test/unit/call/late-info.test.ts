// acceptLateDtmfInfo: which late DTMF INFOs get through sip.js's dialog CSeq rule, on a stand-in
// dialog that applies the rule as sip.js does (500 when CSeq is not above the highest seen).
import assert from "assert";
import { acceptLateDtmfInfo, LATE_INFO_WINDOW } from "../../../src/call/call-dtmf";

class FakeDialog {
  dialogState: { remoteSequenceNumber?: number } = { remoteSequenceNumber: 1 };
  handled: number[] = [];
  refused: number[] = [];
  receiveRequest(m: { method: string; cseq: number }): void {
    const highest = this.dialogState.remoteSequenceNumber;
    if (highest !== undefined && m.cseq <= highest) {
      this.refused.push(m.cseq);
      return;
    }
    this.dialogState.remoteSequenceNumber = m.cseq;
    this.handled.push(m.cseq);
  }
}

const info = (cseq: number, type = "application/dtmf-relay") => ({
  method: "INFO",
  cseq,
  getHeader: (n: string) => (n === "content-type" ? type : undefined),
});

describe("acceptLateDtmfInfo", () => {
  it("lets a late DTMF INFO through once and keeps the highest CSeq", () => {
    const d = new FakeDialog();
    assert.ok(acceptLateDtmfInfo(d));
    d.receiveRequest(info(6));
    d.receiveRequest(info(5));
    d.receiveRequest(info(5)); // the same late INFO again (after its transaction ended)
    assert.deepStrictEqual(d.handled, [6, 5]);
    assert.deepStrictEqual(d.refused, [5]);
    assert.strictEqual(d.dialogState.remoteSequenceNumber, 6);
    d.receiveRequest(info(7, "application/dtmf"));
    assert.deepStrictEqual(d.handled, [6, 5, 7]);
  });

  it("leaves other requests, other INFO bodies and INFOs older than the window to sip.js's rule", () => {
    const d = new FakeDialog();
    acceptLateDtmfInfo(d);
    d.receiveRequest(info(100));
    d.receiveRequest({ ...info(99), method: "BYE" });
    d.receiveRequest(info(98, "application/media_control+xml"));
    d.receiveRequest(info(100 - LATE_INFO_WINDOW));
    d.receiveRequest(info(100)); // a repeat of the newest is not late
    assert.deepStrictEqual(d.handled, [100]);
    assert.deepStrictEqual(d.refused, [99, 98, 100 - LATE_INFO_WINDOW, 100]);
    assert.strictEqual(d.dialogState.remoteSequenceNumber, 100);
  });

  it("changes nothing when the dialog does not look like sip.js's", () => {
    assert.strictEqual(acceptLateDtmfInfo(undefined), false);
    assert.strictEqual(
      acceptLateDtmfInfo({
        receiveRequest() {
          /* no state */
        },
      }),
      false,
    );
  });
});
