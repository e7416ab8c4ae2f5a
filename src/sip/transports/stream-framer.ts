// Content-Length framing of SIP over a byte stream (RFC 3261 §18.3), plus the
// RFC 5626 §3.5.1 keep-alive: a CRLFCRLF ping between messages and a CRLF pong.

export interface FramerEvents {
  message(raw: string): void;
  ping(): void;
  pong(): void;
  error(err: Error): void;
}

/** Largest SIP message (head + body) accepted on a stream or WebSocket; a bigger one closes the connection. */
export const MAX_SIP_MESSAGE_BYTES = 64 * 1024;
const MAX_MESSAGE = MAX_SIP_MESSAGE_BYTES;

export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly on: FramerEvents) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      // Keep-alives live between messages only.
      let lead = 0;
      while (lead + 1 < this.buf.length && this.buf[lead] === 13 && this.buf[lead + 1] === 10) lead += 2;
      if (lead > 0) {
        if (lead >= 4) this.on.ping();
        else this.on.pong();
        this.buf = this.buf.subarray(lead);
      }
      const headEnd = this.buf.indexOf("\r\n\r\n");
      if (headEnd < 0) {
        if (this.buf.length > MAX_MESSAGE) this.fail("SIP header section too large");
        return;
      }
      const head = this.buf.subarray(0, headEnd).toString("utf8");
      const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im.exec(head);
      if (!m) {
        this.fail("SIP message without Content-Length on a stream transport");
        return;
      }
      const total = headEnd + 4 + Number(m[1]);
      if (total > MAX_MESSAGE) {
        this.fail("SIP message too large");
        return;
      }
      if (this.buf.length < total) return;
      const raw = this.buf.subarray(0, total).toString("utf8");
      this.buf = this.buf.subarray(total);
      this.on.message(raw);
    }
  }

  private fail(reason: string): void {
    this.buf = Buffer.alloc(0);
    this.on.error(new Error(reason));
  }
}
