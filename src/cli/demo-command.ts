import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { existsSync } from 'node:fs'

import { parseSettings, checkSettings } from '../config/parse.js'
import { parseSimOptions } from '../sim/cli.js'
import { startSimServer } from '../sim/server.js'
import type { ResultsFile } from '../results/schema.js'
import { runAndReport, type RunCommandOptions } from './run-command.js'

/** The bundled real ShareGPT sample, found beside the sources or the bundle. */
export function bundledSamplePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const candidates = [
    path.resolve(here, '../../data/sharegpt-v3-sample50.json'),
    path.resolve(here, '../data/sharegpt-v3-sample50.json'),
    path.resolve('data/sharegpt-v3-sample50.json')
  ]
  const found = candidates.find(candidate => existsSync(candidate))
  if (!found) throw new Error(`the bundled sample is missing; looked in ${candidates.join(', ')}`)
  return found
}

/**
 * The one-minute tour: the simulated server on loopback, the 47 real prompts of the bundled
 * sample, a short closed-loop run, the summary and the results file.
 */
export async function runDemo(
  flags: { duration: string; concurrency: string; seed: string; timeScale: string },
  options: RunCommandOptions
): Promise<ResultsFile> {
  const sim = await startSimServer(
    parseSimOptions({ seed: flags.seed, timeScale: flags.timeScale })
  )
  options.log.info(`simulated server listening on ${sim.url}`)
  try {
    const settings = checkSettings(
      parseSettings({
        'server-url': sim.url,
        dataset: bundledSamplePath(),
        duration: flags.duration,
        concurrency: flags.concurrency,
        'ready-timeout': '30s',
        'grace-period': '10s'
      })
    )
    return await runAndReport(settings, options)
  } finally {
    await sim.close()
  }
}
