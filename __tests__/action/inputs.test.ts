/**
 * The action's inputs: action.yml and the code agree on names and defaults, and every bad
 * value fails at once with a message naming the input, the value and the rule. Inputs are
 * given as the runner gives them, `INPUT_<NAME>` variables (dashes kept).
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from '@jest/globals'
import { parse } from 'yaml'

import { SETTING_NAMES, parseSettings } from '../../src/config/parse.js'
import { DEFAULT_SETTINGS } from '../../src/config/settings.js'
import { DEFAULT_CONFIDENCE } from '../../src/gate/compare.js'
import {
  GATE_DEFAULTS,
  GATE_INPUT_NAMES,
  maskSecrets,
  readConfig
} from '../../src/action/inputs.js'

interface ActionYml {
  inputs: Record<string, { description?: string; default?: string }>
  outputs: Record<string, { description?: string }>
  runs: { using: string; main: string }
}

const actionYml = parse(readFileSync('action.yml', 'utf8')) as ActionYml

/** The env the runner gives a step: every input as `INPUT_<NAME>`. */
function inputEnv(inputs: Record<string, string>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
}

function ymlDefaults(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(actionYml.inputs).map(([name, input]) => [name, input.default ?? ''])
  )
}

describe('action.yml', () => {
  it('runs on node24 from the bundle', () => {
    expect(actionYml.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
  })

  it('declares every engine and gate input, each described with a default', () => {
    const names = Object.keys(actionYml.inputs).sort()
    expect(names).toEqual([...SETTING_NAMES, ...GATE_INPUT_NAMES].sort())
    for (const [name, input] of Object.entries(actionYml.inputs)) {
      expect({ name, described: Boolean(input.description) }).toEqual({ name, described: true })
      expect({ name, default: typeof input.default }).toEqual({ name, default: 'string' })
    }
  })

  it('has engine defaults that parse to the code defaults', () => {
    const defaults = ymlDefaults()
    const raw = Object.fromEntries(SETTING_NAMES.map(name => [name, defaults[name]]))
    expect(parseSettings(raw)).toEqual(DEFAULT_SETTINGS)
  })

  it('has gate defaults equal to the code defaults', () => {
    const defaults = ymlDefaults()
    for (const name of GATE_INPUT_NAMES) {
      if (name === 'github-token') continue
      expect({ name, value: defaults[name] }).toEqual({ name, value: GATE_DEFAULTS[name] })
    }
    expect(defaults['github-token']).toBe('${{ github.token }}')
  })

  it('gives the same config from the yml defaults as from no inputs at all', () => {
    const fromYml = readConfig(inputEnv({ ...ymlDefaults(), 'github-token': '' }))
    expect(fromYml).toEqual(readConfig({}))
  })

  it("uses the gate's default confidence", () => {
    expect(Number(GATE_DEFAULTS.confidence)).toBe(DEFAULT_CONFIDENCE)
  })

  it('describes every output', () => {
    for (const name of ['verdict', 'regressions', 'results-file', 'summary-file', 'ttft-p95-ms']) {
      expect(actionYml.outputs[name]?.description).toBeTruthy()
    }
  })
})

describe('readConfig', () => {
  it('reads the inputs into one typed config', () => {
    const config = readConfig(
      inputEnv({
        'server-url': 'http://127.0.0.1:9000/v1/',
        'max-tokens': '128',
        duration: '1m30s',
        name: 'gpu-a100',
        confidence: '0.95',
        'fail-on-regression': 'False',
        'save-baseline': 'true',
        history: '5',
        headers: 'X-Team: llm\nX-Secret: s3cret'
      })
    )
    expect(config.settings.request.serverUrl).toBe('http://127.0.0.1:9000/v1')
    expect(config.settings.request.maxTokens).toBe(128)
    expect(config.settings.load.durationMs).toBe(90_000)
    expect(config.settings.request.headers).toEqual({ 'X-Team': 'llm', 'X-Secret': 's3cret' })
    expect(config).toMatchObject({
      name: 'gpu-a100',
      confidence: 0.95,
      failOnRegression: false,
      saveBaseline: 'true',
      history: 5,
      baselineFile: null
    })
  })

  it('keeps an empty system prompt when one is given', () => {
    expect(readConfig(inputEnv({ 'system-prompt': '' })).settings.request.systemPrompt).toBe('')
  })

  const file = join(mkdtempSync(join(tmpdir(), 'inputs-')), 'baseline.json')
  writeFileSync(file, '{}')

  it('accepts an existing baseline file', () => {
    expect(readConfig(inputEnv({ 'baseline-file': file })).baselineFile).toBe(file)
  })

  it.each([
    ['thresholds', 'ttft p95 10%', "'thresholds' line 1 must be"],
    ['thresholds', 'ttft.p95: 10%\nnot_a_metric: 1%', "'thresholds' line 2"],
    ['server-url', 'localhost:8080', "'server-url' must be an http(s) URL"],
    ['n-prompts', '0', "'n-prompts' must be a whole number of at least 1 but got '0'"],
    ['max-tokens', '12.5', "'max-tokens' must be a whole number of at least 1 but got '12.5'"],
    ['duration', 'ten minutes', "'duration' must be a positive duration"],
    ['dataset-sha256', 'abc', "'dataset-sha256' must be a SHA-256 digest"],
    ['extra-body', '[1]', "'extra-body' must be a JSON object"],
    ['headers', 'no colon here', "'headers' must be one 'Header-Name: value' per line"],
    ['abort-error-rate', '150%', "'abort-error-rate' must be a fraction from 0 to 1"],
    ['max-prompt-tokens', '4096', "'max-prompt-tokens' must be at most 'max-context' (2048)"],
    [
      'name',
      'my bench',
      '\'name\' must be 1 to 64 letters, digits, ".", "_" or "-" but got \'my bench\''
    ],
    ['name', 'a,b', "'name' must be 1 to 64 letters"],
    [
      'confidence',
      '99%',
      "'confidence' must be a number between 0.5 and 1 (exclusive), such as 0.99 but got '99%'"
    ],
    ['confidence', '1', "'confidence' must be a number between 0.5 and 1"],
    ['fail-on-regression', 'yes', "'fail-on-regression' must be 'true' or 'false' but got 'yes'"],
    ['comment-on-pr', 'on', "'comment-on-pr' must be 'true' or 'false' but got 'on'"],
    [
      'save-baseline',
      'always',
      "'save-baseline' must be 'auto', 'true' or 'false' but got 'always'"
    ],
    [
      'baseline-file',
      'no/such/file.json',
      "'baseline-file' must be an existing results or baseline file but got 'no/such/file.json'"
    ],
    ['history', '0', "'history' must be a whole number from 1 to 1000 but got '0'"],
    ['history', 'ten', "'history' must be a whole number from 1 to 1000 but got 'ten'"],
    ['results-file', ' ', "'results-file' must be a file path but got ''"],
    [
      'summary-file',
      '__tests__',
      "'summary-file' must be a regular file path (not a directory or device) but got '__tests__'"
    ],
    ['comment-file', 'package.json/comment.md', 'package.json is not one']
  ])('rejects %s = %j', (name, value, message) => {
    expect(() => readConfig(inputEnv({ [name]: value }))).toThrow(message)
  })

  it('never shows a header value in its message', () => {
    expect(() => readConfig(inputEnv({ headers: 'Bad Header: s3cret' }))).toThrow(
      "'headers' must be one 'Header-Name: value' per line but got 'Bad Header: ***'"
    )
  })
})

describe('maskSecrets', () => {
  it('masks the key, header values and the credentials of the server and dataset URLs', () => {
    const written: string[] = []
    const write = process.stdout.write
    process.stdout.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof write
    try {
      maskSecrets(
        inputEnv({
          'api-key': 'sk-key-1',
          headers: 'X-Tenant: tenant-2',
          'server-url': 'http://user:hunter2@127.0.0.1:9000/v1?token=secret123',
          dataset: 'http://127.0.0.1/ok.json?sig=signed-4'
        })
      )
    } finally {
      process.stdout.write = write
    }
    const masked = written.join('')
    for (const secret of ['sk-key-1', 'tenant-2', 'hunter2', 'secret123', 'signed-4']) {
      expect(masked).toContain(`::add-mask::${secret}`)
    }
  })
})
