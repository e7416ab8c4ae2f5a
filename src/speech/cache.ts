// Cache of synthesized 8 kHz PCM: an in-memory LRU bounded by bytes, plus an optional directory
// that survives restarts. Disk files are written atomically and verified on read, so a crash or
// a half-written file only ever costs a re-synthesis.
import { createHash, randomBytes } from "crypto";
import { promises as fsp } from "fs";
import path from "path";
import { SAMPLE_RATE } from "../media/audio-format";

export interface SpeechCacheOptions {
  /** Directory for persistent entries (created on demand); none = memory only. */
  dir?: string;
  /** Memory budget for PCM data, bytes (default 32 MiB). */
  maxMemoryBytes?: number;
}

const MAGIC = Buffer.from("SIPTTS01", "latin1");
const HEADER_BYTES = MAGIC.length + 4 + 4 + 32; // magic, sample rate, sample count, sha256(payload)
const CACHE_RATE = SAMPLE_RATE;

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** sha256 (hex) of the parts, independent of property order. */
export function speechCacheKey(parts: Record<string, unknown>): string {
  return createHash("sha256")
    .update(JSON.stringify(stable(parts)))
    .digest("hex");
}

function pcmBytes(pcm: Int16Array): Buffer {
  // Stored little-endian, which is the byte order of every platform Node-RED runs on.
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** Serialises PCM into the on-disk format (exported for tests). */
export function encodeCacheFile(pcm: Int16Array): Buffer {
  const payload = pcmBytes(pcm);
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(CACHE_RATE, 8);
  header.writeUInt32LE(pcm.length, 12);
  createHash("sha256").update(payload).digest().copy(header, 16);
  return Buffer.concat([header, payload]);
}

/** Parses a cache file; undefined if it is damaged in any way. */
export function decodeCacheFile(buf: Buffer): Int16Array | undefined {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) return undefined;
  if (buf.readUInt32LE(8) !== CACHE_RATE) return undefined;
  const count = buf.readUInt32LE(12);
  if (buf.length !== HEADER_BYTES + count * 2) return undefined;
  const payload = buf.subarray(HEADER_BYTES);
  if (!createHash("sha256").update(payload).digest().equals(buf.subarray(16, 48))) return undefined;
  const pcm = new Int16Array(count);
  pcmBytes(pcm).set(payload);
  return pcm;
}

function checkKey(key: string): void {
  // Keys become file names: only hashes, never paths.
  if (!/^[0-9a-f]{16,128}$/.test(key)) throw new Error(`Invalid speech cache key "${key}"`);
}

export class SpeechCache {
  private readonly memory = new Map<string, Int16Array>();
  private bytes = 0;
  private readonly maxBytes: number;
  readonly dir: string | undefined;

  constructor(options: SpeechCacheOptions = {}) {
    this.maxBytes = options.maxMemoryBytes ?? 32 * 1024 * 1024;
    this.dir = options.dir;
  }

  /** Bytes of PCM currently held in memory. */
  get memoryBytes(): number {
    return this.bytes;
  }

  get memoryEntries(): number {
    return this.memory.size;
  }

  /** Looks in memory, then on disk. Returns a copy the caller may modify. */
  async get(key: string): Promise<Int16Array | undefined> {
    checkKey(key);
    const hit = this.memory.get(key);
    if (hit) {
      this.memory.delete(key); // re-insert = most recently used
      this.memory.set(key, hit);
      return hit.slice();
    }
    if (!this.dir) return undefined;
    const file = this.file(key);
    let buf: Buffer;
    try {
      buf = await fsp.readFile(file);
    } catch {
      return undefined; // missing or unreadable: just a miss
    }
    const pcm = decodeCacheFile(buf);
    if (!pcm) return undefined; // corrupt: ignored, the next set() overwrites it
    this.remember(key, pcm);
    return pcm.slice();
  }

  /** Stores a copy in memory and, if configured, on disk. Disk problems are reported, not thrown. */
  async set(key: string, pcm: Int16Array): Promise<Error | undefined> {
    checkKey(key);
    const copy = pcm.slice();
    this.remember(key, copy);
    if (!this.dir) return undefined;
    const target = this.file(key);
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      await fsp.writeFile(tmp, encodeCacheFile(copy));
      await fsp.rename(tmp, target); // atomic: readers see the old file or the whole new one
      return undefined;
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  clearMemory(): void {
    this.memory.clear();
    this.bytes = 0;
  }

  private file(key: string): string {
    return path.join(this.dir!, `${key}.pcm`);
  }

  private remember(key: string, pcm: Int16Array): void {
    const old = this.memory.get(key);
    if (old) {
      this.memory.delete(key);
      this.bytes -= old.byteLength;
    }
    if (pcm.byteLength > this.maxBytes) return;
    this.memory.set(key, pcm);
    this.bytes += pcm.byteLength;
    for (const [k, v] of this.memory) {
      if (this.bytes <= this.maxBytes) break;
      this.memory.delete(k);
      this.bytes -= v.byteLength;
    }
  }
}
