import { describe, expect, it } from '@jest/globals'

import { endpointUrl } from '../../src/engine/endpoint.js'
import { startSimServer } from '../../src/sim/server.js'
import { performance } from 'node:perf_hooks'

import { StreamClient } from '../../src/engine/client.js'
import { buildRequestBody } from '../../src/engine/request-body.js'
import { requestSettings } from '../helpers/engine.js'

describe('endpointUrl', () => {
  it.each([
    ['http://h:8080/v1', 'chat/completions', 'http://h:8080/v1/chat/completions'],
    ['http://h:8080/v1/', 'chat/completions', 'http://h:8080/v1/chat/completions'],
    ['http://h/v1?api-version=2024-06', 'models', 'http://h/v1/models?api-version=2024-06'],
    [
      'https://gw.example/openai/v1?key=abc',
      '/chat/completions',
      'https://gw.example/openai/v1/chat/completions?key=abc'
    ]
  ])('puts %s + %s together as %s', (base, route, expected) => {
    expect(endpointUrl(base, route).href).toBe(expected)
  })
})

describe('a server URL with a query', () => {
  it('reaches the chat completions route and keeps the query', async () => {
    const sim = await startSimServer({ timeScale: 20 })
    try {
      const settings = requestSettings(`${sim.url}?tenant=a`, { maxTokens: 8 })
      const client = new StreamClient(settings, { origin: performance.now(), connections: 1 })
      const body = JSON.stringify(buildRequestBody(settings, 'Tell me a story.'))
      const meta = { id: 0, vu: 0, promptIndex: 0, phase: 'measured' as const, scheduledAt: null }
      const record = await client.send(body, meta).record
      await client.close()
      expect(record.error).toBeNull()
      expect(record.finishReason).toBe('length')
    } finally {
      await sim.close()
    }
  })
})
