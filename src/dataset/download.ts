/**
 * Downloads a dataset URL into the cache folder: streamed to disk, hashed on the way, retried on
 * network errors and 5xx, and renamed into place only when complete and verified, so a file under
 * the final name is always whole (a later run or the Actions cache may reuse it as is).
 */
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, interceptors, request, type Dispatcher } from 'undici'
import { UserError, errorMessage } from '../errors.js'
import type { Logger } from '../log.js'
import { sha256OfFile, sha256OfText, tempPathFor, writeFileAtomic } from './files.js'

export interface DownloadOptions {
  log: Logger
  signal?: AbortSignal
  /** Verified when given (`dataset-sha256`). */
  expectedSha256?: string
  /** Further attempts after the first on a network error, a 5xx or a broken transfer. */
  retries?: number
  /** Wait before retry n is `backoffMs * 2^(n-1)`. */
  backoffMs?: number
  /** Progress is logged at most this often during a transfer. */
  progressIntervalMs?: number
}

export interface DownloadedFile {
  path: string
  sha256: string
  bytes: number
  /** True when a file already in the folder was used without a transfer. */
  reused: boolean
}

const DEFAULTS = { retries: 4, backoffMs: 1000, progressIntervalMs: 5000 }
const MAX_REDIRECTIONS = 5

/** A failure worth another attempt: network error, 5xx, or a transfer cut short. */
class RetryableError extends Error {}

/** File name of a URL in the download folder: a hash of the URL keeps distinct URLs apart. */
export function downloadFileName(url: string): string {
  const last = basename(new URL(url).pathname).replace(/[^\w.-]/g, '_') || 'dataset.json'
  return `${sha256OfText(url).slice(0, 12)}-${last}`
}

/** The sidecar holding a file's SHA-256, written at download time to avoid rehashing 673 MB. */
export function sidecarPath(path: string): string {
  return `${path}.sha256`
}

export async function downloadDataset(
  url: string,
  dir: string,
  options: DownloadOptions
): Promise<DownloadedFile> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, downloadFileName(url))
  const cached = await reuseCached(url, path, options)
  if (cached) return cached
  const agent = new Agent()
  try {
    const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTIONS }))
    return await downloadWithRetries(url, path, dispatcher, options)
  } finally {
    await agent.destroy()
  }
}

/** A complete file from an earlier run (or the Actions cache), unless it fails the user's sha. */
async function reuseCached(
  url: string,
  path: string,
  options: DownloadOptions
): Promise<DownloadedFile | null> {
  const info = await stat(path).catch(() => null)
  if (!info?.isFile()) return null
  const sha256 = (await readSidecar(path)) ?? (await hashAndRecord(path, options.signal))
  const expected = options.expectedSha256?.toLowerCase()
  if (expected && sha256 !== expected) {
    options.log.warning(
      `the cached download of '${url}' has SHA-256 ${sha256}, not the 'dataset-sha256' ${expected}; downloading it again`
    )
    await rm(path, { force: true })
    await rm(sidecarPath(path), { force: true })
    return null
  }
  options.log.info(`dataset: using the cached download ${path} (${formatMB(info.size)})`)
  return { path, sha256, bytes: info.size, reused: true }
}

async function readSidecar(path: string): Promise<string | null> {
  const text = await readFile(sidecarPath(path), 'utf8').catch(() => '')
  const sha = text.trim().toLowerCase()
  return /^[0-9a-f]{64}$/.test(sha) ? sha : null
}

async function hashAndRecord(path: string, signal?: AbortSignal): Promise<string> {
  const sha256 = await sha256OfFile(path, signal)
  await writeFileAtomic(sidecarPath(path), `${sha256}\n`)
  return sha256
}

async function downloadWithRetries(
  url: string,
  path: string,
  dispatcher: Dispatcher,
  options: DownloadOptions
): Promise<DownloadedFile> {
  const retries = options.retries ?? DEFAULTS.retries
  const backoffMs = options.backoffMs ?? DEFAULTS.backoffMs
  for (let attempt = 0; ; attempt++) {
    try {
      return await downloadOnce(url, path, dispatcher, options)
    } catch (error) {
      if (!(error instanceof RetryableError) || options.signal?.aborted) throw error
      if (attempt >= retries) {
        throw new UserError(
          `'dataset' download of '${url}' failed after ${attempt + 1} attempts: ${error.message}`
        )
      }
      const waitMs = backoffMs * 2 ** attempt
      options.log.warning(
        `dataset download of '${url}' failed (${error.message}); retry ${attempt + 1} of ${retries} in ${(waitMs / 1000).toFixed(1)} s`
      )
      await sleep(waitMs, undefined, { signal: options.signal }).catch(sleepError => {
        // Surface the caller's own abort reason, as every other step does.
        options.signal?.throwIfAborted()
        throw sleepError
      })
    }
  }
}

async function downloadOnce(
  url: string,
  path: string,
  dispatcher: Dispatcher,
  options: DownloadOptions
): Promise<DownloadedFile> {
  const temp = tempPathFor(path)
  try {
    const { sha256, bytes } = await transfer(url, temp, dispatcher, options)
    verifySha(url, sha256, options.expectedSha256)
    // Sidecar first: a crash between the two renames leaves a file without sidecar (rehashed
    // later), never a final-named file with a wrong one.
    await writeFileAtomic(sidecarPath(path), `${sha256}\n`)
    await rename(temp, path)
    return { path, sha256, bytes, reused: false }
  } finally {
    await rm(temp, { force: true })
  }
}

function verifySha(url: string, actual: string, expected: string | undefined): void {
  if (!expected || actual === expected.toLowerCase()) return
  throw new UserError(
    `'dataset-sha256' does not match the file downloaded from '${url}': expected ${expected.toLowerCase()} but got ${actual}`
  )
}

/** One HTTP transfer into `temp`; throws RetryableError for anything a retry may fix. */
async function transfer(
  url: string,
  temp: string,
  dispatcher: Dispatcher,
  options: DownloadOptions
): Promise<{ sha256: string; bytes: number }> {
  const response = await request(url, { dispatcher, signal: options.signal }).catch(error => {
    throw retryableUnlessAborted(error, options.signal)
  })
  await checkStatus(url, response)
  const total = contentLength(response.headers['content-length'])
  options.log.info(`dataset: downloading ${url}${total === null ? '' : ` (${formatMB(total)})`}`)
  const meter = new TransferMeter(total, options)
  try {
    await pipeline(response.body, meter.stream, createWriteStream(temp), { signal: options.signal })
  } catch (error) {
    throw retryableUnlessAborted(error, options.signal)
  }
  if (total !== null && meter.bytes !== total) {
    throw new RetryableError(`the transfer ended after ${meter.bytes} of ${total} bytes`)
  }
  meter.logDone()
  return { sha256: meter.sha256(), bytes: meter.bytes }
}

async function checkStatus(url: string, response: Dispatcher.ResponseData): Promise<void> {
  const { statusCode } = response
  if (statusCode >= 200 && statusCode < 300) return
  await response.body.dump()
  if (statusCode >= 500) throw new RetryableError(`HTTP ${statusCode}`)
  throw new UserError(
    `'dataset' download of '${url}' failed with HTTP ${statusCode}; expected 200 with the ShareGPT JSON file (not retried: a 4xx will not change)`
  )
}

function retryableUnlessAborted(error: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted || error instanceof UserError) return error
  return new RetryableError(errorMessage(error))
}

function contentLength(header: string | string[] | undefined): number | null {
  const value = Number(Array.isArray(header) ? header[0] : header)
  return header !== undefined && Number.isSafeInteger(value) && value >= 0 ? value : null
}

/** Hashes and counts the bytes as they pass, and logs progress at most every interval. */
class TransferMeter {
  bytes = 0
  private readonly hash = createHash('sha256')
  private readonly startedAt = performance.now()
  private lastLogAt = this.startedAt
  readonly stream: Transform

  constructor(
    private readonly total: number | null,
    private readonly options: DownloadOptions
  ) {
    this.stream = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.hash.update(chunk)
        this.bytes += chunk.length
        this.maybeLogProgress()
        done(null, chunk)
      }
    })
  }

  sha256(): string {
    return this.hash.digest('hex')
  }

  logDone(): void {
    this.options.log.info(`dataset: downloaded ${formatMB(this.bytes)} at ${this.rate()}`)
  }

  private maybeLogProgress(): void {
    const now = performance.now()
    const interval = this.options.progressIntervalMs ?? DEFAULTS.progressIntervalMs
    if (now - this.lastLogAt < interval) return
    this.lastLogAt = now
    const share = this.total
      ? ` of ${formatMB(this.total)} (${((100 * this.bytes) / this.total).toFixed(1)}%)`
      : ''
    this.options.log.info(`dataset: downloaded ${formatMB(this.bytes)}${share}, ${this.rate()}`)
  }

  private rate(): string {
    const seconds = Math.max((performance.now() - this.startedAt) / 1000, 1e-3)
    return `${(this.bytes / 1e6 / seconds).toFixed(1)} MB/s`
  }
}

function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`
}
