// A WebSocket peer cannot make us buffer a huge frame: ws maxPayload = MAX_SIP_MESSAGE_BYTES.
import assert from "assert";
import { WebSocketServer } from "ws";
import { WsConnection } from "../../../src/sip/transports/ws-connection";
import { MAX_SIP_MESSAGE_BYTES } from "../../../src/sip/transports/stream-framer";

describe("WebSocket size limit", () => {
  it("a frame larger than MAX_SIP_MESSAGE_BYTES closes the connection instead of reaching the SIP layer", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: () => "sip" });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const port = (wss.address() as { port: number }).port;
    wss.on("connection", (sock) => {
      sock.send("OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n\r\n");
      sock.send("X".repeat(MAX_SIP_MESSAGE_BYTES + 1024));
    });
    const conn = new WsConnection({ kind: "ws", remote: { address: "127.0.0.1", port }, remoteHost: "127.0.0.1", keepAliveSeconds: 0 });
    const sizes: number[] = [];
    conn.on("message", (raw) => sizes.push(raw.length));
    const closed = new Promise<Error | undefined>((r) => conn.on("close", (e) => r(e)));
    let timer: NodeJS.Timeout | undefined;
    try {
      await conn.open();
      const err = await Promise.race([
        closed,
        new Promise<string>((r) => {
          timer = setTimeout(() => r("still open"), 3000);
        }),
      ]);
      assert.ok(err instanceof Error, `the connection was closed (${String(err)}); messages: ${sizes.join(", ")}`);
      assert.strictEqual(sizes.length, 1, "only the small message arrived");
      assert.ok(sizes[0] < 100);
    } finally {
      clearTimeout(timer);
      await conn.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
});
