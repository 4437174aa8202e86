/** Small file helpers of the dataset module: streaming SHA-256 and atomic writes. */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** SHA-256 (hex) of a file, read as a stream so that memory does not grow with its size. */
export async function sha256OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) {
    hash.update(chunk as Buffer)
  }
  return hash.digest('hex')
}

/** A unique temporary name next to `path`, so that the final rename stays on one file system. */
export function tempPathFor(path: string): string {
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`
  return join(dirname(path), `.${basename(path)}.${tag}.part`)
}

/** Writes a whole file under a temp name and renames it: readers never see half a file. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temp = tempPathFor(path)
  try {
    await writeFile(temp, data)
    await rename(temp, path)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}

export function sha256OfText(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
