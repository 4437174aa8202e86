/**
 * The fast path for plain token chunks.
 *
 * Why: decoding and `JSON.parse` of every SSE event was most of the engine's cost per chunk
 * (≈1.4 µs of 1.43 µs), so a fast server could outrun the client and the client, not the server,
 * set the measured rate. Yet almost every event of a stream is the same token chunk with another
 * piece of text: llama.cpp, vLLM and the simulator repeat the chunk byte for byte (id, created,
 * model, fingerprint) apart from the `content` string.
 *
 * How it stays exact: a chunk goes the slow way (decode + `JSON.parse`), and when the parsed object
 * is a plain token chunk (see `isPlainTokenChunk`), its bytes before and after the content string
 * become a template. A later event made of the template's prefix, then a valid, non-empty JSON
 * string body, then the template's suffix is, by JSON's grammar, the same object with other
 * content: a token chunk that changes nothing but the token count. Before a template is used, a
 * probe (prefix + marker + suffix) is parsed to prove the content string sits where we think.
 * Any other event (first of a stream, finish, usage, error, role, reasoning, tool calls, several
 * choices, an escape we do not know, a different layout) is parsed in full as before.
 *
 * Why a template and not a search of the raw bytes for `"usage"`, `"role"`, `"finish_reason":"`
 * and so on: those conditions are checked here too, but on the parsed template, where text cannot
 * fake or hide a key (an escaped key, a quoted key inside the content); the bytes only have to be
 * compared, which is also cheaper than several searches per event.
 *
 * Everything here works on "byte strings": latin1 decodings of UTF-8 bytes, one char per byte, so
 * offsets are byte offsets. The parser decodes each read that way once (a copy, no UTF-8 work),
 * and comparing slices of it with `===` is a memcmp in V8: about half the cost of
 * `Buffer#compare` and a third of a JS byte loop, per event.
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const LOWER_U = 0x75
const COLON = 0x3a
/** The bytes allowed after a backslash in a JSON string, `u` (and its 4 hex digits) aside. */
const SIMPLE_ESCAPES = new Set(Array.from('"\\/bfnrt', c => c.charCodeAt(0)))
const PROBE = 'fast-chunk-probe'
const CONTENT_KEY = '"content"'
const HEX4 = /^[0-9a-fA-F]{4}$/

export class PlainChunkTemplate {
  private constructor(
    /** Byte strings of the event before and after the content string body. */
    private readonly prefix: string,
    private readonly suffix: string
  ) {}

  /**
   * A template from the data of an event that parsed to a plain token chunk, or null when its
   * content string cannot be located with certainty.
   */
  static from(data: string): PlainChunkTemplate | null {
    const bytes = Buffer.from(data).toString('latin1')
    const bodyStart = contentValueStart(bytes)
    const bodyEnd = bodyStart === -1 ? -1 : stringBodyEnd(bytes, bodyStart)
    if (bodyEnd <= bodyStart) return null
    return PlainChunkTemplate.proven(bytes.slice(0, bodyStart), bytes.slice(bodyEnd))
  }

  /** The template, if a probe through it parses with the probe as the delta's content. */
  private static proven(prefix: string, suffix: string): PlainChunkTemplate | null {
    let probe: unknown
    try {
      probe = JSON.parse(`${utf8(prefix)}${PROBE}${utf8(suffix)}`)
    } catch {
      return null
    }
    if (!isObject(probe) || !isPlainTokenChunk(probe) || deltaOf(probe).content !== PROBE) {
      return null
    }
    return new PlainChunkTemplate(prefix, suffix)
  }

  /** True when the byte string `bytes[start, end)` is this template with non-empty content. */
  matches(bytes: string, start: number, end: number): boolean {
    const { prefix, suffix } = this
    const bodyStart = start + prefix.length
    const suffixStart = end - suffix.length
    if (suffixStart <= bodyStart) return false
    if (bytes.slice(start, bodyStart) !== prefix) return false
    return (
      stringBodyEnd(bytes, bodyStart) === suffixStart && bytes.slice(suffixStart, end) === suffix
    )
  }
}

/**
 * A chunk whose only effect on a request's record is one token: no error, usage or timings, one
 * choice without a finish reason, a delta with non-empty `content` and nothing else that is not
 * null (no role, reasoning or tool calls; a null one, as some servers send, changes nothing).
 * Stricter than `StreamState` needs, on purpose.
 */
export function isPlainTokenChunk(message: Record<string, unknown>): boolean {
  if (message.error != null || message.usage != null || message.timings != null) return false
  const choices = message.choices
  if (!Array.isArray(choices) || choices.length !== 1) return false
  const choice: unknown = choices[0]
  if (!isObject(choice) || choice.finish_reason != null || !isObject(choice.delta)) return false
  const delta = choice.delta
  if (typeof delta.content !== 'string' || delta.content.length === 0) return false
  return Object.keys(delta).every(key => key === 'content' || delta[key] === null)
}

function deltaOf(message: Record<string, unknown>): Record<string, unknown> {
  const choice = (message.choices as unknown[])[0] as Record<string, unknown>
  return choice.delta as Record<string, unknown>
}

/**
 * Index just past the opening quote of the value of the one `"content"` key, or -1. Two
 * occurrences (text that quotes the key, a second choice) mean we cannot be sure which is which.
 */
function contentValueStart(bytes: string): number {
  const key = bytes.indexOf(CONTENT_KEY)
  if (key === -1 || bytes.indexOf(CONTENT_KEY, key + 1) !== -1) return -1
  let i = skipSpace(bytes, key + CONTENT_KEY.length)
  if (bytes.charCodeAt(i) !== COLON) return -1
  i = skipSpace(bytes, i + 1)
  return bytes.charCodeAt(i) === QUOTE ? i + 1 : -1
}

/** JSON's whitespace: space, tab, LF, CR. */
function skipSpace(bytes: string, i: number): number {
  for (let c = bytes.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;) {
    c = bytes.charCodeAt(++i)
  }
  return i
}

/**
 * Where a JSON string body starting at `bytes[start]` ends (the index of its closing quote), or
 * -1 when it is not a body `JSON.parse` would accept: a raw control character, an unknown escape,
 * or no closing quote. Bytes ≥ 0x80 are UTF-8 and fine anywhere in a string.
 */
export function stringBodyEnd(bytes: string, start: number): number {
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes.charCodeAt(i)
    if (byte === QUOTE) return i
    if (byte < 0x20) return -1
    if (byte === BACKSLASH) {
      const next = bytes.charCodeAt(++i)
      if (next === LOWER_U) {
        if (!HEX4.test(bytes.slice(i + 1, i + 5))) return -1
        i += 4
      } else if (!SIMPLE_ESCAPES.has(next)) return -1
    }
  }
  return -1
}

/** A byte string as the UTF-8 text it holds. */
function utf8(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
