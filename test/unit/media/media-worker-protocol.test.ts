// The media worker's frame batches (protocol.ts) and the main side's played-up-to bookkeeping
// (remote-rtp-session.ts): pure code, no worker thread.
import assert from "node:assert/strict";
import { FRAME_SLOT_BYTES, frameAt, packFrames, packedSessions, type SessionFrames, type ToMediaWorker } from "../../../src/media/worker/protocol.js";
import { RemoteRtpSession, type MediaChannel } from "../../../src/media/worker/remote-rtp-session.js";
import type { FrameSink, OutgoingFrame } from "../../../src/media/rtp-session.js";
import { PlaybackQueue } from "../../../src/call/playback-queue.js";
import { RtpSession } from "../../../src/media/rtp-session.js";
import { serializeRtp } from "../../../src/media/rtp-packet.js";
import { RawPeer, manualPacer, waitFor } from "./helpers.js";

const pcm = (v: number, n = 160) => new Int16Array(n).fill(v);

/** A batch read back as the worker reads it (packedSessions, then frameAt per slot). */
function unpackFrames(buf: ArrayBuffer): SessionFrames[] {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(0);
  return packedSessions(buf).map(({ id, first, count, offset }) => {
    const frames: OutgoingFrame[] = [];
    for (let k = 0; k < count; k++) {
      const f = frameAt(bytes, offset + k * FRAME_SLOT_BYTES);
      if (f) frames.push(f);
    }
    return { id, first, frames };
  });
}

function fakeChannel() {
  const posted: ToMediaWorker[] = [];
  const channel: MediaChannel & { wakes: number; pumped: Set<RemoteRtpSession> } = {
    wakes: 0,
    pumped: new Set(),
    post: (m) => posted.push(m),
    pumpAdd: (s) => channel.pumped.add(s),
    pumpRemove: (s) => channel.pumped.delete(s),
    wake: () => channel.wakes++,
    forget: () => undefined,
    snapshot: async () => undefined,
  };
  return { channel, posted };
}

function remote(channel: MediaChannel): RemoteRtpSession {
  const stats = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    ignoredFromOtherSources: 0,
    ignoredSsrc: 0,
    ignoredPayloadType: 0,
    malformed: 0,
    skippedFrames: 0,
    eventsDropped: 0,
    sendErrors: 0,
    srtpFailed: 0,
  };
  const callStats = { packetsSent: 0, packetsReceived: 0, packetsLost: 0, jitterMs: 0, packetsIgnored: 0 };
  const snapshot = { id: 7, stats, callStats, quality: {} as never, latched: null };
  return new RemoteRtpSession(channel, 7, { port: 40000, address: "127.0.0.1", socketType: "udp4", ssrc: 1, snapshot }, () => ["127.0.0.1"]);
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("media worker protocol: frame batches", () => {
  it("packs every session's frames into one buffer and unpacks them as they were", () => {
    const batches: SessionFrames[] = [
      {
        id: 3,
        first: 10,
        frames: [
          { kind: "audio", pcm: pcm(1000), talkspurtStart: true },
          { kind: "audio", pcm: pcm(-5) },
        ],
      },
      { id: 0xffffffff, first: 0, frames: [{ kind: "event", payload: Buffer.from([1, 0x8a, 0x03, 0x20]), eventStart: true }] },
      { id: 9, first: 4, frames: [] },
    ];
    const buf = packFrames(batches);
    assert.equal(buf.byteLength, 4 + 12 * 3 + 3 * FRAME_SLOT_BYTES);
    const out = unpackFrames(buf);
    assert.equal(out.length, 3);
    assert.deepEqual(
      out.map((b) => [b.id, b.first, b.frames.length]),
      [
        [3, 10, 2],
        [0xffffffff, 0, 1],
        [9, 4, 0],
      ],
    );
    const [a, b] = out[0].frames as Extract<OutgoingFrame, { kind: "audio" }>[];
    assert.deepEqual([...a.pcm], [...pcm(1000)]);
    assert.equal(a.talkspurtStart, true);
    assert.deepEqual([...b.pcm], [...pcm(-5)]);
    assert.equal(b.talkspurtStart, false);
    assert.equal(a.pcm.buffer, buf, "a view into the transferred buffer, not a copy");
    const e = out[1].frames[0] as Extract<OutgoingFrame, { kind: "event" }>;
    assert.deepEqual([...e.payload], [1, 0x8a, 0x03, 0x20]);
    assert.equal(e.eventStart, true);
  });

  it("pads short PCM with silence and cuts long PCM to one frame", () => {
    const out = unpackFrames(
      packFrames([
        {
          id: 1,
          first: 0,
          frames: [
            { kind: "audio", pcm: pcm(7, 100) },
            { kind: "audio", pcm: pcm(9, 400) },
          ],
        },
      ]),
    );
    const [short, long] = out[0].frames as Extract<OutgoingFrame, { kind: "audio" }>[];
    assert.equal(short.pcm.length, 160);
    assert.deepEqual([...short.pcm.subarray(0, 100)], [...pcm(7, 100)]);
    assert.ok(short.pcm.subarray(100).every((x) => x === 0));
    assert.ok(long.pcm.length === 160 && long.pcm.every((x) => x === 9));
  });

  it("reads nothing it should not from a malformed buffer", () => {
    assert.deepEqual(unpackFrames(new ArrayBuffer(0)), []);
    assert.deepEqual(unpackFrames("x" as unknown as ArrayBuffer), []);
    const lying = new ArrayBuffer(8);
    new DataView(lying).setUint32(0, 1000, true); // claims 1000 sessions
    assert.deepEqual(unpackFrames(lying), []);
    const good = packFrames([{ id: 1, first: 0, frames: [{ kind: "audio", pcm: pcm(1) }] }]);
    const truncated = good.slice(0, good.byteLength - 10);
    assert.deepEqual(unpackFrames(truncated), [], "a session whose frames do not fit is dropped");
  });
});

describe("media worker: played-up-to bookkeeping (main side)", () => {
  it("pulls ahead up to the look-ahead, and refills as the worker reports frames played", () => {
    const { channel } = fakeChannel();
    const s = remote(channel);
    let n = 0;
    s.setFrameSource({ nextFrame: () => ({ kind: "audio", pcm: pcm(n++) }) });
    assert.ok(channel.pumped.has(s) && channel.wakes === 1, "joins the pump and wakes it");
    assert.equal(s.pull(15).length, 15);
    assert.equal(s.pull(15).length, 0, "nothing more until the worker played some");
    s.onCounters(4, 4, 0);
    assert.equal(s.pull(15).length, 4);
    assert.equal(s.pushed, 19);
  });

  it("stops at the source's first 'nothing now'", () => {
    const { channel } = fakeChannel();
    const s = remote(channel);
    const frames: (OutgoingFrame | null)[] = [{ kind: "audio", pcm: pcm(1) }, null, { kind: "audio", pcm: pcm(2) }];
    s.setFrameSource({ nextFrame: () => frames.shift() ?? null });
    assert.equal(s.pull(15).length, 1);
    assert.equal(s.pull(15).length, 1, "the next cycle takes what came since");
  });

  it("a clip's end and whenPlayed wait until the worker has played its last frame", async () => {
    const { channel } = fakeChannel();
    const s = remote(channel);
    const q = new PlaybackQueue();
    let sink: FrameSink | null = null;
    q.whenPlayed = (fn) => (sink ? sink.whenPlayed(fn) : setImmediate(fn));
    s.setFrameSource({ nextFrame: () => q.nextFrame(), setFrameSink: (k) => (sink = k) });
    assert.ok(sink, "the source got the sink");
    const finished: number[] = [];
    q.on("finished", (item) => finished.push(item.id));
    q.enqueue(pcm(100, 160 * 3), "three frames");
    assert.equal(s.pull(15).length, 3, "the whole clip is pulled ahead");
    await tick();
    assert.deepEqual(finished, [], "not finished: nothing was sent yet");
    assert.equal(q.playing, true, "still playing until heard");
    s.onCounters(2, 2, 0);
    await tick();
    assert.deepEqual(finished, [], "two of three frames sent");
    s.onCounters(3, 3, 0);
    await tick();
    assert.deepEqual(finished, [1], "finished once the last frame was sent");
    assert.equal(q.playing, false);
  });

  it("a flush tells the worker up to where to drop, and makes room at once", () => {
    const { channel, posted } = fakeChannel();
    const s = remote(channel);
    let sink: FrameSink | null = null;
    s.setFrameSource({ nextFrame: () => ({ kind: "audio", pcm: pcm(1) }), setFrameSink: (k) => (sink = k) });
    assert.equal(s.pull(15).length, 15);
    sink!.flush();
    assert.deepEqual(posted.at(-1), { t: "flush", id: 7, upTo: 15 });
    assert.equal(s.pull(15).length, 15, "the look-ahead refills after the flush without waiting for a report");
  });

  it("closing, or the worker stopping, releases every waiter; a stopped worker ends the stream with 'failed'", async () => {
    const { channel, posted } = fakeChannel();
    const a = remote(channel);
    let sinkA: FrameSink | null = null;
    a.setFrameSource({ nextFrame: () => ({ kind: "audio", pcm: pcm(1) }), setFrameSink: (k) => (sinkA = k) });
    a.pull(15);
    let released = 0;
    sinkA!.whenPlayed(() => released++);
    a.close();
    assert.equal(released, 1);
    assert.deepEqual(posted.at(-1), { t: "close", id: 7 });
    assert.equal(sinkA, null, "the source lost its sink");

    const b = remote(channel);
    let sinkB: FrameSink | null = null;
    b.setFrameSource({ nextFrame: () => ({ kind: "audio", pcm: pcm(1) }), setFrameSink: (k) => (sinkB = k) });
    b.pull(15);
    sinkB!.whenPlayed(() => released++);
    const seen: string[] = [];
    b.on("failed", (reason) => seen.push(`failed: ${reason}`));
    b.on("close", () => seen.push("close"));
    b.workerStopped("media worker stopped");
    assert.equal(released, 2);
    assert.deepEqual(seen, ["failed: media worker stopped", "close"]);
    assert.equal(b.isClosed, true);
    await tick();
  });
});

describe("RtpSession: packets before the answer's SDP (holdEarlyPackets, used by the media worker)", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });
  const rtpPacket = (seq: number) =>
    serializeRtp({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x5151 }, Buffer.alloc(160, 0xff));

  it("keeps up to N packets until setRemote and judges them by its address then; the rest are dropped as before", async () => {
    const s = await RtpSession.open({ portMin: 43000, portMax: 43999, bindAddress: "127.0.0.1", pacer: manualPacer(), holdEarlyPackets: 2 });
    cleanup.push(() => s.close());
    const peer = await RawPeer.open("127.0.0.1");
    cleanup.push(() => peer.close());
    const stranger = await RawPeer.open("127.0.0.2");
    cleanup.push(() => stranger.close());
    await peer.send(rtpPacket(1), s.localPort);
    await stranger.send(rtpPacket(2), s.localPort);
    await peer.send(rtpPacket(3), s.localPort); // over the bound: dropped at once
    await waitFor(() => s.stats().ignoredFromOtherSources === 1, 3000, "the third packet dropped");
    assert.equal(s.stats().packetsReceived, 0, "nothing read before the SDP");
    s.setRemote({ address: "127.0.0.1", port: peer.port, codec: "PCMU", payloadType: 0, telephoneEventPt: null, direction: "sendrecv" });
    assert.equal(s.stats().packetsReceived, 1, "the peer's early packet is taken once its SDP names it");
    assert.equal(s.stats().ignoredFromOtherSources, 2, "the stranger's is dropped, by the same rule as always");
  });
});
