/**
 * Output paths are checked before a run, not after it: a path that cannot be written would
 * otherwise lose every measured request of a run that may have taken an hour.
 */
import { accessSync, constants, lstatSync, statSync, type Stats } from 'node:fs'
import path from 'node:path'

import { invalidInput } from '../errors.js'

const REGULAR_FILE_RULE = 'a regular file path (not a directory or device)'

/**
 * Throws a UserError naming `input` unless `file` can be written as a regular file: when it
 * exists it is a regular file, and the nearest existing ancestor is a writable directory (the
 * missing ones are created on write). A symbolic link is refused even when it points at a
 * regular file: the writer renames a new file over the link rather than writing through it,
 * and a link committed in a pull request must not aim our write at a file outside the output.
 */
export function checkOutputFile(input: string, file: string): void {
  if (file === '') throw invalidInput(input, file, 'a file path')
  const target = path.resolve(file)
  const existing = lstatOrNull(target)
  if (existing?.isSymbolicLink()) {
    throw invalidInput(input, file, 'a regular file path (not a symbolic link)')
  }
  if (existing && !existing.isFile()) throw invalidInput(input, file, REGULAR_FILE_RULE)
  checkWritableAncestor(input, file, path.dirname(target))
}

function checkWritableAncestor(input: string, file: string, start: string): void {
  let directory = start
  let stats = statOrNull(directory)
  while (!stats && path.dirname(directory) !== directory) {
    directory = path.dirname(directory)
    stats = statOrNull(directory)
  }
  if (!stats?.isDirectory()) {
    throw invalidInput(input, file, `a path under a directory, but ${directory} is not one`)
  }
  try {
    accessSync(directory, constants.W_OK)
  } catch {
    throw invalidInput(input, file, `a path in a writable directory, but ${directory} is not`)
  }
}

function lstatOrNull(file: string): Stats | null {
  try {
    return lstatSync(file)
  } catch {
    return null
  }
}

/** Follows links: an ancestor that is a link to a directory (macOS's /tmp) is a directory. */
function statOrNull(file: string): Stats | null {
  try {
    return statSync(file)
  } catch {
    return null
  }
}
