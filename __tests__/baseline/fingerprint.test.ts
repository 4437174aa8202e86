import { describe, expect, it } from '@jest/globals'
import { fingerprintDifferences, settingsFingerprint } from '../../src/baseline/fingerprint.js'
import { DEFAULT_SETTINGS, type BenchSettings } from '../../src/config/settings.js'

function withChange(change: (settings: BenchSettings) => void): BenchSettings {
  const settings = structuredClone(DEFAULT_SETTINGS)
  change(settings)
  return settings
}

describe('settingsFingerprint', () => {
  const base = settingsFingerprint(DEFAULT_SETTINGS, 'ABC123')

  it('is 16 hex characters, stable for the same settings', () => {
    expect(base.hash).toMatch(/^[0-9a-f]{16}$/)
    expect(settingsFingerprint(structuredClone(DEFAULT_SETTINGS), 'abc123').hash).toBe(base.hash)
  })

  it('names the dataset by its SHA-256, or by its source when there is none', () => {
    expect(base.fields.dataset).toBe('sha256:abc123')
    expect(settingsFingerprint(DEFAULT_SETTINGS, null).fields.dataset).toBe(
      DEFAULT_SETTINGS.dataset.source
    )
  })

  it.each([
    ['the server URL', (s: BenchSettings) => void (s.request.serverUrl = 'http://other:9/v1')],
    ['the API key', (s: BenchSettings) => void (s.request.apiKey = 'secret')],
    ['headers', (s: BenchSettings) => void (s.request.headers = { 'X-A': '1' })],
    ['the request timeout', (s: BenchSettings) => void (s.request.requestTimeoutMs = 1)],
    ['the ready timeout', (s: BenchSettings) => void (s.load.readyTimeoutMs = 1)],
    ['the cache dir', (s: BenchSettings) => void (s.dataset.cacheDir = '/tmp/x')],
    ['an abort threshold', (s: BenchSettings) => void (s.load.abortErrorRate = 0.5)]
  ])('ignores %s', (_name, change) => {
    expect(settingsFingerprint(withChange(change), 'abc').hash).toBe(
      settingsFingerprint(DEFAULT_SETTINGS, 'abc').hash
    )
  })

  it('ignores the key order of extra-body, at every depth', () => {
    const ab = withChange(s => void (s.request.extraBody = { a: 1, b: { c: 1, d: 2 } }))
    const ba = withChange(s => void (s.request.extraBody = { b: { d: 2, c: 1 }, a: 1 }))
    expect(settingsFingerprint(ab, null).hash).toBe(settingsFingerprint(ba, null).hash)
  })

  it.each([
    ['model', (s: BenchSettings) => void (s.request.model = 'other')],
    ['n-prompts', (s: BenchSettings) => void (s.dataset.nPrompts = 10)],
    ['max-context', (s: BenchSettings) => void (s.dataset.maxContext = 4096)],
    ['max-tokens', (s: BenchSettings) => void (s.request.maxTokens = 256)],
    ['concurrency', (s: BenchSettings) => void (s.load.concurrency = 1)],
    ['rate', (s: BenchSettings) => void (s.load.rate = 2)],
    ['warmup-requests', (s: BenchSettings) => void (s.load.warmupRequests = 3)],
    ['stop', (s: BenchSettings) => void (s.request.stop = [])],
    ['extra-body', (s: BenchSettings) => void (s.request.extraBody = { top_k: 1 })]
  ])('changes with %s', (field, change) => {
    const changed = settingsFingerprint(withChange(change), 'abc123')
    expect(changed.hash).not.toBe(base.hash)
    expect(fingerprintDifferences(base.fields, changed.fields).map(d => d.split(':')[0])).toEqual([
      field
    ])
  })
})

describe('fingerprintDifferences', () => {
  it.each([
    [{ 'max-tokens': 512 }, { 'max-tokens': 256 }, ['max-tokens: 512 → 256']],
    [{ model: 'a' }, { model: 'b' }, ['model: "a" → "b"']],
    [{ stop: ['x'] }, { stop: [] }, ['stop: ["x"] → []']],
    [{ seed: 1 }, {}, ['seed: 1 → (not set)']],
    [{ 'extra-body': { a: 1, b: 2 } }, { 'extra-body': { b: 2, a: 1 } }, []],
    [
      { 'system-prompt': 'x'.repeat(100) },
      { 'system-prompt': 'y' },
      [`system-prompt: "${'x'.repeat(58)}… → "y"`]
    ]
  ])('lists what differs between %j and %j', (a, b, expected) => {
    expect(fingerprintDifferences(a, b)).toEqual(expected)
  })
})
