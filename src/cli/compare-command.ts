import { parseThresholds, DEFAULT_THRESHOLDS } from '../gate/thresholds.js'
import { compareFiles } from '../gate/compare-files.js'
import { invalidInput } from '../errors.js'
import { renderComparisonTable } from '../report/terminal.js'

/** Prints the gate's report for two files; true when a gated metric regressed or the run failed. */
export async function runCompare(
  baselinePath: string,
  currentPath: string,
  flags: { thresholds?: string; confidence: string },
  stdout: NodeJS.WritableStream
): Promise<boolean> {
  const confidence = Number(flags.confidence)
  if (!(confidence > 0 && confidence < 1)) {
    throw invalidInput('confidence', flags.confidence, 'a number between 0 and 1, such as 0.99')
  }
  // Blank means the defaults, as for the action's input: an empty gate would pass everything.
  const thresholds = parseThresholds(flags.thresholds?.trim() || DEFAULT_THRESHOLDS)
  const { comparison } = await compareFiles(baselinePath, currentPath, { thresholds, confidence })
  stdout.write(renderComparisonTable(comparison) + '\n')
  return comparison.verdict === 'regression' || comparison.verdict === 'failed'
}
