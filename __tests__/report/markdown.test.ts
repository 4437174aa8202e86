import { describe, expect, it } from '@jest/globals'
import type { Verdict } from '../../src/gate/types.js'
import { METRICS } from '../../src/metrics/catalog.js'
import {
  JOB_SUMMARY_LIMIT_BYTES,
  PR_COMMENT_LIMIT,
  commentMarker,
  flattenSettings,
  markdownTable,
  renderJobSummary,
  renderPrComment,
  type ReportInput
} from '../../src/report/markdown.js'
import { comparison, failedRequest, history, metricComparison, results } from './fixtures.js'

const HOSTILE = 'x|y <img src=x> @octocat'

function input(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    name: 'default',
    results: results(),
    comparison: comparison(),
    history: history(5),
    runUrl: 'https://github.com/o/r/actions/runs/42',
    baselineNote: null,
    ...overrides
  }
}

/** The cells of each row of the Markdown table whose header starts with `header`. */
function tableRows(markdown: string, header: string): string[][] {
  const lines = markdown.split('\n')
  const start = lines.findIndex(line => line.startsWith(`| ${header}`))
  expect(start).toBeGreaterThanOrEqual(0)
  const rows: string[][] = []
  for (const line of lines.slice(start)) {
    if (!line.startsWith('|')) break
    rows.push(
      line
        .replace(/^\||\|$/g, '')
        .split(/(?<!\\)\|/)
        .map(cell => cell.trim())
    )
  }
  return rows
}

describe('commentMarker', () => {
  it('is a hidden HTML comment naming the benchmark', () => {
    expect(commentMarker('default')).toBe('<!-- llm-bench-action: name=default -->')
  })

  it.each(['x --> <script>', 'a--!>b', 'a---b', 'new\nline'])(
    'cannot be closed early by the name %p',
    name => {
      const marker = commentMarker(name)
      const prefix = '<!-- llm-bench-action: name='
      expect(marker.startsWith(prefix)).toBe(true)
      expect(marker.endsWith(' -->')).toBe(true)
      const encoded = marker.slice(prefix.length, -' -->'.length)
      expect(encoded).not.toMatch(/--|[<>\n]/)
    }
  )

  it('tells different names apart', () => {
    expect(commentMarker('a-b')).not.toBe(commentMarker('a_b'))
  })
})

describe('renderJobSummary', () => {
  it('starts with the verdict and its reason', () => {
    const lines = renderJobSummary(input()).split('\n')
    expect(lines[0]).toBe('## ❌ Regression: llm-bench default')
    expect(lines[2]).toBe('Time to first token p95 regressed by 15\\.0%\\.')
  })

  it.each<[Verdict, string]>([
    ['pass', '✅ Pass'],
    ['regression', '❌ Regression'],
    ['no-baseline', '🆕 No baseline'],
    ['not-comparable', '⚠️ Not comparable'],
    ['failed', '💥 Run failed']
  ])('shows the %s verdict with its icon', (verdict, heading) => {
    const markdown = renderJobSummary(input({ comparison: comparison({ verdict }) }))
    expect(markdown.startsWith(`## ${heading}: llm-bench default`)).toBe(true)
  })

  it('names the regressions before the table', () => {
    const markdown = renderJobSummary(input())
    const named = markdown.indexOf(
      '**Regressed:** Time to first token p95 +15.0% ▲ worse (limit 10% worse)'
    )
    expect(named).toBeGreaterThan(0)
    expect(named).toBeLessThan(markdown.indexOf('| Metric'))
  })

  it('has a row per gated metric, regressions first, with every figure of the comparison', () => {
    const rows = tableRows(renderJobSummary(input()), 'Metric | Baseline')
    expect(rows[0]).toEqual([
      'Metric',
      'Baseline',
      'Current',
      'Change',
      '99% CI',
      'p-value',
      'Noise',
      'Limit',
      'Verdict'
    ])
    expect(rows).toHaveLength(4)
    expect(rows[2]).toEqual([
      'Time to first token p95 ↓',
      '1.20 s',
      '1.38 s',
      '+15.0% ▲ worse',
      '+8.0% … +22.0%',
      '< 0.001',
      '±3.1%',
      '10% worse',
      '❌ **regression**: p95 TTFT is 15\\.0% slower, beyond the 10% limit and the 3\\.1% run\\-to\\-run noise\\.'
    ])
    expect(rows[3][0]).toBe('Decode rate median ↑')
    expect(rows[3][8]).toBe('✅ **pass**: No significant change\\.')
  })

  it('shows metrics that are compared but not gated apart', () => {
    const markdown = renderJobSummary(input())
    const rows = tableRows(
      markdown.slice(markdown.indexOf('#### Also compared')),
      'Metric | Baseline'
    )
    expect(rows.map(row => row[0])).toEqual(['Metric', '---', 'Error rate ↓'])
  })

  it('calls a significant worsening of a metric that is not gated "worse", not a regression', () => {
    const worse = metricComparison({
      metric: 'tpot',
      stat: 'med',
      gated: false,
      verdict: 'regression'
    })
    const markdown = renderJobSummary(input({ comparison: comparison({ metrics: [worse] }) }))
    const section = markdown.slice(markdown.indexOf('#### Also compared'))
    expect(section).toContain('worse (not gated)')
    expect(section).not.toContain('regression')
  })

  it('lists every catalog metric of the run', () => {
    const markdown = renderJobSummary(input())
    for (const metric of METRICS) expect(markdown).toContain(`| ${metric.title} `)
    const ttft = tableRows(markdown, 'Metric | average').find(
      row => row[0] === 'Time to first token ↓'
    )
    expect(ttft).toEqual([
      'Time to first token ↓',
      '812 ms',
      '731 ms',
      '1.22 s',
      '1.38 s',
      '1.71 s',
      '478'
    ])
  })

  it('shows the dataset, server and runner facts and the redacted settings', () => {
    const markdown = renderJobSummary(input())
    expect(markdown).toContain(
      '| SHA-256 | `35f0e213ce091ed14c8b4b1dc1b6a8b0fd5ff2b24cb7b1d1d7fd7c1e3ce8b9e2` |'
    )
    expect(markdown).toContain('| Filter stages | read 94,145 → minTurns 90,012 → maxContext 480 |')
    expect(markdown).toContain('| Prepared-prompt cache | used |')
    expect(markdown).toContain('| Fingerprint | `b4567-abcdef` |')
    expect(markdown).toContain('| Software | llama\\.cpp |')
    expect(markdown).toContain('| CPU | AMD EPYC 7763 64\\-Core Processor (4 cores) |')
    expect(markdown).toContain('| Memory | 16.0 GiB |')
    expect(markdown).toContain('| `load.durationMs` | 600,000 (10 min) |')
    expect(markdown).not.toMatch(/sk-secret|hdr-secret/)
  })

  it('draws the trend of each gated metric', () => {
    const markdown = renderJobSummary(input())
    expect(markdown).toContain('title "Time to first token p95 (ms)"')
    expect(markdown).toContain('title "Decode rate median (tok/s)"')
  })

  it('draws TTFT and decode rate when nothing was compared', () => {
    const markdown = renderJobSummary(input({ comparison: null }))
    expect(markdown).toContain('title "Time to first token (ms)"')
    expect(markdown).toContain('title "Decode rate (tok/s)"')
  })

  it('has no chart with a single point', () => {
    expect(renderJobSummary(input({ history: history(1) }))).not.toContain('```mermaid')
  })

  it('raises the warnings: the comparison’s and the run’s', () => {
    const busy = results({
      warnings: [
        'Some completion tokens were estimated.',
        'The benchmarking client was a bottleneck (event-loop lag p99 31 ms).'
      ]
    })
    const markdown = renderJobSummary(
      input({
        results: busy,
        comparison: comparison({ warnings: ['The runner hardware differs from the baseline.'] })
      })
    )
    const warnings = markdown.slice(markdown.indexOf('#### Warnings'))
    expect(warnings).toContain('- ⚠️ Some completion tokens were estimated\\.')
    expect(warnings).toContain('- ⚠️ The runner hardware differs from the baseline\\.')
    expect(warnings).toContain('- ⚠️ The benchmarking client was a bottleneck')
  })

  it.each(['no-baseline', 'not-comparable'] as const)(
    'draws no comparison tables when nothing was compared (%s), only the run’s own metrics',
    verdict => {
      const markdown = renderJobSummary(input({ comparison: comparison({ verdict }) }))
      expect(markdown).not.toContain('| Baseline | Current |')
      expect(markdown).not.toContain('Also compared (not gated)')
      expect(markdown).toContain('#### All metrics of this run')
    }
  )

  it('lists the differing settings of a run that is not comparable', () => {
    const markdown = renderJobSummary(
      input({
        comparison: comparison({
          verdict: 'not-comparable',
          reason: 'The settings differ from the baseline.',
          metrics: [],
          differences: ['request.maxTokens: 512 → 256', 'load.concurrency: 8 → 4']
        })
      })
    )
    expect(markdown).toContain(
      '**Settings that differ from the baseline**, so the runs cannot be compared:\n\n' +
        '- request\\.maxTokens\\: 512 → 256\n- load\\.concurrency\\: 8 → 4'
    )
  })

  it('says what happened in a failed run: status, reason, measured requests, common errors', () => {
    const failed = results({
      status: 'aborted',
      reason: 'Error rate 60% above the 50% limit.',
      requests: [
        failedRequest(1, 'http', 'HTTP 503: <b>busy</b>'),
        failedRequest(2, 'http', 'HTTP 503: <b>busy</b>')
      ]
    })
    const markdown = renderJobSummary(input({ results: failed, comparison: null }))
    expect(
      markdown.startsWith(
        '## 💥 Run failed: llm-bench default\n\nError rate 60% above the 50% limit\\.'
      )
    ).toBe(true)
    expect(markdown).toContain(
      '**The run aborted.** Measured requests: 480 sent, 478 succeeded, 2 failed (http: 2), 0 cut.'
    )
    expect(markdown).toContain('- 2 × http: HTTP 503\\: &lt;b&gt;busy&lt;/b&gt;')
  })

  it('escapes a hostile model name everywhere it appears', () => {
    const hostile = results()
    hostile.server.model = HOSTILE
    hostile.server.models = [HOSTILE]
    hostile.server.systemFingerprint = 'fp`|<x>'
    const markdown = renderJobSummary(input({ results: hostile }))
    expect(markdown).not.toMatch(/<img|@octocat/)
    const model = tableRows(markdown.slice(markdown.indexOf('#### Server')), ' ').find(
      row => row[0] === 'Model'
    )
    expect(model).toEqual(['Model', 'x\\|y &lt;img src\\=x&gt; @\u200Boctocat'])
    const fingerprint = tableRows(markdown.slice(markdown.indexOf('#### Server')), ' ').find(
      row => row[0] === 'Fingerprint'
    )
    // In a code span nothing is HTML; only the pipe needs escaping, for the table.
    expect(fingerprint).toEqual(['Fingerprint', '``fp`\\|<x>``'])
  })

  it('stays under the 1 MB job summary limit, dropping the last sections and saying so', () => {
    const crowded = comparison({
      metrics: Array.from({ length: 4_000 }, (_, index) =>
        metricComparison({ gated: false, explanation: `${index} ${'x'.repeat(300)}` })
      )
    })
    const markdown = renderJobSummary(input({ comparison: crowded }))
    expect(Buffer.byteLength(markdown, 'utf8')).toBeLessThanOrEqual(JOB_SUMMARY_LIMIT_BYTES)
    expect(markdown).toContain('Truncated:')
    expect(markdown).toContain('#### Trend over the last runs')
    expect(markdown).not.toContain('#### Settings')
  })

  it('links the workflow run', () => {
    expect(renderJobSummary(input())).toContain(
      '[Workflow run](https://github.com/o/r/actions/runs/42)'
    )
  })
})

describe('renderPrComment', () => {
  it('starts with the marker, then the verdict', () => {
    const lines = renderPrComment(input()).split('\n')
    expect(lines[0]).toBe(commentMarker('default'))
    expect(lines[2]).toBe('### ❌ Regression: llm-bench default')
  })

  it('keeps the gated table in view and collapses the rest', () => {
    const markdown = renderPrComment(input())
    const details = markdown.indexOf('<details><summary>Other metrics')
    expect(markdown.indexOf('| Time to first token p95 ↓')).toBeLessThan(details)
    expect(markdown.indexOf('| Time to first token ↓')).toBeGreaterThan(details)
    expect(markdown.indexOf('#### Runner')).toBeGreaterThan(details)
    expect(markdown.trimEnd().endsWith('· llm\\-bench 0\\.1\\.0</sub>')).toBe(true)
    expect(markdown).toContain('[Workflow run](https://github.com/o/r/actions/runs/42)')
  })

  it('shows the baseline note', () => {
    const markdown = renderPrComment(
      input({ comparison: null, baselineNote: 'No baseline yet: merge to main to record one.' })
    )
    expect(markdown).toContain('No baseline yet\\: merge to main to record one\\.')
  })

  it('stays whole when it fits', () => {
    expect(renderPrComment(input())).not.toContain('Truncated:')
  })

  it('stays under GitHub’s limit with a 100 KB error message and thousands of warnings, and says it was cut', () => {
    const huge = results({
      status: 'failed',
      reason: 'E'.repeat(100_000),
      warnings: Array.from({ length: 5_000 }, (_, index) => `warning ${index}: ${'w'.repeat(400)}`),
      requests: [failedRequest(1, 'http', 'M'.repeat(100_000))]
    })
    huge.dataset!.stages = Array.from({ length: 5_000 }, (_, index) => ({
      name: `stage${index}`,
      kept: index
    }))
    huge.server.models = Array.from(
      { length: 5_000 },
      (_, index) => `model-${index}-${'m'.repeat(100)}`
    )
    const many = comparison({
      metrics: Array.from({ length: 300 }, (_, index) =>
        metricComparison({ gated: index % 2 === 0, explanation: `${index} ${'x'.repeat(1_000)}` })
      ),
      differences: Array.from({ length: 1_000 }, (_, index) => `setting ${index}`)
    })
    const markdown = renderPrComment(
      input({ results: huge, comparison: many, history: history(500) })
    )
    expect(markdown.length).toBeLessThanOrEqual(PR_COMMENT_LIMIT)
    expect(markdown.startsWith(commentMarker('default'))).toBe(true)
    expect(markdown).toContain('Truncated:')
    expect(markdown).not.toContain('E'.repeat(1_000))
  })

  it('drops the least important details first, keeping the ones before the one that does not fit', () => {
    const warned = results({ warnings: ['The runner hardware differs from the baseline.'] })
    // About 250 × 450 characters of reported-only comparisons: too much for one comment.
    const crowded = comparison({
      metrics: [
        metricComparison(),
        ...Array.from({ length: 250 }, (_, index) =>
          metricComparison({
            gated: false,
            verdict: 'pass',
            explanation: `${index} ${'x'.repeat(300)}`
          })
        )
      ]
    })
    const markdown = renderPrComment(input({ results: warned, comparison: crowded }))
    expect(markdown.length).toBeLessThanOrEqual(PR_COMMENT_LIMIT)
    expect(markdown).toContain('| Time to first token p95 ↓ | 1.20 s')
    expect(markdown).toContain('#### Warnings')
    expect(markdown).not.toContain('#### Also compared')
    expect(markdown).not.toContain('#### Settings')
    expect(markdown).toContain('Truncated: 7 sections were left out')
    expect(markdown).toContain(
      '[the job summary](https://github.com/o/r/actions/runs/42) has everything.'
    )
    expect(markdown.match(/<details>/g)).toHaveLength(1)
    expect(markdown.match(/<\/details>/g)).toHaveLength(1)
  })
})

describe('markdownTable and flattenSettings', () => {
  it('aligns columns with the separator row', () => {
    expect(markdownTable(['a', 'b', 'c'], [['1', '2', '']], ['left', 'right', 'center'])).toBe(
      '| a | b | c |\n| --- | ---: | :---: |\n| 1 | 2 |   |'
    )
  })

  it('flattens nested settings into dotted keys', () => {
    expect(flattenSettings({ a: { b: 1, c: [1, 2] }, d: {} })).toEqual([
      ['a.b', 1],
      ['a.c', [1, 2]],
      ['d', {}]
    ])
  })
})
