/**
 * The Actions cache, made best-effort: caching only saves time, so no cache trouble (no
 * service, a miss, a reserve conflict, a network error) may fail the benchmark. Every call
 * returns a plain outcome and says what happened.
 */
import * as cache from '@actions/cache'
import * as core from '@actions/core'

import { errorMessage } from '../errors.js'

export interface RestoreOutcome {
  /** The key that matched, or null on a miss or a failure. */
  key: string | null
}

let unavailableWarned = false

/** False outside a runner (or on a runner without the cache service): skip with one warning. */
function available(what: string): boolean {
  if (cache.isFeatureAvailable()) return true
  if (!unavailableWarned) {
    core.warning(
      'The Actions cache service is not available in this job (ACTIONS_RESULTS_URL / ' +
        'ACTIONS_CACHE_URL not set): the dataset and the baseline are neither restored nor saved, ' +
        `starting with ${what}. Run on a GitHub-hosted runner, or a self-hosted one with access ` +
        'to the cache service, to reuse downloads and compare with a baseline.'
    )
    unavailableWarned = true
  }
  return false
}

export async function restoreCache(
  what: string,
  paths: string[],
  key: string,
  restoreKeys: string[] = []
): Promise<RestoreOutcome> {
  if (!available(what)) return { key: null }
  try {
    const matched = await cache.restoreCache(paths, key, restoreKeys)
    if (matched) core.info(`Restored ${what} from the Actions cache (key ${matched}).`)
    else core.info(`Not in the Actions cache: ${what} (key ${key}).`)
    return { key: matched ?? null }
  } catch (error) {
    core.warning(
      `Could not restore ${what} from the Actions cache: ${errorMessage(error)}. Going on without it.`
    )
    return { key: null }
  }
}

/** True when saved. A failure is a warning: the next run just will not find it. */
export async function saveCache(what: string, paths: string[], key: string): Promise<boolean> {
  if (!available(what)) return false
  try {
    const id = await cache.saveCache(paths, key)
    if (id !== -1) {
      core.info(`Saved ${what} to the Actions cache (key ${key}).`)
      return true
    }
  } catch (error) {
    core.warning(`Could not save ${what} to the Actions cache: ${errorMessage(error)}.`)
    return false
  }
  core.warning(
    `Could not save ${what} to the Actions cache (key ${key}); see the cache message above. ` +
      'The run goes on; a later run will not find this one.'
  )
  return false
}
