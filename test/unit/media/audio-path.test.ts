import assert from "node:assert/strict";
import { ManualClock } from "../../support/manual-clock";
import {
  AUDIO_PATH_CHECK_MS,
  AUDIO_PATH_MAX_EVENTS,
  AUDIO_PATH_WINDOW_MS,
  AudioPathWatcher,
  rtpAudioPathSample,
  type AudioPathEvent,
  type AudioPathSample,
} from "../../../src/media/audio-path";
import type { RtpRemote, RtpSession } from "../../../src/media/rtp-session";

class FakeClock extends ManualClock {}

/** A fake RTP session: 50 packets/s each way unless a direction is cut. */
function setup(opts: { sending?: boolean; receiving?: boolean } = {}) {
  const clock = new FakeClock();
  const media = { sending: opts.sending ?? true, receiving: opts.receiving ?? true, held: false, gone: false };
  const counters = { sent: 0, received: 0, at: 0 };
  const events: AudioPathEvent[] = [];
  const sample = (): AudioPathSample | null => {
    if (media.gone) return null;
    const frames = Math.floor((clock.now() - counters.at) / 20);
    counters.at += frames * 20;
    if (media.sending) counters.sent += frames;
    if (media.receiving) counters.received += frames;
    return { sent: counters.sent, received: counters.received, held: media.held, remote: { address: "127.0.0.1", port: 40000 } };
  };
  const watcher = new AudioPathWatcher(sample, (e) => events.push(e), { clock });
  return { clock, media, events, watcher, states: () => events.map((e) => e.state + (e.direction ? ":" + e.direction : "")) };
}

describe("media/audio-path: AudioPathWatcher", () => {
  it("both ways: one 'flowing' as soon as packets went both ways, then nothing more while it stays so", () => {
    const t = setup();
    t.watcher.start();
    t.clock.advance(AUDIO_PATH_CHECK_MS);
    assert.deepEqual(t.states(), ["flowing"], "reported before a whole window");
    t.clock.advance(20_000);
    assert.deepEqual(t.states(), ["flowing"], "on change only, not every window");
    assert.deepEqual(t.events[0].remote, { address: "127.0.0.1", port: 40000 });
    t.watcher.stop();
  });

  it("we send, nothing arrives: 'one-way' send-only after one window, not before", () => {
    const t = setup({ receiving: false });
    t.watcher.start();
    t.clock.advance(AUDIO_PATH_WINDOW_MS - AUDIO_PATH_CHECK_MS);
    assert.deepEqual(t.states(), [], "a slow start is not a fault");
    t.clock.advance(AUDIO_PATH_CHECK_MS);
    assert.deepEqual(t.states(), ["one-way:send-only"]);
    assert.equal(t.events[0].received, 0);
    assert.ok(t.events[0].sent >= AUDIO_PATH_WINDOW_MS / 20 - 1, `sent ${t.events[0].sent} in the window`);
    t.watcher.stop();
  });

  it("the reverse is 'one-way' receive-only; nothing either way is 'no-rtp'", () => {
    const r = setup({ sending: false });
    r.watcher.start();
    r.clock.advance(AUDIO_PATH_WINDOW_MS);
    assert.deepEqual(r.states(), ["one-way:receive-only"]);
    r.watcher.stop();
    const n = setup({ sending: false, receiving: false });
    n.watcher.start();
    n.clock.advance(AUDIO_PATH_WINDOW_MS);
    assert.deepEqual(n.states(), ["no-rtp"]);
    n.watcher.stop();
  });

  it("flowing, then the peer's RTP stops: 'one-way' within a window; it comes back: 'flowing'", () => {
    const t = setup();
    t.watcher.start();
    t.clock.advance(3000);
    t.media.receiving = false;
    t.clock.advance(AUDIO_PATH_WINDOW_MS + AUDIO_PATH_CHECK_MS);
    assert.deepEqual(t.states(), ["flowing", "one-way:send-only"]);
    t.media.receiving = true;
    t.clock.advance(AUDIO_PATH_CHECK_MS * 2);
    assert.deepEqual(t.states(), ["flowing", "one-way:send-only", "flowing"]);
    t.watcher.stop();
  });

  it("held: one-way media is not reported, and the window starts afresh on resume", () => {
    const t = setup();
    t.watcher.start();
    t.clock.advance(1000);
    t.media.held = true;
    t.media.receiving = false; // the peer holds us: it stops sending, as it may
    t.clock.advance(10_000);
    assert.deepEqual(t.states(), ["flowing"], "nothing while held");
    t.media.held = false;
    t.media.receiving = true;
    t.clock.advance(5000);
    assert.deepEqual(t.states(), ["flowing"], "resumed and flowing again: no change to report");
    t.media.held = true;
    t.media.receiving = false;
    t.clock.advance(3000);
    t.media.held = false; // resumed, but the peer's audio does not come back
    t.clock.advance(AUDIO_PATH_WINDOW_MS - AUDIO_PATH_CHECK_MS);
    assert.deepEqual(t.states(), ["flowing"], "a whole window after the resume first");
    t.clock.advance(AUDIO_PATH_CHECK_MS * 2);
    assert.deepEqual(t.states(), ["flowing", "one-way:send-only"]);
    t.watcher.stop();
  });

  it(`a flapping path gives at most AUDIO_PATH_MAX_EVENTS (${AUDIO_PATH_MAX_EVENTS}) events, then the watcher stops`, () => {
    const t = setup();
    t.watcher.start();
    for (let i = 0; i < 40; i++) {
      t.media.receiving = !t.media.receiving;
      t.clock.advance(AUDIO_PATH_WINDOW_MS + AUDIO_PATH_CHECK_MS);
    }
    assert.equal(t.events.length, AUDIO_PATH_MAX_EVENTS);
    assert.equal(t.clock.timers.size, 0, "no timer left");
  });

  it("stops by itself when the media is gone, and stop() leaves no timer", () => {
    const t = setup();
    t.watcher.start();
    t.clock.advance(1000);
    t.media.gone = true;
    t.clock.advance(1000);
    assert.equal(t.clock.timers.size, 0);
    const u = setup();
    u.watcher.start();
    u.watcher.stop();
    assert.equal(u.clock.timers.size, 0);
    u.clock.advance(10_000);
    assert.deepEqual(u.states(), []);
  });

  it("a throwing listener or sampler does not escape", () => {
    const clock = new FakeClock();
    const w = new AudioPathWatcher(
      () => ({ sent: clock.now(), received: clock.now(), held: false, remote: null }),
      () => {
        throw new Error("listener");
      },
      { clock },
    );
    w.start();
    clock.advance(1000);
    w.stop();
    const x = new AudioPathWatcher(
      () => {
        throw new Error("sampler");
      },
      () => undefined,
      { clock },
    );
    assert.doesNotThrow(() => x.start());
    x.stop();
  });
});

describe("media/audio-path: rtpAudioPathSample", () => {
  const stats = (): Pick<ReturnType<RtpSession["stats"]>, "packetsSent" | "packetsReceived"> => ({ packetsSent: 7, packetsReceived: 3 });
  const rtp = (
    remote: Partial<RtpRemote> | null,
    latched: { address: string; port: number } | null = null,
  ): Parameters<typeof rtpAudioPathSample>[0] => ({
    remote: remote ? { address: "127.0.0.1", port: 4000, codec: "PCMU", payloadType: 0, direction: "sendrecv", ...remote } : null,
    latched,
    stats,
  });

  it("sendrecv is judged; sendonly, recvonly, inactive, port 0, c=0.0.0.0 and no remote are held", () => {
    assert.deepEqual(rtpAudioPathSample(rtp({})), { sent: 7, received: 3, held: false, remote: { address: "127.0.0.1", port: 4000 } });
    for (const r of [{ direction: "sendonly" }, { direction: "recvonly" }, { direction: "inactive" }, { port: 0 }, { address: "0.0.0.0" }] as const) {
      assert.equal(rtpAudioPathSample(rtp(r)).held, true, JSON.stringify(r));
    }
    assert.equal(rtpAudioPathSample(rtp(null)).held, true);
  });

  it("the remote is the latched source when there is one", () => {
    assert.deepEqual(rtpAudioPathSample(rtp({}, { address: "127.0.0.7", port: 5000 })).remote, { address: "127.0.0.7", port: 5000 });
  });
});
