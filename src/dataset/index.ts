/**
 * The dataset step of a run: the prompts from the prepared-set cache when this dataset and these
 * filters were prepared before, else from the ShareGPT file (local or downloaded), streamed
 * through the k6 filters and read only until enough prompts are kept. A URL dataset's prepared
 * set is found by its URL, before any download: a repeated run never touches the 673 MB file.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { DatasetSettings } from '../config/settings.js'
import { UserError, errorMessage } from '../errors.js'
import { silentLogger, type Logger } from '../log.js'
import { downloadDataset, sidecarPath } from './download.js'
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
  type LoadedPreparedSet,
  type PreparedSet
} from './prepared-cache.js'
import { readShareGptRecords } from './sharegpt-reader.js'
import type { PreparedDataset } from './types.js'

/** A prepared-set lookup: where the set lives, the set if usable, the local file if opened. */
interface PreparedLookup {
  cachePath: string
  set: LoadedPreparedSet | null
  file: LocalFile | null
}

export async function prepareDataset(
  settings: DatasetSettings,
  log: Logger,
  signal?: AbortSignal
): Promise<PreparedDataset> {
  const { cachePath, set: cached, file: opened } = await lookUpPreparedSet(settings, log, signal)
  if (cached) {
    log.info(`dataset: ${cached.prompts.length} prompts from the prepared set ${cachePath}`)
    log.info(`dataset: ${formatStages(cached.stages)}`)
    const facts = factsOf(settings, opened?.path ?? null, cached.dataset, cached, true)
    return { prompts: cached.prompts, facts }
  }
  const file = opened ?? (await downloadFile(settings, log, signal))
  const set = opened
    ? await filterDatasetFile(file.path, settings, signal)
    : await filterDownload(file.path, settings, signal)
  log.info(`dataset: ${set.prompts.length} prompts from ${file.path}`)
  log.info(`dataset: ${formatStages(set.stages)}`)
  if (set.prompts.length === 0) throw noPromptsError(file.path, set.stages, settings)
  await savePreparedSet(cachePath, file, settings, set).catch(error =>
    log.warning(`could not save the prepared prompt set ${cachePath}: ${errorMessage(error)}`)
  )
  return { prompts: set.prompts, facts: factsOf(settings, file.path, file, set, false) }
}

/**
 * True when a usable prepared set is on disk for a URL dataset, so the action can skip
 * restoring the download. Local datasets answer false: their set is keyed by the file's hash.
 */
export async function hasPreparedUrlSet(settings: DatasetSettings): Promise<boolean> {
  if (!isUrl(settings.source)) return false
  const { preparedDir } = datasetCachePaths(settings)
  const cachePath = preparedPath(preparedDir, preparedCacheKey(settings))
  return (await loadPreparedSet(cachePath, settings.sha256, settings, silentLogger)) !== null
}

/**
 * `localShaDir` holds the remembered hashes of local files. It is kept out of `preparedDir`,
 * which the action caches: a record restored from another runner names another mtime and
 * would only force the hash to be taken again.
 */
export function datasetCachePaths(settings: DatasetSettings): {
  downloadDir: string
  preparedDir: string
  localShaDir: string
} {
  return {
    downloadDir: join(settings.cacheDir, 'downloads'),
    preparedDir: join(settings.cacheDir, 'prepared'),
    localShaDir: join(settings.cacheDir, 'local-sha256')
  }
}

/** Key of the downloaded file in the Actions cache: the URL, and the expected sha when given. */
export function datasetCacheKey(settings: DatasetSettings): string {
  return `llm-bench-dataset-v1-${urlIdentity(settings)}`
}

/**
 * Key (and file name) of a prepared set: the dataset and every filter setting. A URL dataset is
 * named by its URL and `dataset-sha256` when given (as its download is), so the key is known
 * before anything is downloaded; a local file by its SHA-256, `localSha256`, which it needs.
 */
export function preparedCacheKey(settings: DatasetSettings, localSha256?: string): string {
  if (isUrl(settings.source)) return preparedKey(`url-${urlIdentity(settings)}`, settings)
  if (!localSha256) throw new Error('the prepared set of a local dataset is keyed by its SHA-256')
  return preparedKey(`sha-${localSha256.toLowerCase()}`, settings)
}

/** A URL's hash, and the user's sha when given: without it, whatever the URL serves is reused. */
function urlIdentity(settings: DatasetSettings): string {
  const sha = settings.sha256 ? `-${settings.sha256.toLowerCase()}` : ''
  return `${sha256OfText(settings.source).slice(0, 16)}${sha}`
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

/** For a URL, by the URL alone (no download); for a local file, by its SHA-256. */
async function lookUpPreparedSet(
  settings: DatasetSettings,
  log: Logger,
  signal?: AbortSignal
): Promise<PreparedLookup> {
  const { preparedDir, localShaDir } = datasetCachePaths(settings)
  if (isUrl(settings.source)) {
    const cachePath = preparedPath(preparedDir, preparedCacheKey(settings))
    // The user's sha, when given, must be the one the set was made from.
    const set = await loadPreparedSet(cachePath, settings.sha256, settings, log)
    return { cachePath, set, file: null }
  }
  const file = await describeLocalFile(settings.source, localShaDir, settings.sha256, signal)
  const cachePath = preparedPath(preparedDir, preparedCacheKey(settings, file.sha256))
  const set = await loadPreparedSet(cachePath, file.sha256, settings, log)
  return { cachePath, set, file }
}

/**
 * A URL that served something else (an HTML login page, an error text) must not stay in the
 * cache, where every later run would fail on it again: the bad download is removed.
 */
async function filterDownload(
  path: string,
  settings: DatasetSettings,
  signal?: AbortSignal
): Promise<PreparedSet> {
  try {
    return await filterDatasetFile(path, settings, signal)
  } catch (error) {
    if (!(error instanceof UserError) || signal?.aborted) throw error
    await Promise.all([rm(path, { force: true }), rm(sidecarPath(path), { force: true })])
    throw new UserError(
      `'dataset' ${settings.source} did not serve a ShareGPT JSON file: ${error.message}. ` +
        'The download was removed from the cache, so the next run downloads it again.'
    )
  }
}

async function downloadFile(
  settings: DatasetSettings,
  log: Logger,
  signal?: AbortSignal
): Promise<LocalFile> {
  const { downloadDir } = datasetCachePaths(settings)
  const options = { log, signal, expectedSha256: settings.sha256 }
  const { path, sha256, bytes } = await downloadDataset(settings.source, downloadDir, options)
  return { path, sha256, bytes }
}

/** `path` is null when the prompts came from a URL's prepared set: no file was opened. */
function factsOf(
  settings: DatasetSettings,
  path: string | null,
  dataset: { sha256: string; bytes: number },
  set: PreparedSet,
  fromPreparedCache: boolean
): PreparedDataset['facts'] {
  return {
    source: settings.source,
    path,
    sha256: dataset.sha256,
    bytes: dataset.bytes,
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
