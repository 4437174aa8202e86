/**
 * A loopback server that replays the llama-server recordings byte for byte: the recorded
 * headers, then `NAME.response.txt` written on the raw socket (it keeps the HTTP chunked
 * framing). `splitEvery` writes the body in pieces of that many bytes with a pause between
 * them, so SSE events and UTF-8 characters are split across reads.
 */
import { readFileSync } from 'node:fs'
import { type Socket, createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

export const FIXTURES = fileURLToPath(new URL('../fixtures/llamacpp/', import.meta.url))

export function fixture(name: string): Buffer {
  return readFileSync(`${FIXTURES}${name}`)
}

export interface ReplayOptions {
  splitEvery?: number
  pauseMs?: number
}

export interface ReplayServer {
  /** Base URL ending in /v1. */
  url: string
  /** Request lines, headers and bodies received, in order. */
  requests: { line: string; head: string; body: string }[]
  close(): Promise<void>
}

/**
 * Serves one recording (`NAME.headers.txt` + `NAME.response.txt`) for every request, or the one
 * a function picks by path (null: 404).
 */
export async function startReplayServer(
  name: string | ((path: string) => string | null),
  options: ReplayOptions = {}
): Promise<ReplayServer> {
  const requests: { line: string; head: string; body: string }[] = []
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    readRequests(socket, async (line, head, body) => {
      requests.push({ line, head, body })
      const path = line.split(' ')[1] ?? '/'
      const recording = typeof name === 'string' ? name : name(path)
      await replay(socket, recording, options)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

const NOT_FOUND =
  'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nServer: llama.cpp\r\n\r\nNot Found'

async function replay(socket: Socket, name: string | null, options: ReplayOptions): Promise<void> {
  if (name === null) {
    socket.write(NOT_FOUND)
    return
  }
  const headers = fixture(`${name}.headers.txt`)
  const body = fixture(`${name}.response.txt`)
  socket.write(headers)
  const step = options.splitEvery ?? body.length
  for (let offset = 0; offset < body.length; offset += step) {
    if (socket.destroyed) return
    socket.write(body.subarray(offset, offset + step))
    if (offset + step < body.length && options.splitEvery !== undefined) {
      // pauseMs 0 yields to the event loop only; reads may then merge, which is fine.
      await (options.pauseMs ? delay(options.pauseMs) : new Promise(setImmediate))
    }
  }
}

/** Minimal HTTP/1.1 request reader: headers, then a Content-Length body; keep-alive. */
function readRequests(
  socket: Socket,
  onRequest: (line: string, head: string, body: string) => Promise<void>
): void {
  let buffered = Buffer.alloc(0)
  let busy = Promise.resolve()
  socket.on('data', data => {
    buffered = Buffer.concat([buffered, data])
    for (;;) {
      const headerEnd = buffered.indexOf('\r\n\r\n')
      if (headerEnd === -1) return
      const head = buffered.subarray(0, headerEnd).toString('latin1')
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
      const total = headerEnd + 4 + length
      if (buffered.length < total) return
      const body = buffered.subarray(headerEnd + 4, total).toString('utf8')
      buffered = buffered.subarray(total)
      const line = head.split('\r\n')[0]
      busy = busy.then(() => onRequest(line, head, body))
    }
  })
}
