/**
 * An error the user can fix: bad input, an unreachable server, a missing file.
 * Entry points print its message alone, never a stack trace.
 */
export class UserError extends Error {
  override name = 'UserError'
}

/** `'<input>' must be <rule> but got '<value>'`, the one shape of every validation message. */
export function invalidInput(input: string, value: unknown, rule: string): UserError {
  return new UserError(`'${input}' must be ${rule} but got '${String(value)}'`)
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
