import { readFile } from 'node:fs/promises'
import {
  baselineFromResults,
  currentFromBenchFile,
  parseBenchFile,
  type BaselineFile
} from '../baseline/store.js'
import { UserError, errorMessage } from '../errors.js'
import type { ResultsFile } from '../results/schema.js'
import { compareRuns, type GateOptions } from './compare.js'
import type { Comparison } from './types.js'

async function readText(path: string, role: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'it does not exist' : errorMessage(error)
    throw new UserError(`Cannot read the ${role} file '${path}': ${why}`)
  }
}

/**
 * `llm-bench compare BASELINE CURRENT`: either file may be a baseline or a results file. The
 * current side is its results, or the newest run of a baseline file.
 */
export async function compareFiles(
  baselinePath: string,
  currentPath: string,
  options: GateOptions
): Promise<{
  comparison: Comparison
  baseline: BaselineFile
  current: ResultsFile | BaselineFile
}> {
  const baseFile = parseBenchFile(await readText(baselinePath, 'baseline'), baselinePath)
  if (baseFile.kind === 'results' && baseFile.results.status !== 'completed') {
    // A failed run's figures describe the failure, not the server: every change would look good.
    const { status, reason } = baseFile.results
    throw new UserError(
      `The baseline file '${baselinePath}' is a run that ${status === 'failed' ? 'failed' : `was ${status}`}` +
        ` (${reason ?? 'no reason given'}): compare against a completed run.`
    )
  }
  const currentFile = parseBenchFile(await readText(currentPath, 'current'), currentPath)
  const baseline =
    baseFile.kind === 'baseline'
      ? baseFile.baseline
      : baselineFromResults(baseFile.results, baselinePath)
  const comparison = compareRuns(baseline, currentFromBenchFile(currentFile), options)
  const current = currentFile.kind === 'baseline' ? currentFile.baseline : currentFile.results
  return { comparison, baseline, current }
}
