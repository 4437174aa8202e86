/**
 * The action's entry point (bundled to dist/index.js). The one place the step is failed: a
 * user error (a bad input) shows its message alone; anything unexpected also logs its stack
 * at debug level, for a re-run with debug logging.
 */
import * as core from '@actions/core'

import { UserError, errorMessage } from '../errors.js'
import { run } from './main.js'

try {
  const failure = await run()
  if (failure) core.setFailed(failure)
} catch (error) {
  if (!(error instanceof UserError) && error instanceof Error && error.stack)
    core.debug(error.stack)
  core.setFailed(errorMessage(error))
}
