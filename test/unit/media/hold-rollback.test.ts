// Hold through the SDH's `hold` option: a refused hold/resume offer (non-2xx to our re-INVITE,
// sip.js calls rollbackDescription) must leave the hold state of the last completed exchange.
import assert from "node:assert/strict";
import type { Codec } from "../../../src/types.js";
import { parseSdp } from "../../../src/media/sdp.js";
import { RtpSessionDescriptionHandler } from "../../../src/media/session-description-handler.js";
import { manualPacer } from "./helpers.js";

describe("media/session-description-handler: hold rollback", () => {
  const handlers: RtpSessionDescriptionHandler[] = [];
  function sdh(codecs: Codec[]): RtpSessionDescriptionHandler {
    const h = new RtpSessionDescriptionHandler({
      codecs,
      portMin: 43000,
      portMax: 43999,
      bindAddress: "127.0.0.1",
      advertisedAddress: () => "127.0.0.1",
      pacer: manualPacer(),
    });
    h.confirm();
    handlers.push(h);
    return h;
  }
  afterEach(() => {
    for (const h of handlers.splice(0)) h.close();
  });
  const direction = (sdp: string) => parseSdp(sdp)?.media[0].direction ?? null;

  it("a refused hold offer leaves the call unheld; a refused resume leaves it held", async () => {
    const us = sdh(["PCMU"]);
    const peer = sdh(["PCMU"]);
    const offer = await us.getDescription();
    await peer.setDescription(offer.body);
    await us.setDescription((await peer.getDescription()).body);

    const held = await us.getDescription({ hold: true });
    assert.equal(direction(held.body), "sendonly");
    await us.rollbackDescription(); // the peer answered 488/491
    assert.equal(us.onHold, false, "a refused hold is no hold");
    // The peer's next re-INVITE (no hold option given) is answered sendrecv.
    await us.setDescription((await peer.getDescription()).body);
    assert.equal(direction((await us.getDescription()).body), "sendrecv");

    // Now hold for real, then a refused resume.
    await peer.setDescription((await us.getDescription({ hold: true })).body);
    await us.setDescription((await peer.getDescription()).body);
    assert.equal(us.onHold, true);
    await us.getDescription({ hold: false });
    await us.rollbackDescription();
    assert.equal(us.onHold, true, "a refused resume keeps the hold");
    await us.setDescription((await peer.getDescription()).body);
    assert.equal(direction((await us.getDescription()).body), "sendonly");
  });
});
