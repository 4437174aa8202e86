import { describe, expect, it } from '@jest/globals'
import { mermaidLabel, niceAxisMax, renderTrendChart } from '../../src/report/mermaid.js'
import { history } from './fixtures.js'

describe('renderTrendChart', () => {
  it('draws a Mermaid xychart of the metric over the runs, oldest first', () => {
    const chart = renderTrendChart(history(3), 'ttft', 'p95')
    expect(chart).toBe(
      [
        '```mermaid',
        'xychart-beta',
        '  title "Time to first token p95 (ms)"',
        '  x-axis ["c0ffee0", "c0ffee1", "c0ffee2"]',
        '  y-axis "ms" 0 --> 2000',
        '  line [1200, 1210, 1220]',
        '```'
      ].join('\n')
    )
  })

  it('is null with fewer than two points that have the metric', () => {
    const points = history(3)
    delete points[0].values.ttft
    delete points[1].values.ttft
    expect(renderTrendChart(points, 'ttft')).toBeNull()
    expect(renderTrendChart([], 'ttft')).toBeNull()
  })

  it('leaves out points without the metric', () => {
    const points = history(3)
    delete points[1].values.decode_rate
    expect(renderTrendChart(points, 'decode_rate')).toContain('line [31.5, 31.7]')
  })

  it('keeps the last 30 points', () => {
    const chart = renderTrendChart(history(40), 'ttft') ?? ''
    const line = chart.split('\n').find(text => text.startsWith('  line')) ?? ''
    expect(line.split(',')).toHaveLength(30)
    expect(chart).toContain('"c0ffee39"')
    expect(chart).not.toContain('"c0ffee9"')
  })

  it('shows rates as percentages', () => {
    const points = [
      { label: 'a', date: '2025-01-01', values: { error_rate: 0.01 } },
      { label: 'b', date: '2025-01-02', values: { error_rate: 0.02 } }
    ]
    expect(renderTrendChart(points, 'error_rate')).toContain('line [1.00, 2.00]')
  })

  it('cannot be broken out of by a label', () => {
    const points = history(2)
    points[0].label = '"] ```\n<script>'
    const chart = renderTrendChart(points, 'ttft') ?? ''
    expect(chart.split('```')).toHaveLength(3)
    expect(chart).not.toContain('<script>')
  })
})

describe('niceAxisMax and mermaidLabel', () => {
  it.each([
    [1_220, 2_000],
    [35, 50],
    [9, 10],
    [0, 1]
  ])('rounds an axis for a maximum of %p up to %p', (max, expected) => {
    expect(niceAxisMax(max)).toBe(expected)
  })

  it('shortens long labels', () => {
    expect(mermaidLabel('2025-05-01T10:00:00.000Z-and-more')).toHaveLength(24)
  })
})
