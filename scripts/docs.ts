/**
 * Regenerates the README's tables from their sources, so the documentation cannot drift:
 * inputs and outputs from action.yml, metrics from the metric catalog.
 * `npm run docs` rewrites README.md; the docs test fails when it is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { parse } from 'yaml'

import { METRICS } from '../src/metrics/catalog.js'

interface ActionYml {
  inputs: Record<string, { description: string; default?: string }>
  outputs: Record<string, { description: string }>
}

const cell = (text: string) =>
  text
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/\s*\n\s*/g, ' ')
    .trim()
const code = (text: string) => (text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``)

function defaultCell(value: string | undefined): string {
  if (value === undefined || value === '') return '(empty)'
  if (value.includes('\n')) return 'see [How the decision is made](#how-the-decision-is-made)'
  return code(value)
}

export function inputsSection(actionYmlText: string): string {
  const action = parse(actionYmlText) as ActionYml
  const inputs = Object.entries(action.inputs).map(
    ([name, input]) =>
      `| \`${name}\` | ${cell(input.description)} | ${defaultCell(input.default)} |`
  )
  const outputs = Object.entries(action.outputs).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description)} |`
  )
  return [
    '| input | what it sets | default |',
    '| --- | --- | --- |',
    ...inputs,
    '',
    '| output | what it holds |',
    '| --- | --- |',
    ...outputs
  ].join('\n')
}

export function metricsSection(): string {
  const unit = {
    ms: 'ms',
    'tokens/s': 'tokens/s',
    tokens: 'tokens',
    ratio: '0 to 1',
    'requests/s': 'requests/s'
  }
  const rows = METRICS.map(metric => {
    const better = metric.direction === 'lower-is-better' ? 'lower' : 'higher'
    const k6 = metric.k6 ? code(metric.k6) : '—'
    return `| \`${metric.id}\` | ${metric.title} | ${unit[metric.unit]} | ${better} | ${cell(metric.definition)} | ${k6} |`
  })
  return [
    '| id | metric | unit | better | definition | k6 script metric |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows
  ].join('\n')
}

export function renderReadme(readme: string, sections: Record<string, string>): string {
  let text = readme
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`)
    if (!pattern.test(text)) throw new Error(`README.md has no <!-- ${name}:start/end --> markers`)
    text = text.replace(pattern, (_, start: string, end: string) => `${start}${body}\n${end}`)
  }
  return text
}

export function generatedReadme(root = '.'): string {
  return renderReadme(readFileSync(`${root}/README.md`, 'utf8'), {
    inputs: inputsSection(readFileSync(`${root}/action.yml`, 'utf8')),
    metrics: metricsSection()
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync('README.md', generatedReadme())
}
