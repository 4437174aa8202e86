import { describe, expect, it } from '@jest/globals'

import {
  answerLength,
  answerTokens,
  countPromptTokens,
  decodeStepMs,
  mulberry32,
  naturalOutputTokens,
  planCompletion,
  prefillMs,
  type TimingKnobs
} from '../../src/sim/model.js'
import { DEFAULT_SIM_OPTIONS, resolveSimOptions } from '../../src/sim/options.js'

const knobs: TimingKnobs = {
  prefillMsPerToken: 0.2,
  decodeMsPerToken: 15,
  batchSlowdownPerSeq: 0.08,
  runSpeedFactor: 1,
  slowdown: 1,
  prefillSlowdown: 1,
  decodeSlowdown: 1
}

describe('the timing model', () => {
  it.each([
    { change: {}, active: 1, step: 15 },
    { change: {}, active: 6, step: 15 * 1.4 },
    { change: { slowdown: 2 }, active: 1, step: 30 },
    { change: { decodeSlowdown: 1.5 }, active: 1, step: 22.5 },
    { change: { prefillSlowdown: 3 }, active: 1, step: 15 },
    { change: { runSpeedFactor: 0.5 }, active: 3, step: 7.5 * 1.16 }
  ])(
    'gives a decode step of $step ms with $active active and $change',
    ({ change, active, step }) => {
      expect(decodeStepMs({ ...knobs, ...change }, active)).toBeCloseTo(step, 9)
    }
  )

  it.each([
    { change: {}, tokens: 100, ms: 20 },
    { change: { slowdown: 2 }, tokens: 100, ms: 40 },
    { change: { prefillSlowdown: 3 }, tokens: 10, ms: 6 },
    { change: { decodeSlowdown: 3 }, tokens: 10, ms: 2 }
  ])('gives a prefill of $ms ms for $tokens tokens with $change', ({ change, tokens, ms }) => {
    expect(prefillMs({ ...knobs, ...change }, tokens)).toBeCloseTo(ms, 9)
  })
})

describe('answer lengths', () => {
  it.each([
    { natural: 200, maxTokens: 512, ignoreEos: false, tokens: 200, reason: 'stop' },
    { natural: 200, maxTokens: 200, ignoreEos: false, tokens: 200, reason: 'stop' },
    { natural: 200, maxTokens: 32, ignoreEos: false, tokens: 32, reason: 'length' },
    { natural: 200, maxTokens: null, ignoreEos: false, tokens: 200, reason: 'stop' },
    { natural: 20, maxTokens: 32, ignoreEos: true, tokens: 32, reason: 'length' }
  ])(
    'ends a natural $natural-token answer with max_tokens $maxTokens (ignore_eos $ignoreEos) after $tokens tokens by $reason',
    ({ natural, maxTokens, ignoreEos, tokens, reason }) => {
      expect(answerLength(natural, maxTokens, ignoreEos)).toEqual({
        outputTokens: tokens,
        finishReason: reason
      })
    }
  )

  it('draws natural lengths whose mean is near outputTokensMean and which vary', () => {
    const rng = mulberry32(7)
    const lengths = Array.from({ length: 4000 }, () => naturalOutputTokens(rng, 200))
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length
    expect(mean).toBeGreaterThan(185)
    expect(mean).toBeLessThan(215)
    expect(Math.min(...lengths)).toBeLessThan(100)
    expect(Math.max(...lengths)).toBeGreaterThan(400)
  })

  it('gives the same answer for the same request seed and prompt, whatever the server seed', () => {
    const input = {
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      maxTokens: null,
      requestSeed: 42,
      ignoreEos: false,
      stream: true
    }
    const first = planCompletion({ ...DEFAULT_SIM_OPTIONS, seed: 1 }, input, mulberry32(1))
    const second = planCompletion({ ...DEFAULT_SIM_OPTIONS, seed: 2 }, input, mulberry32(2))
    expect(second.outputTokens).toBe(first.outputTokens)
    expect(answerTokens(second.textSeed, 20)).toEqual(answerTokens(first.textSeed, 20))
  })

  it('gives different answers to different prompts or request seeds', () => {
    const lengthOf = (content: string, requestSeed: number) =>
      planCompletion(
        DEFAULT_SIM_OPTIONS,
        {
          messages: [{ role: 'user', content }],
          maxTokens: null,
          requestSeed,
          ignoreEos: false,
          stream: true
        },
        mulberry32(1)
      ).outputTokens
    const lengths = new Set([
      lengthOf('a', 1),
      lengthOf('b', 1),
      lengthOf('c', 1),
      lengthOf('a', 2),
      lengthOf('a', 3)
    ])
    expect(lengths.size).toBeGreaterThan(2)
  })
})

describe('prompt accounting', () => {
  it.each([
    { messages: [{ role: 'user', content: 'hello world' }], tokens: 2 + 4 + 3 },
    {
      messages: [
        { role: 'system', content: 'You are ChatGPT, an AI assistant.' },
        { role: 'user', content: 'hi' }
      ],
      tokens: 8 + 1 + 2 * 4 + 3
    },
    {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'one two three' }] }],
      tokens: 3 + 4 + 3
    }
  ])('counts $tokens prompt tokens for $messages', ({ messages, tokens }) => {
    expect(countPromptTokens(messages)).toBe(tokens)
  })
})

describe('option resolution', () => {
  it.each([
    { options: { slots: 0 }, message: "'slots' must be an integer >= 1" },
    { options: { timeScale: 0 }, message: "'timeScale' must be a number > 0" },
    { options: { errorRate: 1.5 }, message: "'errorRate' must be a number >= 0 and <= 1" },
    { options: { errorStatus: 404 as 429 }, message: "'errorStatus' must be one of 429, 500, 503" },
    { options: { flavor: 'tgi' as 'openai' }, message: "'flavor' must be one of llamacpp, openai" }
  ])('rejects $options naming the option', ({ options, message }) => {
    expect(() => resolveSimOptions(options)).toThrow(message)
  })

  it('keeps the defaults for options given as undefined', () => {
    expect(resolveSimOptions({ slots: undefined }).slots).toBe(DEFAULT_SIM_OPTIONS.slots)
  })
})
