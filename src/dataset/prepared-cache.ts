/**
 * The prepared prompt set, saved after filtering so that the next run with the same dataset and
 * filter settings loads ~480 prompts (a few MB of JSON, tens of ms) instead of parsing 673 MB.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../log.js'
import { errorMessage } from '../errors.js'
import { writeFileAtomic } from './files.js'
import type { FilterSettings, StageCount } from './filters.js'
import type { PreparedPrompt } from './types.js'

/** Bumped whenever the filters or the file layout change, so old files are never trusted. */
const PREPARED_VERSION = 1

export interface PreparedSet {
  prompts: PreparedPrompt[]
  stages: StageCount[]
}

interface PreparedFile extends PreparedSet {
  version: number
  datasetSha256: string
  filters: FilterSettings
}

/** Every setting that changes which prompts are kept, in one fixed order. */
export function filterSettingsOf(settings: FilterSettings): FilterSettings {
  const { nPrompts, minTurns, minTokens, maxPromptTokens, maxContext } = settings
  return { nPrompts, minTurns, minTokens, maxPromptTokens, maxContext }
}

export function preparedKey(datasetSha256: string, settings: FilterSettings): string {
  const f = filterSettingsOf(settings)
  const filters = `t${f.minTurns}-k${f.minTokens}-p${f.maxPromptTokens}-c${f.maxContext}-n${f.nPrompts}`
  return `llm-bench-prepared-v${PREPARED_VERSION}-${datasetSha256.toLowerCase()}-${filters}`
}

export function preparedPath(dir: string, key: string): string {
  return join(dir, `${key}.json`)
}

export async function savePreparedSet(
  path: string,
  datasetSha256: string,
  settings: FilterSettings,
  set: PreparedSet
): Promise<void> {
  const file: PreparedFile = {
    version: PREPARED_VERSION,
    datasetSha256,
    filters: filterSettingsOf(settings),
    stages: set.stages,
    prompts: set.prompts
  }
  await mkdir(join(path, '..'), { recursive: true })
  await writeFileAtomic(path, JSON.stringify(file))
}

/**
 * The saved set, or null when there is none. A file that cannot be used (corrupt, another
 * version, other settings) is a warning: the caller parses the dataset again.
 */
export async function loadPreparedSet(
  path: string,
  datasetSha256: string,
  settings: FilterSettings,
  log: Logger
): Promise<PreparedSet | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return null
  }
  try {
    return checkPreparedFile(JSON.parse(text), datasetSha256, settings)
  } catch (error) {
    log.warning(
      `ignoring the prepared prompt set ${path} (${errorMessage(error)}); parsing the dataset again`
    )
    return null
  }
}

function checkPreparedFile(
  data: unknown,
  datasetSha256: string,
  settings: FilterSettings
): PreparedSet {
  const file = data as Partial<PreparedFile> | null
  if (typeof file !== 'object' || file === null) throw new Error('not a JSON object')
  if (file.version !== PREPARED_VERSION) throw new Error(`version ${file.version}`)
  if (file.datasetSha256 !== datasetSha256) throw new Error('made from another dataset')
  if (JSON.stringify(file.filters) !== JSON.stringify(filterSettingsOf(settings))) {
    throw new Error('made with other filter settings')
  }
  if (!Array.isArray(file.stages) || !Array.isArray(file.prompts)) {
    throw new Error('no stages or prompts')
  }
  if (!file.prompts.every(isPreparedPrompt)) throw new Error('a prompt has the wrong shape')
  if (file.prompts.length === 0 || file.prompts.length !== file.stages.at(-1)?.kept) {
    throw new Error('the prompt count does not match the stage counts')
  }
  return { prompts: file.prompts, stages: file.stages }
}

function isPreparedPrompt(value: unknown): value is PreparedPrompt {
  const p = value as PreparedPrompt
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.prompt === 'string' &&
    Number.isInteger(p.promptTokens) &&
    Number.isInteger(p.completionTokens)
  )
}
