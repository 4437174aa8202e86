import { describe, expect, it } from '@jest/globals'
import type { LoadProgress } from '../../src/engine/load.js'
import { METRICS } from '../../src/metrics/catalog.js'
import {
  renderComparisonTable,
  renderProgressLine,
  renderSettingsBanner,
  renderTerminalSummary,
  renderTextTable
} from '../../src/report/terminal.js'
import { comparison, failedRequest, results, settings } from './fixtures.js'

const progress: LoadProgress = {
  elapsedMs: 83_000,
  sent: 120,
  done: 110,
  errors: 2,
  inFlight: 8,
  ttftMsAvg: 812,
  decodeRateAvg: 35.2,
  phase: 'measured'
}

describe('renderSettingsBanner', () => {
  const secret = settings({
    serverUrl: 'https://user:hunter2@llm.example.com/v1',
    apiKey: 'sk-secret-key-123',
    headers: { 'X-Token': 'hdr-secret-456' },
    extraBody: { temperature: 0 }
  })
  const banner = renderSettingsBanner(secret, results().dataset)

  it('never shows a secret: API key, header values, URL credentials', () => {
    expect(banner).not.toMatch(/sk-secret|hdr-secret|hunter2|user:/)
    expect(banner).toMatch(/API key\s+set/)
    expect(banner).toContain('X-Token (values hidden)')
    expect(banner).toContain('https://***@llm.example.com/v1')
  })

  it('says when no API key is set', () => {
    expect(renderSettingsBanner(settings(), null)).toMatch(/API key\s+not set/)
  })

  it.each([
    ['Model', 'my-model'],
    ['Max tokens', '512'],
    ['Load', 'closed loop: 8 virtual users, think time 300 ms'],
    ['Duration', '10 min'],
    ['Prompts', '480 of 480 wanted'],
    ['Dataset', 'sha256 35f0e213ce09…, from the prepared-prompt cache']
  ])('shows %s', (label, value) => {
    expect(banner).toMatch(
      new RegExp(`${label}\\s+.*${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)
    )
  })

  it('describes an open loop by its rate', () => {
    const open = { ...settings(), load: { ...settings().load, rate: 2.5, concurrency: 0 } }
    expect(renderSettingsBanner(open, null)).toContain(
      'open loop: 2.50 requests/s, Poisson arrivals (seed 1), no cap on requests in flight'
    )
  })
})

describe('renderProgressLine', () => {
  it('shows the measured phase against the duration', () => {
    expect(renderProgressLine(progress, 600_000)).toBe(
      '[measured] 01:23 / 10:00 (13%)  sent 120  done 110  errors 2  in flight 8  TTFT avg 812 ms  decode avg 35.2 tok/s'
    )
  })

  it('shows warmup without an end and missing averages as a dash', () => {
    const line = renderProgressLine(
      { ...progress, phase: 'warmup', ttftMsAvg: null, decodeRateAvg: null },
      600_000
    )
    expect(line).toBe(
      '[warmup] 01:23  sent 120  done 110  errors 2  in flight 8  TTFT avg —  decode avg —'
    )
  })
})

describe('renderTerminalSummary', () => {
  const text = renderTerminalSummary(results())

  it.each(METRICS.map(metric => [metric.title]))('has a row for %s', title => {
    expect(text).toContain(title)
  })

  it('shows every statistic of a distribution in its unit', () => {
    const row = text.split('\n').find(line => line.startsWith('Time to first token ↓')) ?? ''
    expect(row.split(/\s{2,}/)).toEqual([
      'Time to first token ↓',
      '812 ms',
      '406 ms',
      '731 ms',
      '1.22 s',
      '1.38 s',
      '1.71 s',
      '2.03 s',
      '478'
    ])
  })

  it('shows requests, totals and throughput', () => {
    expect(text).toContain('Requests: 480 sent, 478 succeeded, 2 failed (http: 2), 0 cut')
    expect(text).toContain('Tokens: 101,814 prompt, 61,184 completion')
    expect(text).toMatch(/Output tokens per second ↑\s+102 tok\/s/)
  })

  it('gives no verdict when nothing was compared', () => {
    expect(text).not.toContain('Verdict')
  })

  it('shows the warnings of the run', () => {
    const busy = results({ warnings: ['The benchmarking client was a bottleneck (p99 31 ms).'] })
    expect(renderTerminalSummary(busy)).toMatch(/! The benchmarking client was a bottleneck/)
  })

  it('says what happened in a failed run, with the most common errors', () => {
    const failed = results({
      status: 'aborted',
      reason: 'Error rate 60% above the 50% limit.',
      requests: [
        failedRequest(1, 'http', 'HTTP 500\u001b[31m boom'),
        failedRequest(2, 'http', 'HTTP 500\u001b[31m boom')
      ]
    })
    const summary = renderTerminalSummary(failed)
    expect(summary).toContain('The run aborted: Error rate 60% above the 50% limit.')
    expect(summary).toContain('2 × http: HTTP 500 [31m boom')
    expect(summary).not.toContain('\u001b')
    expect(summary).toContain('Status: aborted (Error rate 60% above the 50% limit.)')
  })

  it('compares each gated metric with its baseline, regressions first, and ends on the verdict', () => {
    const compared = renderTerminalSummary(results(), comparison())
    const lines = compared.split('\n')
    const ttft = lines.findIndex(line => line.startsWith('Time to first token p95 ↓'))
    const decode = lines.findIndex(line => line.startsWith('Decode rate median ↑'))
    expect(ttft).toBeGreaterThan(0)
    expect(decode).toBeGreaterThan(ttft)
    expect(lines[ttft]).toMatch(
      /1\.20 s\s+1\.38 s\s+\+15\.0% ▲ worse\s+\+8\.0% … \+22\.0%\s+< 0\.001\s+±3\.1%\s+10% worse\s+✗ regression/
    )
    expect(compared).toContain('99% CI')
    expect(lines.at(-1)).toBe('Verdict: ✗ Regression: Time to first token p95 regressed by 15.0%.')
  })
})

describe('renderComparisonTable', () => {
  it('lists the settings that differ when the runs are not comparable', () => {
    const text = renderComparisonTable(
      comparison({
        verdict: 'not-comparable',
        reason: 'The settings differ from the baseline.',
        metrics: [],
        differences: ['request.maxTokens: 512 → 256']
      })
    )
    expect(text).toContain(
      'Settings that differ from the baseline:\n  - request.maxTokens: 512 → 256'
    )
    expect(text).toContain('Verdict: ! Not comparable: The settings differ from the baseline.')
  })
})

describe('renderTextTable', () => {
  it('pads columns to the widest cell and right-aligns numbers', () => {
    expect(
      renderTextTable(
        ['a', 'n'],
        [
          ['xyz', '1'],
          ['b', '100']
        ],
        ['left', 'right']
      )
    ).toBe(['a      n', '───  ───', 'xyz    1', 'b    100'].join('\n'))
  })
})
