// More than one media worker (issue 11: "when measurements show it pays on more cores"). Calls use
// one worker until it carries MEDIA_WORKER_SPLIT_AT sessions; beyond, the next worker starts and each
// call's media goes to the least loaded one. At 1000 two-way calls on 2 cores two workers halved the
// pacing p99 excess over one, and four did better again than two, even on those 2 cores: each
// worker's 20 ms burst is shorter (BENCHMARKS.md, "Issue 11"). A small installation never starts the
// second; 1000 calls run in four workers of 250.
// SIP_CLIENT_MEDIA_WORKERS sets the most workers (1..MEDIA_WORKERS_MAX).

import { MediaHost } from "./media-host";
import type { RtpMedia, RtpMediaOptions } from "./media-stream";

/** Most media workers a process runs. */
export const MEDIA_WORKERS_MAX = 8;
/** Most workers when SIP_CLIENT_MEDIA_WORKERS is not set. */
export const MEDIA_WORKERS_DEFAULT = 4;
/** Sessions a worker carries before the pool starts the next one. */
export const MEDIA_WORKER_SPLIT_AT = 200;

/** The worker count from the environment's text: a whole number within 1..MEDIA_WORKERS_MAX, else the default. */
export function mediaWorkerCount(text: string | undefined): number {
  const n = Number(String(text ?? "").trim());
  return Number.isInteger(n) && n >= 1 && n <= MEDIA_WORKERS_MAX ? n : MEDIA_WORKERS_DEFAULT;
}

export class MediaPool {
  private readonly hosts: MediaHost[];

  constructor(count: number, make: () => MediaHost = () => new MediaHost()) {
    this.hosts = Array.from({ length: Math.max(1, Math.min(MEDIA_WORKERS_MAX, Math.floor(count) || 1)) }, make);
  }

  /** Workers in the pool (started or not). */
  get workers(): number {
    return this.hosts.length;
  }

  /** At least one worker is running. */
  get running(): boolean {
    return this.hosts.some((h) => h.running);
  }

  /** Opens a call's media in the least loaded busy worker, or in the next one once all busy ones carry MEDIA_WORKER_SPLIT_AT. */
  open(options: RtpMediaOptions): Promise<RtpMedia> {
    const busy = this.hosts.filter((h) => h.load > 0);
    let best = busy[0] ?? this.hosts[0];
    for (const h of busy) if (h.load < best.load) best = h;
    const idle = this.hosts.find((h) => h.load === 0);
    if (idle && best.load >= MEDIA_WORKER_SPLIT_AT) best = idle;
    return best.open(options);
  }

  /** A Softphone stopped: every worker ends once it has no session left (see MediaHost.stopWhenIdle). */
  async stopWhenIdle(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.stopWhenIdle()));
  }

  /** Test hook: kills every worker as a crash would. */
  async killForTest(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.killForTest()));
  }
}

/** The process's media workers. */
export const mediaPool = new MediaPool(mediaWorkerCount(process.env.SIP_CLIENT_MEDIA_WORKERS));

/** Opens a call's RTP and RTCP in a media worker (the description handler's default). */
export const openWorkerMedia = (options: RtpMediaOptions): Promise<RtpMedia> => mediaPool.open(options);
