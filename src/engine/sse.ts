/**
 * A byte-level Server-Sent Events line parser. It works on the raw Buffers of the response so
 * only `data:` values are ever decoded, and it keeps every unknown field (`error: ...`, a raw
 * JSON line) whole even when it is split across reads: eventsource-parser drops such lines
 * when they straddle a read, which would hide a server's error message.
 */

const LF = 10
const CR = 13
const COLON = 58
const SPACE = 32
const DATA = Buffer.from('data:')

export interface SseSink {
  /** A complete event: its joined data lines and its `event:` type, if any. */
  onEvent(data: string, eventType: string | undefined): void
  /** A line with a field other than data/event/id/retry, e.g. `error: boom` or a bare JSON line. */
  onOtherLine(field: string, value: string, line: string): void
}

export class SseParser {
  private pending: Buffer | null = null
  private data: string | null = null
  private eventType: string | undefined = undefined

  constructor(private readonly sink: SseSink) {}

  feed(chunk: Buffer): void {
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk])
    this.pending = null
    let start = 0
    let lf = buf.indexOf(LF, start)
    while (lf !== -1) {
      const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf
      this.line(buf, start, end)
      start = lf + 1
      lf = buf.indexOf(LF, start)
    }
    // Copy: the HTTP client may reuse the memory behind `chunk` for the next read.
    if (start < buf.length) this.pending = Buffer.from(buf.subarray(start))
  }

  /** The body ended: a last line without a newline and a last event without a blank line count. */
  end(): void {
    if (this.pending !== null) {
      const rest = this.pending
      this.pending = null
      const end = rest.length > 0 && rest[rest.length - 1] === CR ? rest.length - 1 : rest.length
      this.line(rest, 0, end)
    }
    this.dispatch()
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (start === end) return this.dispatch()
    if (buf[start] === COLON) return // comment or keep-alive
    if (startsWith(buf, start, end, DATA)) return this.addData(decodeValue(buf, start + 5, end))
    const colon = buf.indexOf(COLON, start)
    const hasColon = colon !== -1 && colon < end
    const field = buf.toString('utf8', start, hasColon ? colon : end)
    const value = hasColon ? decodeValue(buf, colon + 1, end) : ''
    if (field === 'event') this.eventType = value
    else if (field !== 'id' && field !== 'retry') {
      this.sink.onOtherLine(field, value, buf.toString('utf8', start, end))
    }
  }

  private addData(value: string): void {
    this.data = this.data === null ? value : `${this.data}\n${value}`
  }

  private dispatch(): void {
    if (this.data !== null) this.sink.onEvent(this.data, this.eventType)
    this.data = null
    this.eventType = undefined
  }
}

function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false
  return true
}

/** A field value: one leading space is part of the syntax, not of the value. */
function decodeValue(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start < end && buf[start] === SPACE ? start + 1 : start, end)
}
