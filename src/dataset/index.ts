/**
 * The dataset step of a run: find the ShareGPT file (local or downloaded), then the prompts, from
 * the prepared-set cache when this dataset and these filters were prepared before, else by
 * streaming the file through the k6 filters and stopping as soon as enough prompts are kept.
 */
import { join } from 'node:path'
import type { DatasetSettings } from '../config/settings.js'
import { UserError, errorMessage } from '../errors.js'
import type { Logger } from '../log.js'
import { downloadDataset } from './download.js'
import { sha256OfText } from './files.js'
import {
  PromptFilter,
  STAGE_INPUTS,
  formatStages,
  lastDroppingStage,
  stageThreshold,
  type FilterSettings,
  type StageCount,
  type StageName
} from './filters.js'
import { describeLocalFile, type LocalFile } from './local-source.js'
import {
  loadPreparedSet,
  preparedKey,
  preparedPath,
  savePreparedSet,
  type PreparedSet
} from './prepared-cache.js'
import { readShareGptRecords } from './sharegpt-reader.js'
import type { PreparedDataset } from './types.js'

export async function prepareDataset(
  settings: DatasetSettings,
  log: Logger,
  signal?: AbortSignal
): Promise<PreparedDataset> {
  const { downloadDir, preparedDir } = datasetCachePaths(settings)
  const file = await locateDataset(settings, downloadDir, preparedDir, log, signal)
  const cachePath = preparedPath(preparedDir, preparedCacheKey(file.sha256, settings))
  const cached = await loadPreparedSet(cachePath, file.sha256, settings, log)
  if (cached) {
    log.info(`dataset: ${cached.prompts.length} prompts from the prepared set ${cachePath}`)
    log.info(`dataset: ${formatStages(cached.stages)}`)
    return { prompts: cached.prompts, facts: factsOf(settings, file, cached, true) }
  }
  const set = await filterDatasetFile(file.path, settings, signal)
  log.info(`dataset: ${set.prompts.length} prompts from ${file.path}`)
  log.info(`dataset: ${formatStages(set.stages)}`)
  if (set.prompts.length === 0) throw noPromptsError(file.path, set.stages, settings)
  await savePreparedSet(cachePath, file.sha256, settings, set).catch(error =>
    log.warning(`could not save the prepared prompt set ${cachePath}: ${errorMessage(error)}`)
  )
  return { prompts: set.prompts, facts: factsOf(settings, file, set, false) }
}

export function datasetCachePaths(settings: DatasetSettings): {
  downloadDir: string
  preparedDir: string
} {
  return {
    downloadDir: join(settings.cacheDir, 'downloads'),
    preparedDir: join(settings.cacheDir, 'prepared')
  }
}

/** Key of the downloaded file in the Actions cache: the URL, and the expected sha when given. */
export function datasetCacheKey(settings: DatasetSettings): string {
  const sha = settings.sha256 ? `-${settings.sha256.toLowerCase()}` : ''
  return `llm-bench-dataset-v1-${sha256OfText(settings.source).slice(0, 16)}${sha}`
}

/** Key (and file name) of a prepared set: the dataset's SHA-256 and every filter setting. */
export function preparedCacheKey(datasetSha256: string, settings: DatasetSettings): string {
  return preparedKey(datasetSha256, settings)
}

/**
 * Streams a ShareGPT file through the filters; stops reading once `nPrompts` prompts are kept.
 * Exported for the benchmark, which times it without the caches.
 */
export async function filterDatasetFile(
  path: string,
  settings: FilterSettings,
  signal?: AbortSignal
): Promise<PreparedSet> {
  const filter = new PromptFilter(settings)
  for await (const record of readShareGptRecords(path, { signal })) {
    filter.offer(record)
    if (filter.full) break
  }
  return { prompts: filter.prompts, stages: filter.stages() }
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source)
}

async function locateDataset(
  settings: DatasetSettings,
  downloadDir: string,
  preparedDir: string,
  log: Logger,
  signal?: AbortSignal
): Promise<LocalFile> {
  if (!isUrl(settings.source)) {
    return describeLocalFile(settings.source, preparedDir, settings.sha256, signal)
  }
  const options = { log, signal, expectedSha256: settings.sha256 }
  const { path, sha256, bytes } = await downloadDataset(settings.source, downloadDir, options)
  return { path, sha256, bytes }
}

function factsOf(
  settings: DatasetSettings,
  file: LocalFile,
  set: PreparedSet,
  fromPreparedCache: boolean
): PreparedDataset['facts'] {
  return {
    source: settings.source,
    path: file.path,
    sha256: file.sha256,
    bytes: file.bytes,
    stages: set.stages,
    prompts: set.prompts.length,
    fromPreparedCache
  }
}

function noPromptsError(path: string, stages: StageCount[], settings: FilterSettings): UserError {
  const read = stages[0]?.kept ?? 0
  const counts = formatStages(stages)
  if (read === 0) return new UserError(`'dataset' file '${path}' holds no records (an empty array)`)
  const stage = lastDroppingStage(stages)
  const by = stage ? `; the last ones by ${describeStage(stage.name as StageName, settings)}` : ''
  return new UserError(
    `'dataset' file '${path}': all ${read} records were dropped by the filters${by}: ${counts}`
  )
}

function describeStage(name: StageName, settings: FilterSettings): string {
  if (name === 'firstFromHuman') return "the first-turn-from-'human' filter"
  return `\`${STAGE_INPUTS[name]}\` (${stageThreshold(name, settings)})`
}
