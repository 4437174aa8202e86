/**
 * The action's inputs, read once into one typed, validated configuration. Engine inputs go
 * through the shared settings gateway; the gate's inputs are checked here, in the same message
 * shape, so a bad value fails the step at once and names the input, the value and the rule.
 */
import { existsSync, statSync } from 'node:fs'

import * as core from '@actions/core'

import { SETTING_NAMES, checkSettings, parseSettings, type RawSettings } from '../config/parse.js'
import { secretsOfUrl } from '../config/secrets.js'
import type { BenchSettings } from '../config/settings.js'
import { invalidInput } from '../errors.js'
import { DEFAULT_THRESHOLDS, parseThresholds } from '../gate/thresholds.js'
import type { Threshold } from '../gate/types.js'
import { checkOutputFile } from '../results/output-file.js'

export const GATE_INPUT_NAMES = [
  'name',
  'thresholds',
  'confidence',
  'fail-on-regression',
  'comment-on-pr',
  'github-token',
  'save-baseline',
  'baseline-file',
  'history',
  'results-file',
  'summary-file',
  'comment-file',
  'post-comment-file',
  'pull-request'
] as const

export type GateInputName = (typeof GATE_INPUT_NAMES)[number]

export type SaveBaseline = 'auto' | 'true' | 'false'

export interface ActionConfig {
  settings: BenchSettings
  name: string
  /** Parsed from the `thresholds` text; an empty text means the gate's defaults. */
  thresholds: Threshold[]
  confidence: number
  failOnRegression: boolean
  commentOnPr: boolean
  githubToken: string
  saveBaseline: SaveBaseline
  baselineFile: string | null
  history: number
  resultsFile: string
  summaryFile: string
  /** Where the pull-request comment's Markdown is written, on every run. */
  commentFile: string
  /** Fork-safe mode: only post this file as the comment on `pullRequest`, run nothing. */
  postCommentFile: string | null
  pullRequest: string
}

/**
 * Defaults of the gate's inputs when the variable is absent (a run outside the runner, e.g.
 * a test); the runner always passes action.yml's defaults, which a test keeps equal to these.
 */
export const GATE_DEFAULTS: Record<GateInputName, string> = {
  name: 'default',
  thresholds: DEFAULT_THRESHOLDS,
  confidence: '0.99',
  'fail-on-regression': 'true',
  'comment-on-pr': 'true',
  'github-token': '',
  'save-baseline': 'auto',
  'baseline-file': '',
  history: '20',
  'results-file': 'llm-bench-results.json',
  'summary-file': 'llm-bench-summary.md',
  'comment-file': 'llm-bench-comment.md',
  'post-comment-file': '',
  'pull-request': ''
}

/**
 * The runner's variable for an input: `INPUT_` + the name upper-cased, spaces to `_`,
 * dashes kept. Absent (undefined) differs from empty: an empty system prompt is a choice.
 */
export function rawInput(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`]
}

/** Masks every secret input before anything else can log it. */
export function maskSecrets(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of ['api-key', 'github-token']) {
    const value = rawInput(name, env)?.trim()
    if (value) core.setSecret(value)
  }
  for (const line of (rawInput('headers', env) ?? '').split('\n')) {
    const value = line.slice(line.indexOf(':') + 1).trim()
    if (line.includes(':') && value) core.setSecret(value)
  }
  // A password or a signed query in a URL is a credential the runner cannot know of otherwise.
  for (const name of ['server-url', 'dataset']) {
    for (const value of secretsOfUrl(rawInput(name, env)?.trim() ?? '')) core.setSecret(value)
  }
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ActionConfig {
  const raw: RawSettings = {}
  for (const name of SETTING_NAMES) raw[name] = rawInput(name, env)
  const settings = checkSettings(parseSettings(raw))
  const gate = (name: GateInputName): string => (rawInput(name, env) ?? GATE_DEFAULTS[name]).trim()
  return {
    settings,
    name: benchmarkName(gate('name')),
    thresholds: thresholds(gate('thresholds')),
    confidence: confidence(gate('confidence')),
    failOnRegression: boolean('fail-on-regression', gate('fail-on-regression')),
    commentOnPr: boolean('comment-on-pr', gate('comment-on-pr')),
    githubToken: gate('github-token'),
    saveBaseline: saveBaseline(gate('save-baseline')),
    baselineFile: baselineFile(gate('baseline-file')),
    history: history(gate('history')),
    resultsFile: filePath('results-file', gate('results-file')),
    summaryFile: filePath('summary-file', gate('summary-file')),
    commentFile: filePath('comment-file', gate('comment-file')),
    postCommentFile: gate('post-comment-file') || null,
    pullRequest: gate('pull-request')
  }
}

/** Part of the cache keys, so it must not hold commas or spaces. */
function benchmarkName(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(value)) {
    throw invalidInput('name', value, '1 to 64 letters, digits, ".", "_" or "-"')
  }
  return value
}

/** The gate's own messages already name the input, the line and the rule. */
function thresholds(value: string): Threshold[] {
  return parseThresholds(value === '' ? DEFAULT_THRESHOLDS : value)
}

function confidence(value: string): number {
  const parsed = Number(value)
  if (value === '' || !Number.isFinite(parsed) || parsed <= 0.5 || parsed >= 1) {
    throw invalidInput('confidence', value, 'a number between 0.5 and 1 (exclusive), such as 0.99')
  }
  return parsed
}

function boolean(name: GateInputName, value: string): boolean {
  const lower = value.toLowerCase()
  if (lower === 'true') return true
  if (lower === 'false') return false
  throw invalidInput(name, value, "'true' or 'false'")
}

function saveBaseline(value: string): SaveBaseline {
  const lower = value.toLowerCase()
  if (lower === 'auto' || lower === 'true' || lower === 'false') return lower
  throw invalidInput('save-baseline', value, "'auto', 'true' or 'false'")
}

function baselineFile(value: string): string | null {
  if (value === '') return null
  if (!existsSync(value) || !statSync(value).isFile()) {
    throw invalidInput('baseline-file', value, 'an existing results or baseline file')
  }
  return value
}

function history(value: string): number {
  const parsed = Number(value)
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > 1000) {
    throw invalidInput('history', value, 'a whole number from 1 to 1000')
  }
  return parsed
}

/** Checked now, not when written after the run, so a bad path cannot lose the run's results. */
function filePath(name: GateInputName, value: string): string {
  checkOutputFile(name, value)
  return value
}
