/**
 * The baseline in the Actions cache. Cache entries are immutable, so each saving run writes a
 * new entry under a unique key (`...-<run id>-<attempt>`) and a reader restores by prefix,
 * which the service answers with the newest entry. The stored file carries the history of the
 * last runs, each save appending to what it restored. Nothing here may fail the run: a missing,
 * unreadable or foreign baseline is a warning and the verdict becomes `no-baseline`.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

import * as core from '@actions/core'

import {
  appendRun,
  baselineRunFromResults,
  parseBaselineFile,
  type BaselineFile
} from '../baseline/store.js'
import { errorMessage } from '../errors.js'
import type { ResultsFile } from '../results/schema.js'
import { restoreCache, saveCache } from './cache.js'
import { isPullRequestEvent, type RunContext } from './context.js'
import type { ActionConfig } from './inputs.js'

const KEY_ROOT = 'llm-bench-baseline'
const SAVING_EVENTS = new Set(['push', 'schedule', 'workflow_dispatch'])

/** Fixed per name: the cache's version hashes the paths, so they must not vary between runs. */
export function baselinePath(name: string): string {
  return join('.llm-bench', 'baseline', name, 'baseline.json')
}

/** Commas are not allowed in cache keys; git allows them in branch names. */
const keyPart = (text: string): string => text.replace(/[,\s]/g, '_')

export function baselineKeyPrefix(name: string, fingerprintHash: string, branch: string): string {
  return `${KEY_ROOT}-${name}-${fingerprintHash}-${keyPart(branch)}-`
}

export function baselineKey(name: string, hash: string, context: RunContext): string {
  return `${baselineKeyPrefix(name, hash, context.branch)}${context.runId}-${context.runAttempt}`
}

export interface LoadedBaseline {
  file: BaselineFile | null
  /** Where it came from, for the log and the report. */
  source: string | null
}

/**
 * The baseline to compare with: `baseline-file` when given, else the newest cached one of the
 * branch the pull request goes into (or of this branch, for a push). When none has the same
 * settings, the newest of any settings is taken so the verdict can say `not-comparable`.
 */
export async function loadBaseline(
  config: ActionConfig,
  context: RunContext,
  fingerprintHash: string
): Promise<LoadedBaseline> {
  if (config.baselineFile) {
    const loaded = await readBaseline(config.baselineFile, `'baseline-file' ${config.baselineFile}`)
    // A results file read as a baseline is named after its path; it stands for this benchmark.
    return loaded.file ? { ...loaded, file: { ...loaded.file, name: config.name } } : loaded
  }
  const branch = context.baseBranch ?? context.branch
  const path = baselinePath(config.name)
  await rm(dirname(path), { recursive: true, force: true })
  const exact = baselineKeyPrefix(config.name, fingerprintHash, branch)
  const anySettings = `${KEY_ROOT}-${config.name}-`
  const restored = await restoreCache(`the baseline of '${branch}'`, [path], exact, [anySettings])
  if (!restored.key) return { file: null, source: null }
  const loaded = await readBaseline(path, `the cached baseline ${restored.key}`)
  // Another benchmark whose name starts with this one's (`default-gpu` for `default`) matches
  // the prefix too: its file is not this benchmark's baseline.
  if (loaded.file && loaded.file.name !== config.name) {
    core.info(
      `The cached baseline ${restored.key} is the benchmark '${loaded.file.name}': ignored.`
    )
    return { file: null, source: null }
  }
  return loaded
}

async function readBaseline(path: string, source: string): Promise<LoadedBaseline> {
  try {
    const file = parseBaselineFile(await readFile(path, 'utf8'), source)
    core.info(`Baseline: ${file.runs.length} run(s) from ${source}.`)
    return { file, source }
  } catch (error) {
    core.warning(
      `Cannot use ${source}: ${errorMessage(error)}. The run is compared ` +
        'with no baseline; the next saved run of the default branch starts a new one.'
    )
    return { file: null, source: null }
  }
}

/** Whether this run's results become the branch's newest baseline. */
export function baselineSaveDecision(
  config: ActionConfig,
  context: RunContext
): { save: boolean; why: string } {
  if (config.saveBaseline === 'true') return { save: true, why: "'save-baseline' is 'true'" }
  if (config.saveBaseline === 'false') return { save: false, why: "'save-baseline' is 'false'" }
  if (isPullRequestEvent(context)) return { save: false, why: 'pull requests never save' }
  if (!SAVING_EVENTS.has(context.eventName)) {
    return { save: false, why: `the '${context.eventName}' event does not save` }
  }
  // GitHub runs schedules on the default branch only, and their payload does not name it.
  const defaultBranch =
    context.defaultBranch ?? (context.eventName === 'schedule' ? context.branch : null)
  if (!defaultBranch || context.branch !== defaultBranch) {
    return { save: false, why: `'${context.branch}' is not the default branch` }
  }
  return { save: true, why: `a ${context.eventName} run of the default branch` }
}

/** Appends this run to the history it was compared with and stores it under a new key. */
export async function saveBaseline(
  config: ActionConfig,
  context: RunContext,
  results: ResultsFile,
  previous: BaselineFile | null
): Promise<boolean> {
  const run = baselineRunFromResults(results, { commit: context.commit, ref: context.branch })
  const appended = appendRun(previous, config.name, results.fingerprint, run, config.history)
  if (appended.note) core.info(appended.note)
  const path = baselinePath(config.name)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, JSON.stringify(appended.file) + '\n')
  const key = baselineKey(config.name, results.fingerprint.hash, context)
  const saved = await saveCache(`the baseline of '${context.branch}'`, [path], key)
  if (saved) core.info(`Baseline '${config.name}' now holds ${appended.file.runs.length} run(s).`)
  return saved
}
