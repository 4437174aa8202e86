import * as core from '@actions/core'

import type { Logger } from '../log.js'

/** The shared Logger over @actions/core, so the engine's lines become workflow log lines. */
export const actionsLogger: Logger = {
  info: message => core.info(message),
  debug: message => core.debug(message),
  warning: message => core.warning(message),
  group: (title, fn) => core.group(title, fn)
}
