import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'

import { generatedReadme } from '../../scripts/docs.js'
import { METRICS } from '../../src/metrics/catalog.js'
import { TOOL_VERSION } from '../../src/version.js'

const readme = readFileSync('README.md', 'utf8')

describe('README', () => {
  it('has the inputs, outputs and metrics tables generated from action.yml and the catalog (run npm run docs)', () => {
    expect(readme).toBe(generatedReadme())
  })

  it('starts with the two commands a fresh machine runs: the demo and the tests', () => {
    const firstBlock = readme.split('```')[1]
    expect(firstBlock).toContain('npm ci && npm run demo')
    expect(firstBlock).toContain('npm test')
  })

  it.each(METRICS.map(metric => metric.id))('defines the metric %s', id => {
    expect(readme).toContain(`| \`${id}\` |`)
  })

  it('links the performance figures', () => {
    expect(readme).toContain('docs/performance.md')
  })
})

describe('version', () => {
  it('is the version of package.json, written into every results file', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
    expect(TOOL_VERSION).toBe(pkg.version)
  })
})
