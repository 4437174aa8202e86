/**
 * Output paths are refused before a run when they could not take the results afterwards.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from '@jest/globals'

import { UserError } from '../../src/errors.js'
import { checkOutputFile } from '../../src/results/output-file.js'

const root = mkdtempSync(path.join(tmpdir(), 'llm-bench-output-'))

function refusal(file: string): unknown {
  try {
    checkOutputFile('results-file', file)
  } catch (error) {
    return error
  }
  return null
}

function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', [path.join(root, 'probe.fifo')])
    return true
  } catch {
    return false
  }
}

describe('checkOutputFile', () => {
  it('accepts a new file, an existing regular file and a file in directories to create', () => {
    const existing = path.join(root, 'existing.json')
    writeFileSync(existing, '{}')
    expect(refusal(path.join(root, 'new.json'))).toBeNull()
    expect(refusal(existing)).toBeNull()
    expect(refusal(path.join(root, 'a', 'b', 'c.json'))).toBeNull()
  })

  it('refuses a directory, naming the input, the path and the rule', () => {
    const directory = path.join(root, 'dir')
    mkdirSync(directory)
    const error = refusal(directory)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toBe(
      `'results-file' must be a regular file path (not a directory or device) but got '${directory}'`
    )
  })

  it('refuses a FIFO', () => {
    if (!hasMkfifo()) return // no mkfifo on this system: nothing to test with
    const fifo = path.join(root, 'out.fifo')
    execFileSync('mkfifo', [fifo])
    expect((refusal(fifo) as Error).message).toContain('a regular file path')
  })

  it('refuses a device', () => {
    expect((refusal('/dev/null') as Error).message).toContain('not a directory or device')
  })

  it('refuses a symbolic link, even to a regular file, and a dangling one', () => {
    const target = path.join(root, 'target.json')
    writeFileSync(target, '{}')
    const link = path.join(root, 'link.json')
    symlinkSync(target, link)
    const dangling = path.join(root, 'dangling.json')
    symlinkSync(path.join(root, 'missing.json'), dangling)
    expect((refusal(link) as Error).message).toContain('not a symbolic link')
    expect((refusal(dangling) as Error).message).toContain('not a symbolic link')
  })

  it('refuses a path whose parent is a file', () => {
    const file = path.join(root, 'plain.txt')
    writeFileSync(file, 'x')
    const error = refusal(path.join(file, 'sub', 'results.json')) as Error
    expect(error).toBeInstanceOf(UserError)
    expect(error.message).toContain(`${file} is not one`)
  })

  it('refuses a read-only directory', () => {
    // Root may write anywhere, so the check cannot fail for it.
    if (process.getuid?.() === 0) return
    const readOnly = path.join(root, 'read-only')
    mkdirSync(readOnly)
    chmodSync(readOnly, 0o555)
    try {
      expect((refusal(path.join(readOnly, 'x.json')) as Error).message).toContain('writable')
    } finally {
      chmodSync(readOnly, 0o755)
    }
  })

  it('refuses an empty path', () => {
    expect((refusal('') as Error).message).toContain('a file path')
  })
})
