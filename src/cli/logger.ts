import type { Logger } from '../log.js'

/**
 * The CLI's logger: messages go to stderr so that stdout carries only the report, and
 * `llm-bench run > report.txt` keeps it clean.
 */
export function terminalLogger(options: { verbose: boolean }, stream = process.stderr): Logger {
  const write = (line: string) => stream.write(line + '\n')
  return {
    info: message => write(message),
    debug: message => {
      if (options.verbose) write(`debug: ${message}`)
    },
    warning: message => write(`warning: ${message}`),
    group: async (title, fn) => {
      write(`── ${title}`)
      return fn()
    }
  }
}
