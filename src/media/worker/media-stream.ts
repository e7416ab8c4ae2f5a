// What the main thread sees of a call's RTP and RTCP, wherever they run: the media worker's proxy
// (remote-rtp-session.ts, the only path at run time) or, for unit tests of the description handler,
// an RtpSession and RtcpSession in this thread (openInThreadMedia).

import type { EventEmitter } from "events";
import type { CallQualityInfo, CallStats, DtmfDigit } from "../../types";
import { RtpSession, type FrameSource, type RtpEndpoint, type RtpRemote, type RtpSessionEvents, type RtpSessionStats } from "../rtp-session";
import { RtcpSession, type RtcpPeer } from "../rtcp-session";
import { SrtpContext } from "../srtp";
import type { Pacer } from "../pacer";
import type { SrtpKeys, WorkerOpenOptions } from "./protocol";

export type { SrtpKeys };

export type RtpStreamEvents = RtpSessionEvents & {
  /** The media of the call is gone for good (the media worker stopped): why. */
  failed: [reason: string];
};

/** One call's RTP as the call, DTMF, recording and audio-path code use it. */
export interface RtpStream extends EventEmitter<RtpStreamEvents> {
  readonly ssrc: number;
  readonly localPort: number;
  readonly localAddress: string;
  readonly socketType: "udp4" | "udp6";
  readonly remote: Readonly<RtpRemote> | null;
  readonly latched: RtpEndpoint | null;
  readonly confirmed: boolean;
  readonly isClosed: boolean;
  readonly secure: boolean;
  canReach(address: string): boolean;
  setRemote(remote: RtpRemote): void;
  confirm(): void;
  allowEarlySend(): void;
  setFrameSource(source: FrameSource | null): void;
  stats(): RtpSessionStats;
  callStats(): CallStats;
  close(): void;
  /** Resolves once stats(), callStats() and the RTCP quality are current (they are mirrored from the worker). */
  freshStats?(): Promise<void>;
  /** In-band DTMF detected where the audio is decoded (the worker); absent: listen to "audio". */
  detectInband?(onDigit: (digit: DtmfDigit) => void): void;
}

/** One call's RTCP as the main thread uses it. */
export interface RtcpView {
  quality(): CallQualityInfo;
  setPeer(peer: RtcpPeer): void;
  close(): void;
}

export interface RtpMedia {
  rtp: RtpStream;
  rtcp: RtcpView;
  /** SRTP keys from now on (null: plain RTP); the contexts are built where the packets are. */
  setSrtp(keys: SrtpKeys | null): void;
}

/** How a call's media is opened: what crosses to the worker, with the signalling peers' IPs asked when the peer or the dialog changes. */
export type RtpMediaOptions = Omit<WorkerOpenOptions, "hosts"> & { signallingHosts: () => readonly string[] };

export type RtpMediaOpener = (options: RtpMediaOptions) => Promise<RtpMedia>;

/** RTP and RTCP in this thread (unit tests of the description handler); `pacer` for manual ticking. */
export function inThreadMediaOpener(pacer?: Pacer): RtpMediaOpener {
  return async (o) => {
    const rtp = await RtpSession.open({ ...o, pacer });
    const rtcp = new RtcpSession(rtp, { security: o.security, signallingHosts: o.signallingHosts });
    rtcp.setTransform(rtp.rtcpTransform);
    return {
      rtp,
      rtcp,
      setSrtp: (keys) => rtp.setSrtp(keys ? { outbound: new SrtpContext(keys.outbound), inbound: new SrtpContext(keys.inbound) } : null),
    };
  };
}
