import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { downloadDataset, downloadFileName } from '../../src/dataset/download.js'
import { UserError } from '../../src/errors.js'
import { MemoryLogger } from '../../src/log.js'

const SAMPLE = readFileSync('data/sharegpt-v3-sample50.json')
const SAMPLE_SHA = createHash('sha256').update(SAMPLE).digest('hex')

/** Each request takes the next planned answer; the last one repeats. */
type Answer = 'ok' | 'slow' | 'cut' | 'no-length-cut' | 'redirect' | number
let plan: Answer[] = []
let hits = 0
let server: Server
let base: string

function answer(req: IncomingMessage, res: ServerResponse): void {
  const step = plan[Math.min(hits++, plan.length - 1)]
  if (typeof step === 'number') {
    res.writeHead(step).end('nope')
  } else if (step === 'redirect') {
    res.writeHead(302, { location: '/sharegpt.json' }).end()
    plan = plan.slice(1)
  } else if (step === 'cut') {
    // Promise every byte, send half, then kill the connection.
    res.writeHead(200, { 'content-length': SAMPLE.length })
    res.write(SAMPLE.subarray(0, SAMPLE.length / 2), () => res.socket?.destroy())
  } else if (step === 'no-length-cut') {
    res.writeHead(200, { 'transfer-encoding': 'chunked' })
    res.write(SAMPLE.subarray(0, SAMPLE.length / 2), () => res.socket?.destroy())
  } else if (step === 'slow') {
    res.writeHead(200, { 'content-length': SAMPLE.length })
    const pieces = [0, 1, 2, 3].map(i =>
      SAMPLE.subarray((i * SAMPLE.length) / 4, ((i + 1) * SAMPLE.length) / 4)
    )
    const send = () =>
      pieces.length > 1
        ? res.write(pieces.shift()!, () => setTimeout(send, 30))
        : res.end(pieces.shift())
    send()
  } else {
    res.writeHead(200, { 'content-length': SAMPLE.length }).end(SAMPLE)
  }
  void req
}

beforeAll(async () => {
  server = createServer(answer)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>(resolve => server.close(() => resolve())))

beforeEach(() => {
  hits = 0
})

async function download(answers: Answer[], options: { sha?: string; dir?: string } = {}) {
  plan = answers
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'download-')))
  const log = new MemoryLogger()
  const url = `${base}/sharegpt.json`
  const run = downloadDataset(url, dir, {
    log,
    expectedSha256: options.sha,
    retries: 2,
    backoffMs: 5,
    progressIntervalMs: 0
  })
  return { run, dir, log, url }
}

describe('downloadDataset', () => {
  it('downloads the file, records its sha256 and leaves only the file and its sidecar', async () => {
    const { run, dir } = await download(['ok'])
    const file = await run
    expect(file).toMatchObject({ sha256: SAMPLE_SHA, bytes: SAMPLE.length, reused: false })
    expect(await readFile(file.path)).toEqual(SAMPLE)
    expect((await readdir(dir)).sort()).toEqual(
      [file.path.split('/').at(-1), `${file.path.split('/').at(-1)}.sha256`].sort()
    )
    expect((await readFile(`${file.path}.sha256`, 'utf8')).trim()).toBe(SAMPLE_SHA)
  })

  it('accepts the matching dataset-sha256, in upper case too', async () => {
    const { run } = await download(['ok'], { sha: SAMPLE_SHA.toUpperCase() })
    await expect(run).resolves.toMatchObject({ sha256: SAMPLE_SHA })
  })

  it('follows a redirect, as the Hugging Face URL needs', async () => {
    const { run } = await download(['redirect', 'ok'])
    await expect(run).resolves.toMatchObject({ sha256: SAMPLE_SHA })
  })

  it('rejects a sha256 mismatch naming the URL, the expected and the actual sha, and keeps no file', async () => {
    const wrong = '0'.repeat(64)
    const { run, dir, url } = await download(['ok'], { sha: wrong })
    const error = await run.catch(e => e)
    expect(error).toBeInstanceOf(UserError)
    expect(error.message).toContain(url)
    expect(error.message).toContain(`expected ${wrong} but got ${SAMPLE_SHA}`)
    expect(error.message).toContain('dataset-sha256')
    expect(await readdir(dir)).toEqual([])
    expect(hits).toBe(1)
  })

  it('retries a 500 and then succeeds', async () => {
    const { run, log } = await download([500, 503, 'ok'])
    await expect(run).resolves.toMatchObject({ sha256: SAMPLE_SHA })
    expect(hits).toBe(3)
    expect(log.text('warning')).toMatch(/HTTP 500\); retry 1 of 2/)
  })

  it.each(['cut', 'no-length-cut'] as const)(
    'retries a transfer broken in the middle (%s) and never leaves a complete-looking file',
    async step => {
      const { run, dir } = await download([step, 'ok'])
      const file = await run
      expect(hits).toBe(2)
      expect(await readFile(file.path)).toEqual(SAMPLE)
      expect((await readdir(dir)).filter(name => name.includes('.part'))).toEqual([])
    }
  )

  it('gives up after the retries when every transfer is cut, leaving an empty folder', async () => {
    const { run, dir, url } = await download(['cut'])
    const error = await run.catch(e => e)
    expect(error).toBeInstanceOf(UserError)
    expect(error.message).toContain(`'dataset' download of '${url}' failed after 3 attempts`)
    expect(hits).toBe(3)
    expect(await readdir(dir)).toEqual([])
  })

  it('fails a 404 at once with a clear message', async () => {
    const { run, url, dir } = await download([404, 'ok'])
    const error = await run.catch(e => e)
    expect(error).toBeInstanceOf(UserError)
    expect(error.message).toBe(
      `'dataset' download of '${url}' failed with HTTP 404; expected 200 with the ShareGPT JSON file (not retried: a 4xx will not change)`
    )
    expect(hits).toBe(1)
    expect(await readdir(dir)).toEqual([])
  })

  it('logs progress with bytes, percent and MB/s', async () => {
    const { run, log } = await download(['slow'])
    await run
    expect(log.text('info')).toMatch(/downloaded \d+\.\d MB of 0\.6 MB \(\d+\.\d%\), \d+\.\d MB\/s/)
  })

  it('reuses a file already in the folder without a request', async () => {
    const first = await download(['ok'])
    await first.run
    const again = await download([500], { dir: first.dir })
    await expect(again.run).resolves.toMatchObject({ sha256: SAMPLE_SHA, reused: true })
    expect(hits).toBe(1)
  })

  it('reuses a file restored without its sidecar by hashing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'download-'))
    await writeFile(join(dir, downloadFileName(`${base}/sharegpt.json`)), SAMPLE)
    const { run } = await download([500], { dir, sha: SAMPLE_SHA })
    await expect(run).resolves.toMatchObject({ sha256: SAMPLE_SHA, reused: true })
    expect(hits).toBe(0)
  })

  it('downloads again when the cached file does not match dataset-sha256', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'download-'))
    await writeFile(join(dir, downloadFileName(`${base}/sharegpt.json`)), 'stale')
    const { run, log } = await download(['ok'], { dir, sha: SAMPLE_SHA })
    await expect(run).resolves.toMatchObject({ sha256: SAMPLE_SHA, reused: false })
    expect(log.text('warning')).toContain('downloading it again')
  })

  it('stops when the signal is aborted during the backoff', async () => {
    plan = [500]
    const dir = await mkdtemp(join(tmpdir(), 'download-'))
    const controller = new AbortController()
    const run = downloadDataset(`${base}/sharegpt.json`, dir, {
      log: new MemoryLogger(),
      signal: controller.signal,
      backoffMs: 60_000
    })
    setTimeout(() => controller.abort(new Error('cancelled by the user')), 50)
    await expect(run).rejects.toThrow('cancelled by the user')
  })
})
