/**
 * The prepared prompt set, saved after filtering so that the next run with the same dataset and
 * filter settings loads ~480 prompts (a few MB of JSON, tens of ms) instead of parsing 673 MB.
 * It also keeps the dataset's SHA-256 and size, so a run that uses it reports complete facts
 * without opening (or, for a URL, downloading) the dataset.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../log.js'
import { errorMessage } from '../errors.js'
import { writeFileAtomic } from './files.js'
import type { FilterSettings, StageCount } from './filters.js'
import type { PreparedPrompt } from './types.js'

/** Bumped whenever the filters or the file layout change, so old files are never trusted. */
const PREPARED_VERSION = 2

export interface PreparedSet {
  prompts: PreparedPrompt[]
  stages: StageCount[]
}

/** The dataset file a set was made from. */
export interface DatasetIdentity {
  sha256: string
  bytes: number
}

export interface LoadedPreparedSet extends PreparedSet {
  dataset: DatasetIdentity
}

interface PreparedFile extends PreparedSet {
  version: number
  datasetSha256: string
  datasetBytes: number
  filters: FilterSettings
}

/** Every setting that changes which prompts are kept, in one fixed order. */
export function filterSettingsOf(settings: FilterSettings): FilterSettings {
  const { nPrompts, minTurns, minTokens, maxPromptTokens, maxContext } = settings
  return { nPrompts, minTurns, minTokens, maxPromptTokens, maxContext }
}

/** `identity` names the dataset (its URL or its SHA-256); the filters are spelled out. */
export function preparedKey(identity: string, settings: FilterSettings): string {
  const f = filterSettingsOf(settings)
  const filters = `t${f.minTurns}-k${f.minTokens}-p${f.maxPromptTokens}-c${f.maxContext}-n${f.nPrompts}`
  return `llm-bench-prepared-v${PREPARED_VERSION}-${identity}-${filters}`
}

export function preparedPath(dir: string, key: string): string {
  return join(dir, `${key}.json`)
}

export async function savePreparedSet(
  path: string,
  dataset: DatasetIdentity,
  settings: FilterSettings,
  set: PreparedSet
): Promise<void> {
  const file: PreparedFile = {
    version: PREPARED_VERSION,
    datasetSha256: dataset.sha256,
    datasetBytes: dataset.bytes,
    filters: filterSettingsOf(settings),
    stages: set.stages,
    prompts: set.prompts
  }
  await mkdir(join(path, '..'), { recursive: true })
  await writeFileAtomic(path, JSON.stringify(file))
}

/**
 * The saved set, or null when there is none. `expectedSha256`, when known (the local file's, or
 * the user's `dataset-sha256`), must match the set's dataset. A file that cannot be used
 * (corrupt, another version, dataset or settings) is a warning: the caller parses again.
 */
export async function loadPreparedSet(
  path: string,
  expectedSha256: string | undefined,
  settings: FilterSettings,
  log: Logger
): Promise<LoadedPreparedSet | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return null
  }
  try {
    return checkPreparedFile(JSON.parse(text), expectedSha256?.toLowerCase(), settings)
  } catch (error) {
    log.warning(
      `ignoring the prepared prompt set ${path} (${errorMessage(error)}); parsing the dataset again`
    )
    return null
  }
}

function checkPreparedFile(
  data: unknown,
  expectedSha256: string | undefined,
  settings: FilterSettings
): LoadedPreparedSet {
  const file = data as Partial<PreparedFile> | null
  if (typeof file !== 'object' || file === null) throw new Error('not a JSON object')
  if (file.version !== PREPARED_VERSION) throw new Error(`version ${file.version}`)
  const dataset = datasetOf(file)
  if (expectedSha256 && dataset.sha256 !== expectedSha256) {
    throw new Error(`made from another dataset: SHA-256 ${dataset.sha256}, not ${expectedSha256}`)
  }
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
  return { prompts: file.prompts, stages: file.stages, dataset }
}

function datasetOf(file: Partial<PreparedFile>): DatasetIdentity {
  const { datasetSha256: sha256, datasetBytes: bytes } = file
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new Error('no dataset SHA-256')
  }
  if (!Number.isSafeInteger(bytes) || (bytes as number) < 0) throw new Error('no dataset size')
  return { sha256, bytes: bytes as number }
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
