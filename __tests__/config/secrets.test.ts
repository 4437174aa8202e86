import { describe, expect, it } from '@jest/globals'

import {
  scrubDeep,
  scrubText,
  scrubbingLogger,
  secretsOf,
  secretsOfUrl
} from '../../src/config/secrets.js'
import { DEFAULT_SETTINGS, redactSettings, type BenchSettings } from '../../src/config/settings.js'
import { MemoryLogger } from '../../src/log.js'

function settings(request: Partial<BenchSettings['request']>, source?: string): BenchSettings {
  return {
    ...DEFAULT_SETTINGS,
    dataset: { ...DEFAULT_SETTINGS.dataset, source: source ?? DEFAULT_SETTINGS.dataset.source },
    request: { ...DEFAULT_SETTINGS.request, ...request }
  }
}

describe('secretsOf', () => {
  it('lists the key, header values, URL passwords and query values, longest first', () => {
    const secrets = secretsOf(
      settings(
        {
          serverUrl: 'http://user:hunter2@127.0.0.1:18080/v1?token=secret123',
          apiKey: 'sk-SECRET',
          headers: { 'X-Tenant': 'tenant-456', Authorization: 'Bearer hdr-token' }
        },
        'http://ds:pw%40word@127.0.0.1/ok.json?sig=tok-signed'
      )
    )
    expect(secrets).toEqual(
      expect.arrayContaining([
        'sk-SECRET',
        'tenant-456',
        'Bearer hdr-token',
        'hdr-token',
        'hunter2',
        'secret123',
        'pw%40word',
        'pw@word',
        'tok-signed'
      ])
    )
    expect(secrets).not.toContain('user')
    const lengths = secrets.map(secret => secret.length)
    expect(lengths).toEqual([...lengths].sort((a, b) => b - a))
  })

  it('treats a lone username as a token, and ignores values under 4 characters', () => {
    expect(secretsOfUrl('https://ghp_token123@127.0.0.1/x.json')).toEqual(['ghp_token123'])
    expect(secretsOfUrl('http://127.0.0.1/v1?v=1&api-version=2024-02-01')).toEqual(['2024-02-01'])
    expect(secretsOfUrl('data/sharegpt.json')).toEqual([])
    expect(secretsOf(settings({ apiKey: 'abc', headers: { X: 'no' } }))).toEqual([])
  })
})

describe('scrubText', () => {
  it('replaces every occurrence, a longer secret before the one it contains', () => {
    const secrets = ['Bearer sk-SECRET', 'sk-SECRET']
    expect(scrubText('bad key sk-SECRET (Authorization: Bearer sk-SECRET)', secrets)).toBe(
      'bad key *** (Authorization: ***)'
    )
    expect(scrubText('nothing here', secrets)).toBe('nothing here')
  })

  it('scrubs strings at any depth and leaves numbers alone', () => {
    const value = { a: ['x sk-SECRET'], b: { c: 'sk-SECRET' }, n: 1234 }
    expect(scrubDeep(value, ['sk-SECRET', '1234'])).toEqual({
      a: ['x ***'],
      b: { c: '***' },
      n: 1234
    })
  })
})

describe('scrubbingLogger', () => {
  it('scrubs every message and group title', async () => {
    const memory = new MemoryLogger()
    const log = scrubbingLogger(memory, ['hunter2'])
    log.info('i hunter2')
    log.debug('d hunter2')
    log.warning('w hunter2')
    expect(await log.group('g hunter2', () => Promise.resolve(7))).toBe(7)
    expect(memory.text()).toBe('i ***\nd ***\nw ***')
  })
})

describe('redactSettings', () => {
  it('redacts the key, the header values and the URLs', () => {
    const redacted = redactSettings(
      settings(
        {
          serverUrl: 'http://user:hunter2@127.0.0.1:18080/v1?token=secret123',
          apiKey: 'sk-SECRET',
          headers: { 'X-Tenant': 'tenant-456' }
        },
        'http://user:pw@127.0.0.1/ok.json?sig=tok'
      )
    )
    expect(redacted.request.serverUrl).toBe('http://***@127.0.0.1:18080/v1?token=***')
    expect(redacted.dataset.source).toBe('http://***@127.0.0.1/ok.json?sig=***')
    expect(redacted.request.apiKey).toBe('***')
    expect(redacted.request.headers).toEqual({ 'X-Tenant': '***' })
  })
})
