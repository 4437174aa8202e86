/**
 * What one streamed response says, gathered event by event. Pure: the caller stamps each read
 * (`readAt`) before feeding it, so every event parsed from that read carries the read's time.
 */
import { PlainChunkTemplate, isPlainTokenChunk } from './fast-chunk.js'
import type { ErrorClass, RequestError, ServerTimings } from './record.js'
import type { SseSink } from './sse.js'

const MAX_MESSAGE = 200
/**
 * Plain token chunks a stream may turn into a template: one is enough for a server that repeats
 * its chunk; a few more cover a change of layout; a server whose every chunk differs outside the
 * content (a per-chunk nonce) stops paying for templates after these.
 */
const TEMPLATE_TRIES = 4

export class StreamState implements SseSink {
  /** Arrival time of the read being parsed, ms on the run's clock. */
  readAt = 0
  chunks = 0
  tokenChunks = 0
  firstTokenAt: number | null = null
  lastTokenAt: number | null = null
  readonly interTokenMs: number[] = []
  finishReason: string | null = null
  done = false
  promptTokens: number | null = null
  completionTokens: number | null = null
  model: string | null = null
  systemFingerprint: string | null = null
  timings: ServerTimings | null = null
  error: RequestError | null = null
  /** Of `chunks`, those the fast path counted without parsing (for tests and profiling). */
  fastChunks = 0
  /** This stream's plain token chunk, once one was parsed: see fast-chunk.ts. */
  private template: PlainChunkTemplate | null = null
  private templateTries = TEMPLATE_TRIES

  /** A one-line event, as bytes: a plain token chunk is counted without decoding or parsing it. */
  onDataEvent(buf: Buffer, bytes: string, start: number, end: number): void {
    if (this.error !== null) return
    if (this.template !== null && this.template.matches(bytes, start, end)) {
      this.chunks++
      this.fastChunks++
      return this.token()
    }
    this.parse(buf.toString('utf8', start, end), true)
  }

  onEvent(data: string, eventType: string | undefined): void {
    if (this.error !== null) return
    if (eventType === 'error') {
      this.chunks++
      return this.fail('stream-error', serverMessage(data))
    }
    // Text comes here when the event had several data lines or the parser was asked for text:
    // it may make the first template, never replace one the bytes path is using.
    this.parse(data, this.template === null)
  }

  /** The full path: `JSON.parse`; a plain token chunk may become the template (`mayLearn`). */
  private parse(data: string, mayLearn: boolean): void {
    this.chunks++
    if (data === '[DONE]') {
      this.done = true
      return
    }
    let message: unknown
    try {
      message = JSON.parse(data)
    } catch {
      return this.fail('invalid-response', `event data is not JSON: ${excerpt(data)}`)
    }
    if (!isObject(message))
      return this.fail('invalid-response', `event data is not a JSON object: ${excerpt(data)}`)
    this.takeMessage(message)
    if (mayLearn && this.templateTries > 0 && isPlainTokenChunk(message)) this.learn(data)
  }

  /** Makes a parsed plain token chunk the template the next chunks are matched against. */
  private learn(data: string): void {
    this.templateTries--
    this.template = PlainChunkTemplate.from(data) ?? this.template
  }

  onOtherLine(field: string, value: string, line: string): void {
    if (this.error !== null) return
    if (field === 'error') return this.fail('stream-error', serverMessage(value))
    // A JSON object sent without SSE framing, e.g. an error body written into the stream.
    if (line.startsWith('{')) {
      const message = parseObject(line)
      if (message !== null && message.error != null)
        this.fail('stream-error', messageOf(message.error))
    }
  }

  /** The parser gave up on the stream (a line or event over its size limit). */
  onInvalid(message: string): void {
    this.fail('invalid-response', message)
  }

  fail(errorClass: ErrorClass, message: string): void {
    if (this.error === null) this.error = { class: errorClass, message: excerpt(message) }
  }

  /** Called when the body ended: no finish reason and no `[DONE]` means the stream was cut. */
  endOfBody(): void {
    if (this.error === null && !this.done && this.finishReason === null) {
      this.fail('cut-off', 'the stream ended without a finish reason or [DONE]')
    }
  }

  /** Takes everything a chunk or a whole (non-streamed) completion carries. */
  takeMessage(message: Record<string, unknown>): void {
    if (message.error != null) return this.fail('stream-error', messageOf(message.error))
    if (this.model === null && typeof message.model === 'string') this.model = message.model
    if (this.systemFingerprint === null && typeof message.system_fingerprint === 'string') {
      this.systemFingerprint = message.system_fingerprint
    }
    if (isObject(message.usage)) this.takeUsage(message.usage)
    if (isObject(message.timings)) this.timings = message.timings as ServerTimings
    if (Array.isArray(message.choices)) this.takeChoices(message.choices)
  }

  private takeUsage(usage: Record<string, unknown>): void {
    if (typeof usage.prompt_tokens === 'number') this.promptTokens = usage.prompt_tokens
    if (typeof usage.completion_tokens === 'number') this.completionTokens = usage.completion_tokens
  }

  private takeChoices(choices: unknown[]): void {
    let bearsToken = false
    for (const choice of choices) {
      if (!isObject(choice)) continue
      if (carriesToken(choice.delta)) bearsToken = true
      if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason
    }
    if (bearsToken) this.token()
  }

  private token(): void {
    const at = this.readAt
    if (this.lastTokenAt !== null) this.interTokenMs.push(at - this.lastTokenAt)
    else this.firstTokenAt = at
    this.lastTokenAt = at
    this.tokenChunks++
  }
}

/** Non-empty content, reasoning or tool call delta; role-only and empty deltas are not tokens. */
export function carriesToken(delta: unknown): boolean {
  if (!isObject(delta)) return false
  return (
    nonEmpty(delta.content) ||
    nonEmpty(delta.reasoning_content) ||
    nonEmpty(delta.reasoning) ||
    (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0)
  )
}

/** The message of an error as servers send it: `{error: {message}}`, `{message}` or plain text. */
export function serverMessage(text: string): string {
  const parsed = parseObject(text)
  if (parsed === null) return text
  return messageOf(parsed.error ?? parsed)
}

function messageOf(error: unknown): string {
  if (typeof error === 'string') return error
  if (isObject(error)) {
    if (typeof error.message === 'string') return error.message
    if (isObject(error.error)) return messageOf(error.error)
  }
  return JSON.stringify(error)
}

export function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length <= MAX_MESSAGE ? flat : `${flat.slice(0, MAX_MESSAGE - 1)}…`
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text)
    return isObject(value) ? value : null
  } catch {
    return null
  }
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
