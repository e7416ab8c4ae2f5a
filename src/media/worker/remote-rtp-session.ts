// The main thread's side of one call's media in the worker: the RtpStream surface the call, DTMF,
// recording and audio-path code use, served from state kept here (what we told the worker) and
// mirrored from its reports (counters, statistics, latching), plus the look-ahead bookkeeping of
// the pump (media-host.ts): frames pulled from the call, frames the worker has played, and the
// callbacks that wait for "played" (a clip's end, a DTMF sequence sent).

import { EventEmitter } from "events";
import type { CallStats, DtmfDigit } from "../../types";
import {
  checkedRemote,
  remoteMoved,
  wireAddressFor,
  type FrameSink,
  type FrameSource,
  type OutgoingFrame,
  type RtpEndpoint,
  type RtpRemote,
  type RtpSessionStats,
} from "../rtp-session";
import type { RtcpPeer } from "../rtcp-session";
import type { OpenedSession, SrtpKeys, StatsSnapshot, ToMediaWorker, WorkerEvent } from "./protocol";
import type { RtcpView, RtpMedia, RtpStream, RtpStreamEvents } from "./media-stream";

/** Most "when played" callbacks waiting per session (a clip end, a DTMF sequence); beyond, they run at once. */
export const MEDIA_MAX_PLAYED_WAITERS = 256;

/** What a remote session needs of its host. */
export interface MediaChannel {
  post(msg: ToMediaWorker): void;
  /** Pull from this session's source from now on (or no more). */
  pumpAdd(session: RemoteRtpSession): void;
  pumpRemove(session: RemoteRtpSession): void;
  wake(): void;
  /** Resolves once a report with this session's current statistics has arrived (bounded wait). */
  snapshot(id: number): Promise<void>;
  /** The worker closed the session (its final report arrived). */
  forget(session: RemoteRtpSession): void;
}

export class RemoteRtpSession extends EventEmitter<RtpStreamEvents> implements RtpStream, RtpMedia {
  readonly rtp: RtpStream = this;
  readonly rtcp: RtcpView;
  readonly ssrc: number;
  readonly localPort: number;
  readonly localAddress: string;
  readonly socketType: "udp4" | "udp6";
  private remoteInfo: RtpRemote | null = null;
  private latch: RtpEndpoint | null = null;
  private confirmedDialog = false;
  private closed = false;
  private srtpOn = false;
  private mirror: StatsSnapshot;
  private inbandListeners: ((digit: DtmfDigit) => void)[] = [];
  private listening = { audio: false, inband: false };
  // ---- look-ahead (the pump) ----
  private source: FrameSource | null = null;
  /** Frames pulled and shipped (the index of the next one). */
  pushed = 0;
  /** Frames the worker played or flushed, as last reported. */
  private played = 0;
  /** A flush dropped everything pulled before this index. */
  private floor = 0;
  private inPull = false;
  private waiters: { target: number; fn: () => void }[] = [];
  private readonly sink: FrameSink = {
    wake: () => this.channel.wake(),
    flush: () => this.flush(),
    whenPlayed: (fn) => this.whenPlayed(fn),
  };

  constructor(
    private readonly channel: MediaChannel,
    readonly id: number,
    opened: OpenedSession,
    private readonly hosts: () => readonly string[],
  ) {
    super();
    this.ssrc = opened.ssrc;
    this.localPort = opened.port;
    this.localAddress = opened.address;
    this.socketType = opened.socketType;
    this.mirror = opened.snapshot;
    this.rtcp = {
      quality: () => ({ ...this.mirror.quality }),
      setPeer: (peer: RtcpPeer) => this.post({ t: "rtcpPeer", id: this.id, peer }),
      close: () => undefined, // the worker sends the BYE when the RTP session closes
    };
    // Decoded audio crosses threads only while someone here listens (recording, voicemail).
    (this as EventEmitter).on("newListener", (name: string) => {
      if (name === "audio") queueMicrotask(() => this.updateListening());
    });
    (this as EventEmitter).on("removeListener", (name: string) => {
      if (name === "audio") this.updateListening();
    });
  }

  get remote(): Readonly<RtpRemote> | null {
    return this.remoteInfo;
  }
  get latched(): RtpEndpoint | null {
    return this.latch;
  }
  get confirmed(): boolean {
    return this.confirmedDialog;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  get secure(): boolean {
    return this.srtpOn;
  }

  canReach(address: string): boolean {
    return wireAddressFor(this.socketType, this.localAddress, address) !== null;
  }

  setRemote(remote: RtpRemote): void {
    const next = checkedRemote(remote);
    // As RtpSession: a new media address is latched afresh.
    if (remoteMoved(this.remoteInfo, next)) this.latch = null;
    this.remoteInfo = next;
    this.post({ t: "remote", id: this.id, remote: { ...remote }, hosts: this.hostList() });
  }

  confirm(): void {
    this.confirmedDialog = true;
    this.post({ t: "confirm", id: this.id, hosts: this.hostList() });
  }

  allowEarlySend(): void {
    this.post({ t: "early", id: this.id });
  }

  setSrtp(keys: SrtpKeys | null): void {
    this.srtpOn = keys !== null;
    this.post({ t: "srtp", id: this.id, keys });
  }

  detectInband(onDigit: (digit: DtmfDigit) => void): void {
    this.inbandListeners.push(onDigit);
    this.updateListening();
  }

  setFrameSource(source: FrameSource | null): void {
    if (this.source === source) return;
    this.source?.setFrameSink?.(null);
    this.source = source;
    if (source && !this.closed) {
      source.setFrameSink?.(this.sink);
      this.channel.pumpAdd(this);
      this.channel.wake();
    } else this.channel.pumpRemove(this);
  }

  stats(): RtpSessionStats {
    return { ...this.mirror.stats };
  }

  callStats(): CallStats {
    return { ...this.mirror.callStats };
  }

  /** Brings the mirrored statistics up to date (a call ending reads them for ENDED). */
  freshStats(): Promise<void> {
    return this.channel.snapshot(this.id);
  }

  close(): void {
    if (this.closed) return;
    this.post({ t: "close", id: this.id });
    this.end();
    this.emit("close");
  }

  // ---- the pump's side ----

  /** Pulls up to `max` frames from the source (stops at its first "nothing now"). */
  pull(max: number): OutgoingFrame[] {
    const out: OutgoingFrame[] = [];
    const source = this.source;
    if (!source || this.closed) return out;
    const room = Math.min(max, max - (this.pushed - Math.max(this.played, this.floor)));
    for (let i = 0; i < room; i++) {
      let frame: OutgoingFrame | null;
      this.inPull = true;
      try {
        frame = source.nextFrame();
      } catch (err) {
        this.fail(err);
        frame = null;
      } finally {
        this.inPull = false;
      }
      if (!frame) break;
      out.push(frame);
      this.pushed++;
    }
    return out;
  }

  /** A report from the worker: counters (played, packets) and this session's events. */
  onCounters(played: number, sent: number, received: number): void {
    this.played = Math.max(this.played, played);
    this.mirror.stats.packetsSent = sent;
    this.mirror.stats.packetsReceived = received;
    this.mirror.callStats.packetsSent = sent;
    this.mirror.callStats.packetsReceived = received;
    this.releaseWaiters(false);
  }

  onStats(snapshot: StatsSnapshot): void {
    this.mirror = snapshot;
    if (snapshot.latched && !this.latch) this.latch = snapshot.latched;
  }

  onEvent(e: WorkerEvent): void {
    switch (e.k) {
      case "event":
        this.safeEmit("event", Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength), e.info);
        break;
      case "audio":
        this.safeEmit("audio", e.pcm, e.info);
        break;
      case "digit":
        for (const l of this.inbandListeners) {
          try {
            l(e.digit as DtmfDigit);
          } catch (err) {
            this.fail(err);
          }
        }
        break;
      case "latched":
        this.latch = e.source;
        this.safeEmit("latched", { ...e.source });
        break;
      case "timeout":
        this.safeEmit("timeout");
        break;
      case "error":
        this.fail(new Error(e.message));
        break;
      case "closed":
        this.channel.forget(this); // the final statistics came with this report
        if (!this.closed) {
          this.end();
          this.safeEmit("close");
        }
        break;
    }
  }

  /** The worker died: the call's media is gone. */
  workerStopped(reason: string): void {
    if (this.closed) return;
    this.end();
    this.fail(new Error(reason));
    this.safeEmit("failed", reason);
    this.safeEmit("close");
  }

  private end(): void {
    this.closed = true;
    this.source?.setFrameSink?.(null);
    this.source = null;
    this.channel.pumpRemove(this);
    // Nothing more will play: whoever waits for "played" goes on.
    this.releaseWaiters(true);
  }

  private flush(): void {
    if (this.closed) return;
    this.floor = this.pushed;
    this.post({ t: "flush", id: this.id, upTo: this.pushed });
  }

  private whenPlayed(fn: () => void): void {
    const target = this.pushed + (this.inPull ? 1 : 0);
    if (this.closed || this.waiters.length >= MEDIA_MAX_PLAYED_WAITERS || this.played >= target) {
      setImmediate(fn);
      return;
    }
    this.waiters.push({ target, fn });
  }

  private releaseWaiters(all: boolean): void {
    if (this.waiters.length === 0) return;
    const due = all ? this.waiters : this.waiters.filter((w) => w.target <= this.played);
    if (due.length === 0) return;
    this.waiters = all ? [] : this.waiters.filter((w) => w.target > this.played);
    for (const w of due) {
      try {
        w.fn();
      } catch {
        // a waiter's failure must not stop the others (nor the report loop)
      }
    }
  }

  private updateListening(): void {
    const audio = !this.closed && this.listenerCount("audio") > 0;
    const inband = !this.closed && this.inbandListeners.length > 0;
    if (audio === this.listening.audio && inband === this.listening.inband) return;
    this.listening = { audio, inband };
    this.post({ t: "listen", id: this.id, audio, inband });
  }

  private hostList(): string[] {
    try {
      return [...this.hosts()];
    } catch {
      return [];
    }
  }

  private post(msg: ToMediaWorker): void {
    if (!this.closed) this.channel.post(msg);
  }

  private safeEmit<K extends keyof RtpStreamEvents>(name: K, ...args: RtpStreamEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: RtpStreamEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      if (name !== "error") this.fail(err);
    }
  }

  private fail(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount("error") > 0) this.safeEmit("error", error);
  }
}
