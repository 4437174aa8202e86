import { writeResultsFile, runBenchmark } from '../benchmark.js'
import { checkSettings, parseSettings } from '../config/parse.js'
import { scrubbingLogger, secretsOf } from '../config/secrets.js'
import type { BenchSettings } from '../config/settings.js'
import type { LoadProgress } from '../engine/load.js'
import type { Logger } from '../log.js'
import {
  renderProgressLine,
  renderSettingsBanner,
  renderTerminalSummary
} from '../report/terminal.js'
import { checkOutputFile } from '../results/output-file.js'
import type { ResultsFile } from '../results/schema.js'
import { rawSettingsFrom } from './options.js'

export interface RunCommandOptions {
  out: string
  log: Logger
  stdout: NodeJS.WritableStream
  /** Progress lines; a terminal gets one line rewritten in place. */
  stderr: NodeJS.WriteStream | NodeJS.WritableStream
}

/** Settings from flags and the seed's environment, validated. */
export function settingsFromFlags(flags: Record<string, string | undefined>): BenchSettings {
  return checkSettings(parseSettings(rawSettingsFrom(flags, process.env)))
}

/**
 * Runs one benchmark and writes its results file, also when the run fails or is cancelled
 * (Ctrl-C): whatever was measured is kept. Returns the results for the exit status.
 */
export async function runAndReport(
  settings: BenchSettings,
  options: RunCommandOptions
): Promise<ResultsFile> {
  // Before the run: a path that cannot be written would lose every measured request.
  checkOutputFile('--out', options.out)
  // The banner shows the settings; a query value of the server URL may be a credential.
  const log = scrubbingLogger(options.log, secretsOf(settings))
  const controller = new AbortController()
  const cancel = () => {
    log.warning('interrupted: finishing the requests in flight, then writing the results')
    controller.abort()
  }
  process.once('SIGINT', cancel)
  process.once('SIGTERM', cancel)

  const progress = progressPrinter(options.stderr, settings.load.durationMs)
  try {
    const results = await runBenchmark({
      settings,
      log,
      signal: controller.signal,
      onProgress: progress.update,
      onDatasetReady: dataset => log.info(renderSettingsBanner(settings, dataset.facts))
    })
    progress.done()
    await writeResultsFile(options.out, results)
    options.stdout.write(renderTerminalSummary(results) + '\n')
    log.info(`results written to ${options.out}`)
    if (results.status !== 'completed') log.warning(outcomeLine(results))
    return results
  } finally {
    process.off('SIGINT', cancel)
    process.off('SIGTERM', cancel)
  }
}

function progressPrinter(stream: NodeJS.WriteStream | NodeJS.WritableStream, durationMs: number) {
  const tty = 'isTTY' in stream && stream.isTTY === true
  let lastPrinted = 0
  let pending = false
  return {
    update: (p: LoadProgress) => {
      const line = renderProgressLine(p, durationMs)
      if (tty) {
        stream.write(`\r${line}\u001b[K`)
        pending = true
      } else if (p.elapsedMs - lastPrinted >= 10_000 || lastPrinted === 0) {
        lastPrinted = Math.max(p.elapsedMs, 1)
        stream.write(line + '\n')
      }
    },
    done: () => {
      if (pending) stream.write('\n')
    }
  }
}

/** `run failed: …`, or the cancellation's own words, which already say what happened. */
function outcomeLine(results: ResultsFile): string {
  const reason = results.reason ?? 'no reason given'
  return reason.startsWith(results.status) ? reason : `run ${results.status}: ${reason}`
}
