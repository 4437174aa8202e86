/** Plain-fetch helpers for talking to the simulated server in tests (no engine code). */

/** The parts of a chunk, completion or error body the tests look at. */
export interface Chunk {
  id?: string
  object?: string
  model?: string
  system_fingerprint?: string
  choices?: {
    index?: number
    delta?: { role?: string; content?: string }
    message?: { role?: string; content?: string }
    finish_reason?: string | null
  }[]
  usage?: Record<string, number>
  timings?: Record<string, number>
  error?: { code?: number; message?: string; type?: string }
  code?: number
  message?: string
  type?: string
}

export interface SseEvent {
  /** The SSE field name of the event's line: `data` normally, `error` for llama.cpp stream errors. */
  field: string
  value: string
  /** `value` parsed as JSON, or null for `[DONE]` and other non-JSON values. */
  json: Chunk | null
}

export interface StreamResult {
  status: number
  headers: Headers
  events: SseEvent[]
  /** JSON data events, in order. */
  chunks: Chunk[]
  done: boolean
  text: string
  /** Milliseconds from sending to the first content-bearing chunk, and to the end. */
  firstContentMs: number | null
  totalMs: number
  /** True when the body ended with an error (connection cut). */
  cut: boolean
}

export const PROMPT = [{ role: 'user', content: 'Tell me a story about a cat.' }]

export function chatBody(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: 'my-model', messages: PROMPT, ...extra })
}

export async function post(
  baseUrl: string,
  body: string,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {}
): Promise<Response> {
  return fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...init.headers },
    body,
    signal: init.signal
  })
}

export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .map(block => block.trim())
    .filter(block => block.length > 0)
    .map(block => {
      const colon = block.indexOf(':')
      const field = block.slice(0, colon)
      const value = block.slice(colon + 1).trim()
      return { field, value, json: parseJson(value) }
    })
}

function parseJson(value: string): Chunk | null {
  try {
    return JSON.parse(value)
  } catch {
    return null
  }
}

function hasContent(chunk: Chunk): boolean {
  const content = chunk.choices?.[0]?.delta?.content
  return typeof content === 'string' && content.length > 0
}

/** Sends a streamed request and reads the whole stream, stamping the first content chunk. */
export async function stream(
  baseUrl: string,
  extra: Record<string, unknown> = {},
  init: { headers?: Record<string, string>; body?: string } = {}
): Promise<StreamResult> {
  const started = performance.now()
  const res = await post(baseUrl, init.body ?? chatBody({ stream: true, ...extra }), init)
  const decoder = new TextDecoder()
  let text = ''
  let firstContentMs: number | null = null
  let cut = false
  try {
    for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(bytes, { stream: true })
      if (firstContentMs === null && parseSse(text).some(e => e.json && hasContent(e.json))) {
        firstContentMs = performance.now() - started
      }
    }
  } catch {
    cut = true
  }
  const events = parseSse(text)
  return {
    status: res.status,
    headers: res.headers,
    events,
    chunks: events.filter(e => e.field === 'data' && e.json).map(e => e.json!),
    done: events.some(e => e.value === '[DONE]'),
    text,
    firstContentMs,
    totalMs: performance.now() - started,
    cut
  }
}

export function contentOf(chunks: Chunk[]): string {
  return chunks.map(c => c.choices?.[0]?.delta?.content ?? '').join('')
}

export function finishReasonOf(chunks: Chunk[]): string | null {
  for (const chunk of chunks) {
    const reason = chunk.choices?.[0]?.finish_reason
    if (reason) return reason
  }
  return null
}

export function usageOf(chunks: Chunk[]): Record<string, number> | null {
  return chunks.find(c => c.usage)?.usage ?? null
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Polls until `check` passes (it throws until then), failing after `timeoutMs`. */
export async function waitFor(check: () => void, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    try {
      check()
      return
    } catch (error) {
      if (performance.now() > deadline) throw error
      await sleep(10)
    }
  }
}
