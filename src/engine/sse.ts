/**
 * A byte-level Server-Sent Events line parser. It works on the raw Buffers of the response so
 * only `data:` values are ever decoded, and it keeps every unknown field (`error: ...`, a raw
 * JSON line) whole even when it is split across reads: eventsource-parser drops such lines
 * when they straddle a read, which would hide a server's error message.
 *
 * It is on the hot path of every token: lines are found with `indexOf` in the read's own memory,
 * only a line that straddles two reads is copied, and an event that is one data line (the usual
 * `data: {...}` + blank line) goes to the sink as raw bytes, so a plain token chunk is never
 * decoded at all (see fast-chunk.ts).
 *
 * A line that spans many reads (a huge chunk, or a server that never sends a newline) keeps its
 * pieces in a list and is joined once, when its newline comes: joining on every read made a 40 MB
 * line take 30 s. Past MAX_LINE_BYTES the parser gives up, so such a server cannot exhaust memory.
 */

const LF = 10
const CR = 13
const COLON = 58
const SPACE = 32
const DATA = Buffer.from('data:')
/** Longest line, and longest event's data, accepted: far above any real chunk. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024

export interface SseSink {
  /** A complete event: its joined data lines and its `event:` type, if any. */
  onEvent(data: string, eventType: string | undefined): void
  /** A line with a field other than data/event/id/retry, e.g. `error: boom` or a bare JSON line. */
  onOtherLine(field: string, value: string, line: string): void
  /**
   * An event made of one data line and no `event:` type, as the bytes `buf[start, end)` of the
   * value; `bytes` is `buf` as a byte string (latin1: one char per byte, for cheap comparisons).
   * Both are valid during the call only. Without this method the event goes to `onEvent`.
   */
  onDataEvent?(buf: Buffer, bytes: string, start: number, end: number): void
  /** The stream broke the parser's limits; nothing more is parsed after this call. */
  onInvalid?(message: string): void
}

export class SseParser {
  /** The start of an unfinished line, one copied piece per read; empty in the common case. */
  private pending: Buffer[] = []
  private pendingBytes = 0
  private data: string | null = null
  private eventType: string | undefined = undefined
  private failed = false
  /** Bytes copied to keep and join unfinished lines: linear in the body, for the tests. */
  copiedBytes = 0

  constructor(
    private readonly sink: SseSink,
    private readonly maxLineBytes = MAX_LINE_BYTES
  ) {}

  feed(chunk: Buffer): void {
    if (this.failed) return
    let start = 0
    if (this.pendingBytes > 0) {
      const lf = chunk.indexOf(LF)
      if (lf === -1) return this.keep(chunk)
      // Only the line that straddles the reads is joined (with the blank line after it, if
      // any, so the event can still take the fast path); the rest is read in place.
      const joinEnd = Math.max(lf + 1, blankLine(chunk, lf + 1))
      const line = this.takePending(chunk.subarray(0, joinEnd))
      this.lines(line, line.toString('latin1'), 0)
      start = joinEnd
    }
    start = this.lines(chunk, chunk.toString('latin1'), start)
    if (start < chunk.length && !this.failed) this.keep(chunk.subarray(start))
  }

  /** The body ended: a last line without a newline and a last event without a blank line count. */
  end(): void {
    if (this.failed) return
    if (this.pendingBytes > 0) {
      const rest = this.takePending()
      const end = rest[rest.length - 1] === CR ? rest.length - 1 : rest.length
      this.line(rest, rest.toString('latin1'), 0, end, rest.length)
    }
    this.dispatch()
  }

  /** Keeps the start of an unfinished line. */
  private keep(piece: Buffer): void {
    this.pendingBytes += piece.length
    if (this.pendingBytes > this.maxLineBytes) {
      return this.fail(
        `the server sent an SSE line over ${size(this.maxLineBytes)} without a newline`
      )
    }
    // Copy: the HTTP client may reuse the memory behind the read for the next one.
    this.pending.push(Buffer.from(piece))
    this.copiedBytes += piece.length
  }

  /** The kept pieces and `tail`, joined once, and the list emptied. */
  private takePending(tail?: Buffer): Buffer {
    if (tail !== undefined) this.pending.push(tail)
    const line = Buffer.concat(this.pending)
    this.copiedBytes += line.length
    this.pending = []
    this.pendingBytes = 0
    return line
  }

  private fail(message: string): void {
    this.failed = true
    this.pending = []
    this.pendingBytes = 0
    this.data = null
    this.sink.onInvalid?.(message)
  }

  /**
   * Reads the complete lines of `buf` from `start`; returns where the incomplete rest begins.
   * `bytes` is `buf` as a byte string: V8 searches it faster than Buffer#indexOf, a native call.
   */
  private lines(buf: Buffer, bytes: string, start: number): number {
    let lf = bytes.indexOf('\n', start)
    while (lf !== -1 && !this.failed) {
      const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf
      start = this.line(buf, bytes, start, end, lf + 1)
      lf = bytes.indexOf('\n', start)
    }
    return start
  }

  /** Reads the line `buf[start, end)`; returns where the next one starts (`next` or beyond). */
  private line(buf: Buffer, bytes: string, start: number, end: number, next: number): number {
    if (start === end) {
      this.dispatch()
      return next
    }
    if (buf[start] === COLON) return next // comment or keep-alive
    if (startsWith(buf, start, end, DATA)) return this.dataLine(buf, bytes, start + 5, end, next)
    const colon = buf.indexOf(COLON, start)
    const hasColon = colon !== -1 && colon < end
    const field = buf.toString('utf8', start, hasColon ? colon : end)
    const value = hasColon ? decodeValue(buf, colon + 1, end) : ''
    if (field === 'event') this.eventType = value
    else if (field !== 'id' && field !== 'retry') {
      this.sink.onOtherLine(field, value, buf.toString('utf8', start, end))
    }
    return next
  }

  /**
   * A data line. When it is a whole event by itself (nothing gathered before it, a blank line
   * right after it in this read) the sink gets its bytes and the blank line is consumed here.
   */
  private dataLine(buf: Buffer, bytes: string, start: number, end: number, next: number): number {
    if (start < end && buf[start] === SPACE) start++
    const afterBlank =
      this.data === null && this.eventType === undefined ? blankLine(buf, next) : -1
    if (afterBlank !== -1 && this.sink.onDataEvent !== undefined) {
      this.sink.onDataEvent(buf, bytes, start, end)
      return afterBlank
    }
    this.addData(buf.toString('utf8', start, end))
    return next
  }

  private addData(value: string): void {
    this.data = this.data === null ? value : `${this.data}\n${value}`
    // Many short data lines can make an event as large as one long line.
    if (this.data.length > this.maxLineBytes) {
      this.fail(`the server sent an SSE event over ${size(this.maxLineBytes)} without a blank line`)
    }
  }

  private dispatch(): void {
    if (this.data !== null) this.sink.onEvent(this.data, this.eventType)
    this.data = null
    this.eventType = undefined
  }
}

function size(bytes: number): string {
  const mib = bytes / 1024 / 1024
  return mib >= 1 ? `${Math.round(mib * 10) / 10} MiB` : `${bytes} bytes`
}

/** Index past the blank line (LF or CR LF) at `at`, or -1 when there is none there. */
function blankLine(buf: Buffer, at: number): number {
  if (buf[at] === LF) return at + 1
  return buf[at] === CR && buf[at + 1] === LF ? at + 2 : -1
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
