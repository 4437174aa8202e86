import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { DEFAULT_SETTINGS } from '../../src/config/settings.js'
import {
  PromptFilter,
  formatStages,
  lastDroppingStage,
  type FilterSettings
} from '../../src/dataset/filters.js'

const DEFAULTS: FilterSettings = DEFAULT_SETTINGS.dataset
const SAMPLE: unknown[] = JSON.parse(readFileSync('data/sharegpt-v3-sample50.json', 'utf8'))

/** A text of exactly n pseudo-tokens. */
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ')
const convo = (...turns: [string, string][]) => ({
  conversations: turns.map(([from, value]) => ({ from, value }))
})

function run(records: unknown[], settings: Partial<FilterSettings> = {}) {
  const filter = new PromptFilter({ ...DEFAULTS, ...settings })
  for (const record of records) filter.offer(record)
  return {
    prompts: filter.prompts,
    stages: Object.fromEntries(filter.stages().map(s => [s.name, s.kept]))
  }
}

describe('PromptFilter', () => {
  it('keeps 47 of the 50 sample records, the first prompts counting 918, 881, 714, 798 and 654', () => {
    const { prompts, stages } = run(SAMPLE)
    expect(stages).toEqual({
      read: 50,
      minTurns: 50,
      firstFromHuman: 50,
      minTokens: 47,
      maxPromptTokens: 47,
      maxContext: 47,
      nPrompts: 47
    })
    expect(prompts.slice(0, 5).map(p => p.promptTokens)).toEqual([918, 881, 714, 798, 654])
  })

  it('keeps the prompts in file order with both pseudo-token counts', () => {
    const { prompts } = run([convo(['human', 'a b c d'], ['gpt', 'e, f. g? h'])])
    expect(prompts).toEqual([{ prompt: 'a b c d', promptTokens: 4, completionTokens: 7 }])
  })

  // Each case is one record and the stage that must be the last to keep it.
  it.each([
    ['not an object', 'text', 'read'],
    ['null', null, 'read'],
    ['no conversations', { id: 'x' }, 'read'],
    ['conversations not an array', { conversations: 'hi' }, 'read'],
    [
      'a used turn without a string value',
      convo(['human', words(5)], ['gpt', words(5)]).conversations.map((t, i) =>
        i === 1 ? { from: 'gpt' } : t
      ),
      'read'
    ],
    ['one turn only', convo(['human', words(5)]), 'read'],
    ['the first turn from gpt', convo(['gpt', words(5)], ['human', words(5)]), 'minTurns'],
    ['a 3-token prompt', convo(['human', words(3)], ['gpt', words(5)]), 'firstFromHuman'],
    ['a 3-token completion', convo(['human', words(5)], ['gpt', words(3)]), 'firstFromHuman'],
    ['a 1025-token prompt', convo(['human', words(1025)], ['gpt', words(5)]), 'minTokens'],
    [
      'a 1024-token prompt, 1025 completion',
      convo(['human', words(1024)], ['gpt', words(1025)]),
      'maxPromptTokens'
    ],
    [
      'a 1024-token prompt, 1024 completion',
      convo(['human', words(1024)], ['gpt', words(1024)]),
      'nPrompts'
    ]
  ])('lets %s through up to the right stage', (_name, record, lastStage) => {
    const wrapped = Array.isArray(record) ? { conversations: record } : record
    const { stages } = run([wrapped])
    const passed = Object.entries(stages)
      .filter(([, kept]) => kept === 1)
      .map(([name]) => name)
    expect(passed.at(-1)).toBe(lastStage)
  })

  it.each([
    [{ minTurns: 3 }, convo(['human', words(5)], ['gpt', words(5)]), 'read'],
    [{ minTokens: 6 }, convo(['human', words(5)], ['gpt', words(9)]), 'firstFromHuman'],
    [{ maxPromptTokens: 4 }, convo(['human', words(5)], ['gpt', words(5)]), 'minTokens'],
    [{ maxContext: 9 }, convo(['human', words(5)], ['gpt', words(5)]), 'maxPromptTokens'],
    [{ maxContext: 10 }, convo(['human', words(5)], ['gpt', words(5)]), 'nPrompts']
  ])('applies the threshold %j', (settings, record, lastStage) => {
    const { stages } = run([record], settings)
    const passed = Object.entries(stages)
      .filter(([, kept]) => kept === 1)
      .map(([name]) => name)
    expect(passed.at(-1)).toBe(lastStage)
  })

  it('keeps only the first n-prompts and reports when it is full', () => {
    const filter = new PromptFilter({ ...DEFAULTS, nPrompts: 3 })
    for (const record of SAMPLE.slice(0, 3)) filter.offer(record)
    expect(filter.full).toBe(true)
    expect(filter.prompts.map(p => p.promptTokens)).toEqual([918, 881, 714])
    filter.offer(SAMPLE[3])
    expect(filter.stages().at(-1)).toEqual({ name: 'nPrompts', kept: 3 })
    expect(filter.stages()[0]).toEqual({ name: 'read', kept: 4 })
  })
})

describe('lastDroppingStage', () => {
  it.each([
    [[50, 50, 50, 3, 0, 0, 0], 's4'],
    [[2, 0, 0, 0, 0, 0, 0], 's1'],
    [[5, 5, 5, 5, 5, 5, 5], null]
  ])('finds the stage that dropped the last records of %j', (kept, expected) => {
    const stages = kept.map((k, i) => ({ name: `s${i}`, kept: k }))
    expect(lastDroppingStage(stages)?.name ?? null).toBe(expected)
  })
})

describe('formatStages', () => {
  it('names each stage by its input', () => {
    const { stages } = run(SAMPLE)
    const filter = new PromptFilter(DEFAULTS)
    for (const record of SAMPLE) filter.offer(record)
    expect(formatStages(filter.stages())).toBe(
      'read 50 → min-turns 50 → first-from-human 50 → min-tokens 47 → max-prompt-tokens 47 → max-context 47 → n-prompts 47'
    )
    expect(stages.read).toBe(50)
  })
})
