/**
 * `sentAt` is when undici writes the request (onRequestStart), so waiting for a connection on
 * the client is not part of TTFT or latency; a request never written keeps its dispatch time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import { type RequestMeta, StreamClient } from '../../src/engine/client.js'
import {
  type TestServer,
  chunk,
  requestSettings,
  startHttpServer,
  writeSse
} from '../helpers/engine.js'

const meta = (id: number): RequestMeta => ({
  id,
  vu: null,
  promptIndex: 0,
  phase: 'measured',
  scheduledAt: null
})

const BODY = [chunk({ content: 'a' }), chunk({ content: 'b' }), chunk({}, 'stop')]
  .map(event => `data: ${event}\n\n`)
  .concat('data: [DONE]\n\n')

let server: TestServer

beforeAll(async () => {
  // Each response takes about 60 ms: 30 pauses of 2 ms.
  server = await startHttpServer(async (req, res) => {
    await writeSse(res, [...Array.from({ length: 30 }, () => ': wait\n\n'), ...BODY])
  })
})

afterAll(async () => server.close())

describe('sentAt', () => {
  it('excludes the time a request waits for the one connection', async () => {
    const client = new StreamClient(requestSettings(server.url), {
      origin: performance.now(),
      connections: 1
    })
    try {
      const dispatchedAt = client.now()
      const [first, second] = await Promise.all([
        client.send('{}', meta(0)).record,
        client.send('{}', meta(1)).record
      ])
      expect([first.error, second.error]).toEqual([null, null])
      // The second is written once the first response has ended, on the same socket.
      expect(second.sentAt).toBeGreaterThanOrEqual(first.endAt)
      expect(second.sentAt - dispatchedAt).toBeGreaterThan(40)
    } finally {
      await client.close()
    }
  })

  it('is the dispatch time of a request that was never written (connection refused)', async () => {
    const port = await freePort()
    const client = new StreamClient(requestSettings(`http://127.0.0.1:${port}/v1`), {
      origin: performance.now(),
      connections: 1
    })
    try {
      const before = client.now()
      const record = await client.send('{}', meta(0)).record
      expect(record.error?.class).toBe('connection')
      expect(record.sentAt).toBeGreaterThanOrEqual(before)
      expect(record.sentAt).toBeLessThanOrEqual(record.endAt)
    } finally {
      await client.close()
    }
  })
})

/** A loopback port nothing listens on (just closed). */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const address = probe.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  await new Promise<void>(resolve => probe.close(() => resolve()))
  return port
}
