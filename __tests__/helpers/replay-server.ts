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
  /** Request lines and bodies received, in order. */
  requests: { line: string; body: string }[]
  close(): Promise<void>
}

/** Serves one recording (`NAME.headers.txt` + `NAME.response.txt`) for every request. */
export async function startReplayServer(
  name: string | ((path: string) => string),
  options: ReplayOptions = {}
): Promise<ReplayServer> {
  const requests: { line: string; body: string }[] = []
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    readRequests(socket, async (line, body) => {
      requests.push({ line, body })
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

async function replay(socket: Socket, name: string, options: ReplayOptions): Promise<void> {
  const headers = fixture(`${name}.headers.txt`)
  const body = fixture(`${name}.response.txt`)
  socket.write(headers)
  const step = options.splitEvery ?? body.length
  for (let offset = 0; offset < body.length; offset += step) {
    if (socket.destroyed) return
    socket.write(body.subarray(offset, offset + step))
    if (offset + step < body.length && options.splitEvery !== undefined) {
      await delay(options.pauseMs ?? 1)
    }
  }
}

/** Minimal HTTP/1.1 request reader: headers, then a Content-Length body; keep-alive. */
function readRequests(
  socket: Socket,
  onRequest: (line: string, body: string) => Promise<void>
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
      busy = busy.then(() => onRequest(line, body))
    }
  })
}
