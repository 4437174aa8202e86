/**
 * SHA-256 of a local dataset file without rehashing it on every run. Hashing 673 MB costs about
 * a second or two, more than loading the prepared set it is needed to find, so the hash is kept
 * in a small sidecar keyed by the file's absolute path, size and mtime: an unchanged file is
 * recognised from one stat(). An edited file changes mtime (or size) and is hashed again.
 */
import { readFile, mkdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { UserError } from '../errors.js'
import { sha256OfFile, sha256OfText, writeFileAtomic } from './files.js'

export interface LocalFile {
  path: string
  sha256: string
  bytes: number
}

interface ShaRecord {
  path: string
  size: number
  mtimeMs: number
  sha256: string
}

export async function describeLocalFile(
  path: string,
  shaDir: string,
  expectedSha256: string | undefined,
  signal?: AbortSignal
): Promise<LocalFile> {
  const info = await stat(path).catch(() => null)
  if (!info) throw new UserError(`'dataset' file '${path}' does not exist`)
  if (!info.isFile())
    throw new UserError(`'dataset' '${path}' is not a file; expected a ShareGPT JSON file`)
  const absolute = resolve(path)
  const record: Omit<ShaRecord, 'sha256'> = {
    path: absolute,
    size: info.size,
    mtimeMs: info.mtimeMs
  }
  const recordPath = join(shaDir, `local-${sha256OfText(absolute).slice(0, 16)}.sha256.json`)
  let sha256 = await readRecordedSha(recordPath, record)
  const expected = expectedSha256?.toLowerCase()
  // A recorded sha that disagrees with the user's is checked again before failing the run.
  if (!sha256 || (expected && sha256 !== expected)) {
    sha256 = await sha256OfFile(path, signal)
    await mkdir(shaDir, { recursive: true })
    await writeFileAtomic(recordPath, JSON.stringify({ ...record, sha256 }))
  }
  if (expected && sha256 !== expected) {
    throw new UserError(
      `'dataset-sha256' does not match 'dataset' file '${path}': expected ${expected} but got ${sha256}`
    )
  }
  return { path, sha256, bytes: info.size }
}

async function readRecordedSha(
  recordPath: string,
  current: Omit<ShaRecord, 'sha256'>
): Promise<string | null> {
  try {
    const saved = JSON.parse(await readFile(recordPath, 'utf8')) as ShaRecord
    const same =
      saved.path === current.path &&
      saved.size === current.size &&
      saved.mtimeMs === current.mtimeMs
    return same && /^[0-9a-f]{64}$/.test(saved.sha256) ? saved.sha256 : null
  } catch {
    return null
  }
}
