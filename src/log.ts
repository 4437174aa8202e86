/**
 * The one logging interface shared by the engine, the CLI and the action, so that the
 * same code logs through `@actions/core` in a workflow and to the terminal on a laptop.
 */
export interface Logger {
  info(message: string): void
  debug(message: string): void
  warning(message: string): void
  /** Runs `fn` inside a collapsible group (the action) or under a heading (the CLI). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>
}

/** A logger that drops everything: for library callers and tests that do not read logs. */
export const silentLogger: Logger = {
  info: () => undefined,
  debug: () => undefined,
  warning: () => undefined,
  group: (_title, fn) => fn()
}

/** A logger that keeps every line, for tests that check what a user would be told. */
export class MemoryLogger implements Logger {
  readonly lines: { level: 'info' | 'debug' | 'warning'; message: string }[] = []

  info(message: string): void {
    this.lines.push({ level: 'info', message })
  }

  debug(message: string): void {
    this.lines.push({ level: 'debug', message })
  }

  warning(message: string): void {
    this.lines.push({ level: 'warning', message })
  }

  group<T>(_title: string, fn: () => Promise<T>): Promise<T> {
    return fn()
  }

  text(level?: 'info' | 'debug' | 'warning'): string {
    return this.lines
      .filter(line => level === undefined || line.level === level)
      .map(line => line.message)
      .join('\n')
  }
}
