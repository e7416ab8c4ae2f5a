// Packets on lo captured with tshark (a real dissector, independent of our parsers), for tests
// that check what actually went on the wire.
//
//   const cap = await captureOnLo(`udp dst port ${port} and dst host 127.0.0.1`);
//   ... the call ...
//   const rows = await cap.stop({ decodeAs: [`udp.port==${port},rtp`], fields: ["rtp.p_type", "rtp.payload"] });
//   const { pcm } = g711Payloads(rows, ["0", "8"]);
import fs from "fs";
import os from "os";
import path from "path";
import { spawn, execFileSync } from "child_process";
import { alaw, mulaw } from "alawmulaw";
import { waitFor, sleep } from "./wait";
import { concatPcm } from "./pcm";

export interface CaptureRead {
  /** tshark `-d` rules, e.g. "udp.port==4000,rtp". */
  decodeAs?: string[];
  /** A display filter (`-Y`). */
  display?: string;
  /** The fields of each packet, in order (`-e`). */
  fields: string[];
}

export interface Capture {
  /** Stops the capture (after a short grace for packets in flight) and returns one row of fields per packet. */
  stop(read: CaptureRead): Promise<string[][]>;
}

/** Starts tshark on lo with a capture (BPF) filter; resolves once it captures. */
export async function captureOnLo(filter: string): Promise<Capture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capture-"));
  const file = path.join(dir, "lo.pcap");
  const p = spawn("tshark", ["-i", "lo", "-f", filter, "-w", file], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes("Capturing on"), 10_000, "tshark capturing");
  return {
    async stop(read) {
      await sleep(300);
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGINT");
      await exited;
      const args = ["-r", file];
      for (const d of read.decodeAs ?? []) args.push("-d", d);
      if (read.display) args.push("-Y", read.display);
      args.push("-T", "fields", "-E", "separator=;");
      for (const f of read.fields) args.push("-e", f);
      const out = execFileSync("tshark", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      fs.rmSync(dir, { recursive: true, force: true });
      return out
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => l.trim().split(";"));
    },
  };
}

/** The audio of rows [payload type, payload hex] whose type is one of `payloadTypes` ("0" PCMU, "8" PCMA), decoded and joined. */
export function g711Payloads(rows: string[][], payloadTypes: readonly string[]): { packets: number; pcm: Int16Array } {
  const chunks: Int16Array[] = [];
  for (const [pt, hex] of rows) {
    if (!hex || !payloadTypes.includes(pt)) continue;
    const bytes = Uint8Array.from(Buffer.from(hex.replace(/:/g, ""), "hex"));
    chunks.push(pt === "8" ? alaw.decode(bytes) : mulaw.decode(bytes));
  }
  return { packets: chunks.length, pcm: concatPcm(chunks) };
}
