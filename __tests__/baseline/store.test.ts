import { describe, expect, it } from '@jest/globals'
import {
  BASELINE_SCHEMA,
  BASELINE_SCHEMA_VERSION,
  appendRun,
  baselineRunFromResults,
  parseBaselineFile,
  roundSignificant,
  type BaselineFile,
  type BaselineRun
} from '../../src/baseline/store.js'
import { DEFAULT_SETTINGS } from '../../src/config/settings.js'
import type { RequestRecord } from '../../src/engine/record.js'
import { summarize } from '../../src/metrics/summary.js'
import {
  RESULTS_SCHEMA,
  RESULTS_SCHEMA_VERSION,
  type ResultsFile
} from '../../src/results/schema.js'

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return {
    id: 0,
    vu: 0,
    promptIndex: 0,
    phase: 'measured',
    scheduledAt: null,
    sentAt: 0,
    firstTokenAt: 123.456,
    lastTokenAt: 1100,
    endAt: 1100,
    status: 200,
    promptTokens: 50,
    completionTokens: 11,
    completionTokensEstimated: false,
    chunks: 12,
    tokenChunks: 11,
    interTokenMs: [10, 20, 33],
    finishReason: 'length',
    error: null,
    model: 'm',
    systemFingerprint: null,
    timings: null,
    ...overrides
  }
}

const requests = [
  record({ phase: 'warmup', firstTokenAt: 999 }),
  record({}),
  record({ finishReason: 'stop', interTokenMs: [] }),
  record({ error: { class: 'http', message: 'x' }, firstTokenAt: null }),
  record({ error: { class: 'cut-by-run-end', message: 'x' }, firstTokenAt: null })
]

const runner = {
  os: 'linux',
  arch: 'x64',
  cpu: 'EPYC',
  cores: 4,
  memoryBytes: 1,
  node: '24',
  gpu: null
}

function results(overrides: Partial<ResultsFile> = {}): ResultsFile {
  return {
    schema: RESULTS_SCHEMA,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'llm-bench', version: '0.1.0' },
    status: 'completed',
    reason: null,
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:10:00.000Z',
    settings: DEFAULT_SETTINGS,
    fingerprint: { hash: 'aaaa', fields: { 'max-tokens': 512 } },
    dataset: null,
    server: { url: 'u', models: [], model: null, systemFingerprint: null, software: null },
    runner,
    requests,
    summary: summarize(requests, []),
    warnings: [],
    ...overrides
  }
}

describe('roundSignificant', () => {
  it.each([
    [123.456, 123.5],
    [0.0012346, 0.001235],
    [98765, 98770],
    [0, 0]
  ])('rounds %d to %d', (value, expected) => {
    expect(roundSignificant(value)).toBe(expected)
  })
})

describe('baselineRunFromResults', () => {
  const run = baselineRunFromResults(results(), { commit: 'c1', ref: 'refs/heads/main' })

  it('keeps rounded per-request values of successful measured requests only', () => {
    expect(run.samples.ttft).toEqual([123.5, 123.5])
    expect(run.samples.prompt_tokens).toEqual([50, 50])
    // mean gap of the first success (21); the second has no gaps
    expect(run.samples.itl).toEqual([21])
  })

  it('counts what the rate tests need', () => {
    expect(run.samples.counts).toEqual({
      measured: 4,
      failed: 1,
      cut: 1,
      succeeded: 2,
      truncated: 1,
      stopped: 1
    })
  })

  it('carries the commit, ref, date, runner and summary', () => {
    expect(run).toMatchObject({
      commit: 'c1',
      ref: 'refs/heads/main',
      date: '2025-01-01T00:00:00.000Z',
      runner
    })
    expect(run.summary.requests.succeeded).toBe(2)
  })
})

describe('appendRun', () => {
  const fingerprint = { hash: 'aaaa', fields: {} }
  const runs = ['2025-01-01', '2025-01-02', '2025-01-03'].map(
    date =>
      ({ ...baselineRunFromResults(results(), { commit: date, ref: null }), date }) as BaselineRun
  )

  it('starts a file when there is none', () => {
    const { file, note } = appendRun(null, 'main', fingerprint, runs[0], 5)
    expect(file).toMatchObject({
      schema: BASELINE_SCHEMA,
      schemaVersion: BASELINE_SCHEMA_VERSION,
      name: 'main',
      fingerprint
    })
    expect(file.runs).toEqual([runs[0]])
    expect(note).toBeNull()
  })

  it('keeps the last `history` runs, oldest first', () => {
    let file: BaselineFile | null = null
    for (const run of runs) file = appendRun(file, 'main', fingerprint, run, 2).file
    expect(file?.runs.map(run => run.date)).toEqual(['2025-01-02', '2025-01-03'])
  })

  it('starts a new history, and says so, when the settings changed', () => {
    const old = appendRun(
      appendRun(null, 'main', fingerprint, runs[0], 5).file,
      'main',
      fingerprint,
      runs[1],
      5
    ).file
    const { file, note } = appendRun(old, 'main', { hash: 'bbbb', fields: {} }, runs[2], 5)
    expect(file.runs.map(run => run.date)).toEqual(['2025-01-03'])
    expect(file.fingerprint.hash).toBe('bbbb')
    expect(note).toBe(
      "The baseline 'main' was made with other settings (fingerprint aaaa, now bbbb): its 2 run(s) were dropped and a new history starts with this run."
    )
  })

  it.each([0, -1, 1.5])('rejects a history of %d runs', history => {
    expect(() => appendRun(null, 'main', fingerprint, runs[0], history)).toThrow(
      `'history' must be a whole number of runs, at least 1 but got '${history}'`
    )
  })
})

describe('parseBaselineFile', () => {
  const baseline = appendRun(
    null,
    'main',
    { hash: 'aaaa', fields: {} },
    baselineRunFromResults(results(), { commit: null, ref: null }),
    3
  ).file

  it('reads a baseline file back', () => {
    expect(parseBaselineFile(JSON.stringify(baseline), 'b.json')).toEqual(baseline)
  })

  it('turns a results file into a one-run baseline', () => {
    const file = parseBaselineFile(JSON.stringify(results()), 'r.json')
    expect(file.fingerprint.hash).toBe('aaaa')
    expect(file.runs).toHaveLength(1)
    expect(file.runs[0].samples.counts.succeeded).toBe(2)
  })

  it.each([
    ['not JSON', '{"schema":', /^b\.json is not valid JSON: /],
    [
      'another schema',
      '{"schema":"k6/summary"}',
      "b.json must be an llm-bench baseline ('llm-bench/baseline') or results ('llm-bench/results') file but its schema is 'k6/summary'"
    ],
    ['a JSON array', '[]', "its schema is 'undefined'"],
    [
      'a newer baseline',
      JSON.stringify({ ...baseline, schemaVersion: 2 }),
      'b.json is a baseline file of schema version 2, newer than this llm-bench reads (1): upgrade llm-bench'
    ],
    [
      'an older baseline',
      JSON.stringify({ ...baseline, schemaVersion: 0 }),
      'b.json is a baseline file of schema version 0, older than this llm-bench reads (1)'
    ],
    [
      'a newer results file',
      JSON.stringify({ ...results(), schemaVersion: 7 }),
      'b.json is a results file of schema version 7, newer than this llm-bench reads (1)'
    ],
    [
      'runs that are not runs',
      JSON.stringify({ ...baseline, runs: [{}] }),
      "b.json: the baseline file's runs must be a list of runs with summary and samples, but run 1 is not"
    ]
  ])('rejects %s, naming the file', (_name, text, message) => {
    expect(() => parseBaselineFile(text, 'b.json')).toThrow(message)
  })
})
