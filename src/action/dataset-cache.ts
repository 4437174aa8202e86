/**
 * The dataset in the Actions cache, so a workflow does not download 673 MB and parse it on
 * every run: the download folder is keyed by the URL (and the expected SHA-256 when given),
 * the prepared prompt set by the dataset's SHA-256 and the filter settings. Local datasets are
 * not cached, only their prepared set. Every failure here is a warning: the run downloads or
 * parses again.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import * as core from '@actions/core'

import type { DatasetSettings } from '../config/settings.js'
import { downloadFileName, sidecarPath } from '../dataset/download.js'
import { sha256OfFile } from '../dataset/files.js'
import { datasetCacheKey, datasetCachePaths, preparedCacheKey } from '../dataset/index.js'
import type { DatasetFacts } from '../results/schema.js'
import { errorMessage } from '../errors.js'
import { restoreCache, saveCache } from './cache.js'

export interface DatasetCacheState {
  /** The download folder came from the cache (URL datasets only). */
  downloadRestored: boolean
  /** The prepared set came from the cache. */
  preparedRestored: boolean
}

const isUrl = (source: string): boolean => /^https?:\/\//i.test(source)

export async function restoreDatasetCaches(settings: DatasetSettings): Promise<DatasetCacheState> {
  const { downloadDir, preparedDir } = datasetCachePaths(settings)
  let downloadRestored = false
  if (isUrl(settings.source)) {
    const key = datasetCacheKey(settings)
    // The dataset module always opens the file (to know its SHA-256) even when a prepared set
    // exists, so the download is restored first; the prepared set then spares the parse.
    downloadRestored = (await restoreCache('the dataset download', [downloadDir], key)).key !== null
  }
  const sha = await knownSha256(settings)
  if (!sha) {
    core.debug('dataset SHA-256 unknown before the run: the prepared set is not looked up')
    return { downloadRestored, preparedRestored: false }
  }
  const key = preparedCacheKey(sha, settings)
  const preparedRestored =
    (await restoreCache('the prepared prompt set', [preparedDir], key)).key !== null
  return { downloadRestored, preparedRestored }
}

/** Saves what this run made and the cache did not already hold. */
export async function saveDatasetCaches(
  settings: DatasetSettings,
  state: DatasetCacheState,
  facts: DatasetFacts | null
): Promise<void> {
  if (!facts?.sha256) {
    core.debug('no dataset was prepared: nothing to save to the cache')
    return
  }
  const { downloadDir, preparedDir } = datasetCachePaths(settings)
  if (isUrl(settings.source) && !state.downloadRestored) {
    await saveCache('the dataset download', [downloadDir], datasetCacheKey(settings))
  }
  if (!state.preparedRestored && !facts.fromPreparedCache) {
    await saveCache(
      'the prepared prompt set',
      [preparedDir],
      preparedCacheKey(facts.sha256, settings)
    )
  }
}

/**
 * The dataset's SHA-256 without downloading: the expected one, the sidecar of a restored
 * download, or a hash of a local file (a second or two for 673 MB, far less than a parse).
 */
async function knownSha256(settings: DatasetSettings): Promise<string | null> {
  if (settings.sha256) return settings.sha256.toLowerCase()
  try {
    if (isUrl(settings.source)) {
      const { downloadDir } = datasetCachePaths(settings)
      const file = join(downloadDir, downloadFileName(settings.source))
      const text = await readFile(sidecarPath(file), 'utf8').catch(() => '')
      const sha = text.trim().toLowerCase()
      return /^[0-9a-f]{64}$/.test(sha) ? sha : null
    }
    return await sha256OfFile(settings.source)
  } catch (error) {
    core.debug(`dataset SHA-256 not computed before the run: ${errorMessage(error)}`)
    return null
  }
}
