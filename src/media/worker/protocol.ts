// The media worker's messages, both ways (media-host.ts on the main thread, media-worker.ts in the
// worker), and the packing of outgoing frames: every session's new frames of one pump cycle go in ONE
// ArrayBuffer that is transferred, not copied, so 1000 calls cost one postMessage per cycle.
//
// Frame batch layout (little-endian, all offsets multiples of 4):
//   u32 sessions
//   per session: u32 id, u32 first (index of its first frame in this batch), u32 count
//   per frame:   u8 kind (1 audio, 2 RFC 4733 event), u8 flag (talkspurtStart / eventStart), u16 length (event bytes),
//                then FRAME_PAYLOAD_BYTES: 160 samples of 16-bit PCM, or the event payload

import type { CallQualityInfo, CallStats, RtpSecurity } from "../../types";
import type { OutgoingFrame, RtpEndpoint, RtpEventInfo, RtpPacketInfo, RtpRemote, RtpSessionStats } from "../rtp-session";
import type { RtcpPeer } from "../rtcp-session";
import type { SrtpContextOptions } from "../srtp";
import { SAMPLES_PER_FRAME } from "../audio-format";

/** Bytes of one frame's payload slot: 160 16-bit samples (an RFC 4733 payload is far shorter). */
export const FRAME_PAYLOAD_BYTES = SAMPLES_PER_FRAME * 2;
const FRAME_HEADER_BYTES = 4;
/** Bytes of one frame in a batch. */
export const FRAME_SLOT_BYTES = FRAME_HEADER_BYTES + FRAME_PAYLOAD_BYTES;
const KIND_AUDIO = 1;
const KIND_EVENT = 2;

/** What one session sends from one pump cycle: frames numbered first, first + 1, ... */
export interface SessionFrames {
  id: number;
  first: number;
  frames: OutgoingFrame[];
}

/** Packs every session's frames into one transferable buffer (an event longer than a slot is cut to it). */
export function packFrames(batches: readonly SessionFrames[]): ArrayBuffer {
  const total = batches.reduce((n, b) => n + b.frames.length, 0);
  const head = 4 + 12 * batches.length;
  const buf = new ArrayBuffer(head + total * FRAME_SLOT_BYTES);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  view.setUint32(0, batches.length, true);
  let at = head;
  batches.forEach((b, i) => {
    view.setUint32(4 + 12 * i, b.id >>> 0, true);
    view.setUint32(8 + 12 * i, b.first >>> 0, true);
    view.setUint32(12 + 12 * i, b.frames.length, true);
    for (const f of b.frames) {
      const payload = at + FRAME_HEADER_BYTES;
      if (f.kind === "audio") {
        view.setUint8(at, KIND_AUDIO);
        view.setUint8(at + 1, f.talkspurtStart ? 1 : 0);
        const n = Math.min(SAMPLES_PER_FRAME, f.pcm.length);
        // Shorter PCM is padded with silence (the slot is zeroed), as RtpSession does.
        new Int16Array(buf, payload, SAMPLES_PER_FRAME).set(f.pcm.subarray(0, n));
      } else {
        const n = Math.min(FRAME_PAYLOAD_BYTES, f.payload.length);
        view.setUint8(at, KIND_EVENT);
        view.setUint8(at + 1, f.eventStart ? 1 : 0);
        view.setUint16(at + 2, n, true);
        bytes.set(f.payload.subarray(0, n), payload);
      }
      at += FRAME_SLOT_BYTES;
    }
  });
  return buf;
}

/** Where one session's frames lie in a batch: `count` slots of FRAME_SLOT_BYTES from byte `offset`. */
export interface PackedSession {
  id: number;
  first: number;
  count: number;
  offset: number;
}

/**
 * The sessions of a batch, without reading their frames (the worker copies the slots as they are).
 * Malformed input gives []; a session whose frames do not fit ends the list.
 */
export function packedSessions(buf: ArrayBuffer): PackedSession[] {
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < 4) return [];
  const view = new DataView(buf);
  const sessions = view.getUint32(0, true);
  const head = 4 + 12 * sessions;
  if (head > buf.byteLength) return [];
  const out: PackedSession[] = [];
  let at = head;
  for (let i = 0; i < sessions; i++) {
    const count = view.getUint32(12 + 12 * i, true);
    if (at + count * FRAME_SLOT_BYTES > buf.byteLength) return out;
    out.push({ id: view.getUint32(4 + 12 * i, true), first: view.getUint32(8 + 12 * i, true), count, offset: at });
    at += count * FRAME_SLOT_BYTES;
  }
  return out;
}

/**
 * The frame in the slot at byte `at` of `bytes` (a batch, or a ring of slots); PCM and payloads are
 * views into it (no copies). Null for an unknown kind.
 */
export function frameAt(bytes: Uint8Array, at: number): OutgoingFrame | null {
  const kind = bytes[at];
  const flag = bytes[at + 1] === 1;
  const payload = bytes.byteOffset + at + FRAME_HEADER_BYTES;
  if (kind === KIND_AUDIO) return { kind: "audio", pcm: new Int16Array(bytes.buffer, payload, SAMPLES_PER_FRAME), talkspurtStart: flag };
  if (kind !== KIND_EVENT) return null;
  const n = Math.min(FRAME_PAYLOAD_BYTES, bytes[at + 2] | (bytes[at + 3] << 8));
  return { kind: "event", payload: Buffer.from(bytes.buffer, payload, n), eventStart: flag };
}

/** How a session is opened in the worker (RtpSessionOptions that can cross a thread). */
export interface WorkerOpenOptions {
  portMin: number;
  portMax: number;
  bindAddress?: string;
  family?: 4 | 6;
  rtpTimeoutMs?: number;
  security?: RtpSecurity;
  /** The signalling peers' IPs at opening (later lists follow with "hosts"). */
  hosts: string[];
}

/** SRTP master keys per direction (the worker builds the contexts; never logged). */
export interface SrtpKeys {
  outbound: SrtpContextOptions;
  inbound: SrtpContextOptions;
}

/** A session's statistics, mirrored on the main thread. */
export interface StatsSnapshot {
  id: number;
  stats: RtpSessionStats;
  callStats: CallStats;
  quality: CallQualityInfo;
  latched: RtpEndpoint | null;
}

export type ToMediaWorker =
  | { t: "open"; req: number; id: number; options: WorkerOpenOptions }
  | { t: "remote"; id: number; remote: RtpRemote; hosts: string[] }
  | { t: "confirm"; id: number; hosts: string[] }
  | { t: "early"; id: number }
  | { t: "srtp"; id: number; keys: SrtpKeys | null }
  | { t: "rtcpPeer"; id: number; peer: RtcpPeer }
  /** Decoded audio to the main thread (recording) and in-band detection in the worker, on or off. */
  | { t: "listen"; id: number; audio: boolean; inband: boolean }
  | { t: "frames"; buf: ArrayBuffer }
  /** Drop every buffered frame numbered below upTo (an interrupt: stop, barge-in). */
  | { t: "flush"; id: number; upTo: number }
  | { t: "close"; id: number }
  /** A fresh statistics snapshot now (the call is ending): acknowledged with `ack: req` in a report. */
  | { t: "snapshot"; id: number; req: number }
  /** No session left on the main side: close all and end the thread. */
  | { t: "shutdown" };

/** What happened to one session since the last report. */
export type WorkerEvent =
  | { id: number; k: "event"; payload: Uint8Array; info: RtpEventInfo }
  | { id: number; k: "audio"; pcm: Int16Array; info: RtpPacketInfo }
  | { id: number; k: "digit"; digit: string }
  | { id: number; k: "latched"; source: RtpEndpoint }
  | { id: number; k: "timeout" }
  | { id: number; k: "error"; message: string }
  | { id: number; k: "closed" };

export interface OpenedSession {
  port: number;
  address: string;
  socketType: "udp4" | "udp6";
  ssrc: number;
  snapshot: StatsSnapshot;
}

export type FromMediaWorker =
  | ({ t: "opened"; req: number; id: number } & OpenedSession)
  | { t: "openFailed"; req: number; message: string }
  | {
      t: "report";
      /** Flat: id, frames played (or flushed), packets sent, packets received; sessions that changed only. */
      counters: number[];
      events: WorkerEvent[];
      stats: StatsSnapshot[];
      /** The highest "snapshot" request this report answers. */
      ack?: number;
    };
