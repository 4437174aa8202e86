/**
 * The dataset in the Actions cache, so a workflow does not download 673 MB and parse it on
 * every run. The prepared prompt set (a few hundred KB) is keyed by the dataset and the filter
 * settings: for a URL by the URL (and the expected SHA-256 when given), so it is restored before
 * anything else and, when it is there, the download is not restored at all; for a local file by
 * its SHA-256. The download folder is keyed like a URL's set, without the filters. Every failure
 * here is a warning: the run downloads or parses again.
 */
import * as core from '@actions/core'

import type { DatasetSettings } from '../config/settings.js'
import { describeLocalFile } from '../dataset/local-source.js'
import {
  datasetCacheKey,
  datasetCachePaths,
  hasPreparedUrlSet,
  preparedCacheKey
} from '../dataset/index.js'
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
  const preparedRestored = await restorePreparedSet(settings)
  if (!isUrl(settings.source)) return { downloadRestored: false, preparedRestored }
  // A usable prepared set is all the run reads: the 673 MB download stays in the cache.
  if (preparedRestored && (await hasPreparedUrlSet(settings))) {
    return { downloadRestored: false, preparedRestored }
  }
  const { downloadDir } = datasetCachePaths(settings)
  const key = datasetCacheKey(settings)
  const downloadRestored =
    (await restoreCache('the dataset download', [downloadDir], key)).key !== null
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
  // A run served by the prepared set never opened the download folder: nothing to save there.
  if (isUrl(settings.source) && !state.downloadRestored && !facts.fromPreparedCache) {
    await saveCache('the dataset download', [downloadDir], datasetCacheKey(settings))
  }
  if (!state.preparedRestored && !facts.fromPreparedCache) {
    await saveCache(
      'the prepared prompt set',
      [preparedDir],
      preparedCacheKey(settings, facts.sha256)
    )
  }
}

async function restorePreparedSet(settings: DatasetSettings): Promise<boolean> {
  const key = await preparedKeyBeforeRun(settings)
  if (!key) return false
  const { preparedDir } = datasetCachePaths(settings)
  return (await restoreCache('the prepared prompt set', [preparedDir], key)).key !== null
}

/**
 * The prepared set's key before the run: from the settings alone for a URL; for a local file,
 * from its hash (a second or two for 673 MB, far less than a parse), remembered where the run
 * itself looks, so the file is hashed once.
 */
async function preparedKeyBeforeRun(settings: DatasetSettings): Promise<string | null> {
  if (isUrl(settings.source)) return preparedCacheKey(settings)
  try {
    const { localShaDir } = datasetCachePaths(settings)
    const file = await describeLocalFile(settings.source, localShaDir, settings.sha256)
    return preparedCacheKey(settings, file.sha256)
  } catch (error) {
    core.debug(`dataset SHA-256 not computed before the run: ${errorMessage(error)}`)
    return null
  }
}
