/**
 * The settings gateway shared by the CLI and the action: raw text in, typed settings out, and
 * every bad value rejected with the input's name, the value and the rule.
 */
import { describe, expect, it } from '@jest/globals'

import {
  checkSettings,
  parseDuration,
  parseSettings,
  type RawSettings
} from '../../src/config/parse.js'
import { DEFAULT_SETTINGS } from '../../src/config/settings.js'

describe('parseSettings', () => {
  it('gives the k6 script’s defaults for absent and empty values', () => {
    expect(parseSettings({})).toEqual(DEFAULT_SETTINGS)
    expect(parseSettings({ concurrency: '', duration: '  ' })).toEqual(DEFAULT_SETTINGS)
  })

  it.each([
    [{ duration: '90s' }, (s: ReturnType<typeof parseSettings>) => s.load.durationMs, 90_000],
    [{ duration: '1m30s' }, s => s.load.durationMs, 90_000],
    [{ 'think-time': '300ms' }, s => s.load.thinkTimeMs, 300],
    [{ rate: '2.5' }, s => s.load.rate, 2.5],
    [{ 'abort-truncated-rate': '50%' }, s => s.load.abortTruncatedRate, 0.5],
    [{ seed: 'none' }, s => s.request.seed, null],
    [{ stop: 'none' }, s => s.request.stop, []],
    [{ stop: '</s>\n<|eot_id|>' }, s => s.request.stop, ['</s>', '<|eot_id|>']],
    [
      { headers: 'X-A: 1\nX-B: two words' },
      s => s.request.headers,
      { 'X-A': '1', 'X-B': 'two words' }
    ],
    [{ 'server-url': 'http://h:8000/v1/' }, s => s.request.serverUrl, 'http://h:8000/v1'],
    [{ 'extra-body': '{"temperature": 0}' }, s => s.request.extraBody, { temperature: 0 }]
  ] as [RawSettings, (s: ReturnType<typeof parseSettings>) => unknown, unknown][])(
    'reads %j',
    (raw, pick, expected) => {
      expect(pick(parseSettings(raw))).toEqual(expected)
    }
  )

  it.each([
    [
      { concurrency: 'eight' },
      "'concurrency' must be a whole number from 0 to 10000 but got 'eight'"
    ],
    [
      { concurrency: '100000' },
      "'concurrency' must be a whole number from 0 to 10000 but got '100000'"
    ],
    [{ 'n-prompts': '0' }, "'n-prompts' must be a whole number of at least 1 but got '0'"],
    [{ duration: '10 minutes' }, "'duration' must be a positive duration of at most 24h"],
    [{ duration: '600h' }, "'duration' must be a positive duration of at most 24h"],
    [{ 'think-time': '-5s' }, "'think-time' must be a duration of at most 24h"],
    [{ rate: '0.0000001' }, "'rate' must be 0 (closed loop) or at least 0.001 requests/s"],
    [{ rate: 'Infinity' }, "'rate' must be a number of at least 0 but got 'Infinity'"],
    [{ 'abort-error-rate': '2' }, "'abort-error-rate' must be a fraction from 0 to 1"],
    [{ 'server-url': 'localhost:8080' }, "'server-url' must be an http(s) URL"],
    [{ 'server-url': 'ftp://h/v1' }, "'server-url' must be an http(s) URL"],
    [{ 'dataset-sha256': 'abc' }, "'dataset-sha256' must be a SHA-256 digest of 64 hexadecimal"],
    [{ 'extra-body': '[1]' }, "'extra-body' must be a JSON object"],
    [
      { 'extra-body': '{"stream": false}' },
      "'extra-body' must be a JSON object without 'stream' (the benchmark always streams)"
    ],
    [{ 'extra-body': '{"max_tokens": 1}' }, "without 'max_tokens' (set it with 'max-tokens')"],
    [{ stop: '[1]' }, "'stop' must be a JSON array of strings"],
    [{ headers: 'no colon here' }, "'headers' must be one 'Header-Name: value' per line"]
  ] as [RawSettings, string][])('rejects %j', (raw, message) => {
    expect(() => parseSettings(raw)).toThrow(message)
  })

  it('never shows a header value in its message, since it may be a secret', () => {
    expect(() => parseSettings({ headers: 'Bad Name: sk-secret' })).toThrow(
      "'headers' must be one 'Header-Name: value' per line but got 'Bad Name: ***'"
    )
  })
})

describe('checkSettings', () => {
  it('rejects a prompt limit above the context', () => {
    const settings = parseSettings({ 'max-prompt-tokens': '4096' })
    expect(() => checkSettings(settings)).toThrow(
      "'max-prompt-tokens' must be at most 'max-context' (2048) but got '4096'"
    )
  })

  it('rejects a closed loop without users', () => {
    expect(() => checkSettings(parseSettings({ concurrency: '0' }))).toThrow(
      "'concurrency' must be at least 1 in a closed-loop run"
    )
  })

  it('accepts an open loop without a cap', () => {
    expect(checkSettings(parseSettings({ concurrency: '0', rate: '5' })).load.rate).toBe(5)
  })
})

describe('parseDuration', () => {
  it.each([
    ['90', 90_000],
    ['1500ms', 1500],
    ['1h', 3_600_000],
    ['0.5s', 500],
    ['1m 30s', null],
    ['', null],
    ['s', null]
  ])('reads %j as %j ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected)
  })
})
