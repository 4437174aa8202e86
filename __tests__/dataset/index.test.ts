import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { copyFile, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_SETTINGS, type DatasetSettings } from '../../src/config/settings.js'
import {
  datasetCacheKey,
  datasetCachePaths,
  prepareDataset,
  preparedCacheKey
} from '../../src/dataset/index.js'
import { UserError } from '../../src/errors.js'
import { MemoryLogger } from '../../src/log.js'

const SAMPLE_PATH = 'data/sharegpt-v3-sample50.json'
const SAMPLE = readFileSync(SAMPLE_PATH)
const SAMPLE_SHA = createHash('sha256').update(SAMPLE).digest('hex')

async function settingsFor(source: string, extra: Partial<DatasetSettings> = {}) {
  const cacheDir = await mkdtemp(join(tmpdir(), 'dataset-cache-'))
  return { ...DEFAULT_SETTINGS.dataset, source, cacheDir, ...extra }
}

async function tempFile(name: string, content: string | Buffer): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'dataset-')), name)
  await writeFile(path, content)
  return path
}

const convo = (prompt: string, answer: string) => ({
  conversations: [
    { from: 'human', value: prompt },
    { from: 'gpt', value: answer }
  ]
})

describe('prepareDataset', () => {
  it('prepares the 47 sample prompts with facts and logs every stage', async () => {
    const settings = await settingsFor(SAMPLE_PATH)
    const log = new MemoryLogger()
    const { prompts, facts } = await prepareDataset(settings, log)
    expect(prompts.slice(0, 3).map(p => p.promptTokens)).toEqual([918, 881, 714])
    expect(facts).toEqual({
      source: SAMPLE_PATH,
      path: SAMPLE_PATH,
      sha256: SAMPLE_SHA,
      bytes: SAMPLE.length,
      stages: [
        { name: 'read', kept: 50 },
        { name: 'minTurns', kept: 50 },
        { name: 'firstFromHuman', kept: 50 },
        { name: 'minTokens', kept: 47 },
        { name: 'maxPromptTokens', kept: 47 },
        { name: 'maxContext', kept: 47 },
        { name: 'nPrompts', kept: 47 }
      ],
      prompts: 47,
      fromPreparedCache: false
    })
    expect(log.text('info')).toContain(
      'read 50 → min-turns 50 → first-from-human 50 → min-tokens 47'
    )
  })

  it('loads the prepared set on the next run with the same file and filters', async () => {
    const settings = await settingsFor(SAMPLE_PATH)
    const first = await prepareDataset(settings, new MemoryLogger())
    const started = performance.now()
    const second = await prepareDataset(settings, new MemoryLogger())
    expect(performance.now() - started).toBeLessThan(100)
    expect(second.prompts).toEqual(first.prompts)
    expect(second.facts).toEqual({ ...first.facts, fromPreparedCache: true })
  })

  it.each([
    ['n-prompts', { nPrompts: 3 }],
    ['max-prompt-tokens', { maxPromptTokens: 800 }]
  ])('parses again when %s changes', async (_input, change) => {
    const settings = await settingsFor(SAMPLE_PATH)
    await prepareDataset(settings, new MemoryLogger())
    const changed = await prepareDataset({ ...settings, ...change }, new MemoryLogger())
    expect(changed.facts.fromPreparedCache).toBe(false)
  })

  it('stops reading once n-prompts prompts are kept', async () => {
    const settings = await settingsFor(SAMPLE_PATH, { nPrompts: 3 })
    const { prompts, facts } = await prepareDataset(settings, new MemoryLogger())
    expect(prompts.map(p => p.promptTokens)).toEqual([918, 881, 714])
    expect(facts.stages[0]).toEqual({ name: 'read', kept: 3 })
  })

  it('keeps the hash record of a local file out of the prepared folder the action caches', async () => {
    const settings = await settingsFor(SAMPLE_PATH)
    await prepareDataset(settings, new MemoryLogger())
    const { preparedDir, localShaDir } = datasetCachePaths(settings)
    expect(await readdir(preparedDir)).toEqual([`${preparedCacheKey(settings, SAMPLE_SHA)}.json`])
    expect(await readdir(localShaDir)).toHaveLength(1)
  })

  it('warns about a corrupt prepared file and parses again', async () => {
    const settings = await settingsFor(SAMPLE_PATH)
    await prepareDataset(settings, new MemoryLogger())
    const { preparedDir } = datasetCachePaths(settings)
    await writeFile(join(preparedDir, `${preparedCacheKey(settings, SAMPLE_SHA)}.json`), '{"vers')
    const log = new MemoryLogger()
    const again = await prepareDataset(settings, log)
    expect(again.facts.fromPreparedCache).toBe(false)
    expect(again.prompts).toHaveLength(47)
    expect(log.text('warning')).toMatch(
      /ignoring the prepared prompt set .* parsing the dataset again/
    )
  })

  it('hashes a local file again when it changes', async () => {
    const path = await tempFile('small.json', JSON.stringify([convo('a b c d', 'e f g h')]))
    const settings = await settingsFor(path)
    const before = await prepareDataset(settings, new MemoryLogger())
    await writeFile(path, JSON.stringify([convo('a b c d e', 'e f g h')]))
    await utimes(path, new Date(), new Date(Date.now() + 5000))
    const after = await prepareDataset(settings, new MemoryLogger())
    expect(after.facts.sha256).not.toBe(before.facts.sha256)
    expect(after.prompts[0].promptTokens).toBe(5)
  })

  it('checks a local file against dataset-sha256', async () => {
    const settings = await settingsFor(SAMPLE_PATH, { sha256: 'f'.repeat(64) })
    await expect(prepareDataset(settings, new MemoryLogger())).rejects.toThrow(
      `'dataset-sha256' does not match 'dataset' file '${SAMPLE_PATH}': expected ${'f'.repeat(64)} but got ${SAMPLE_SHA}`
    )
  })

  it.each([
    ['a missing file', null, "'dataset' file 'MISSING' does not exist"],
    [
      'a file that is not JSON',
      'hello',
      /'dataset' file '.*bad\.json' must hold a JSON array .* byte 0 is "h"/
    ],
    ['an object at the top level', '{"a": []}', /must hold a JSON array of ShareGPT records/],
    ['broken JSON', '[{"conversations": [}]', /is not valid JSON: .* between bytes 0 and 22/],
    ['an empty array', '[]', /holds no records/],
    [
      'records all too long for max-prompt-tokens',
      JSON.stringify([convo('a '.repeat(2000), 'b c d e'), convo('x '.repeat(1500), 'b c d e'), 7]),
      /all 3 records were dropped by the filters; the last ones by `max-prompt-tokens` \(1024\): read 3 → min-turns 2/
    ],
    [
      'records none of which start with a human turn',
      JSON.stringify([
        {
          conversations: [
            { from: 'gpt', value: 'a b c d' },
            { from: 'human', value: 'a b c d' }
          ]
        }
      ]),
      /the last ones by the first-turn-from-'human' filter/
    ]
  ])('rejects %s with a clear UserError', async (_name, content, message) => {
    const path = content === null ? 'MISSING' : await tempFile('bad.json', content)
    const error = await prepareDataset(await settingsFor(path), new MemoryLogger()).catch(e => e)
    expect(error).toBeInstanceOf(UserError)
    expect(error.message).toMatch(message)
  })
})

/** The sample served on loopback, counting requests. */
async function serveSample(): Promise<{
  url: string
  hits: () => number
  close: () => Promise<void>
}> {
  let hits = 0
  const server = createServer((_req, res) => {
    hits++
    res.writeHead(200, { 'content-length': SAMPLE.length }).end(SAMPLE)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ShareGPT.json`
  return {
    url,
    hits: () => hits,
    close: () => new Promise<void>(resolve => server.close(() => resolve()))
  }
}

describe('prepareDataset with a URL', () => {
  let served: Awaited<ReturnType<typeof serveSample>>
  beforeEach(async () => (served = await serveSample()))
  afterEach(() => served.close())

  /** Downloads and prepares once, then deletes the download: only the prepared set is left. */
  async function preparedOnly(extra: Partial<DatasetSettings> = {}) {
    const settings = await settingsFor(served.url, extra)
    const first = await prepareDataset(settings, new MemoryLogger())
    const { downloadDir } = datasetCachePaths(settings)
    expect(await readdir(downloadDir)).toHaveLength(2)
    await rm(downloadDir, { recursive: true })
    return { settings, first }
  }

  it('uses the prepared set without the download and without a request', async () => {
    const { settings, first } = await preparedOnly({ sha256: SAMPLE_SHA })
    expect(first.facts).toMatchObject({ source: served.url, sha256: SAMPLE_SHA, prompts: 47 })
    expect(served.hits()).toBe(1)
    const second = await prepareDataset(settings, new MemoryLogger())
    expect(served.hits()).toBe(1)
    expect(second.prompts).toEqual(first.prompts)
    expect(second.facts).toEqual({
      ...first.facts,
      path: null,
      sha256: SAMPLE_SHA,
      bytes: SAMPLE.length,
      fromPreparedCache: true
    })
    expect(existsSync(datasetCachePaths(settings).downloadDir)).toBe(false)
  })

  it('knows the dataset sha from the prepared set when dataset-sha256 is not given', async () => {
    const { settings } = await preparedOnly()
    const second = await prepareDataset(settings, new MemoryLogger())
    expect(second.facts).toMatchObject({ sha256: SAMPLE_SHA, bytes: SAMPLE.length })
    expect(second.facts.stages.at(-1)).toEqual({ name: 'nPrompts', kept: 47 })
    expect(served.hits()).toBe(1)
  })

  it('downloads again when a filter setting changes', async () => {
    const { settings } = await preparedOnly()
    const changed = await prepareDataset({ ...settings, nPrompts: 3 }, new MemoryLogger())
    expect(changed.facts.fromPreparedCache).toBe(false)
    expect(changed.prompts).toHaveLength(3)
    expect(served.hits()).toBe(2)
  })

  it('does not reuse the set for another dataset-sha256', async () => {
    const { settings } = await preparedOnly()
    const withSha = await prepareDataset({ ...settings, sha256: SAMPLE_SHA }, new MemoryLogger())
    expect(withSha.facts.fromPreparedCache).toBe(false)
    expect(served.hits()).toBe(2)
    const wrong = prepareDataset({ ...settings, sha256: 'f'.repeat(64) }, new MemoryLogger())
    await expect(wrong).rejects.toThrow(/'dataset-sha256' does not match the file downloaded/)
    expect(served.hits()).toBe(3)
  })

  it('warns about a set made from another sha than dataset-sha256 and downloads', async () => {
    const { settings } = await preparedOnly()
    const other = { ...settings, sha256: 'f'.repeat(64) }
    const { preparedDir } = datasetCachePaths(settings)
    // A set under the key of `other` whose content says it was made from the sample.
    await copyFile(
      join(preparedDir, `${preparedCacheKey(settings)}.json`),
      join(preparedDir, `${preparedCacheKey(other)}.json`)
    )
    const log = new MemoryLogger()
    await expect(prepareDataset(other, log)).rejects.toThrow(/'dataset-sha256' does not match/)
    expect(log.text('warning')).toContain(
      `made from another dataset: SHA-256 ${SAMPLE_SHA}, not ${'f'.repeat(64)}`
    )
    expect(served.hits()).toBe(2)
  })
})

describe('cache keys', () => {
  const base = { ...DEFAULT_SETTINGS.dataset }

  it('keys the download by URL and by the expected sha when given', () => {
    const keys = new Set([
      datasetCacheKey(base),
      datasetCacheKey({ ...base, source: 'https://example.com/other.json' }),
      datasetCacheKey({ ...base, sha256: 'a'.repeat(64) })
    ])
    expect(keys.size).toBe(3)
    expect(datasetCacheKey({ ...base, nPrompts: 5 })).toBe(datasetCacheKey(base))
  })

  it('keys the prepared set of a local file by its sha and every filter setting', () => {
    const local = { ...base, source: 'data/local.json' }
    const changes: Partial<DatasetSettings>[] = [
      {},
      { nPrompts: 1 },
      { minTurns: 3 },
      { minTokens: 1 },
      { maxPromptTokens: 5 },
      { maxContext: 5 }
    ]
    const keys = changes.map(change => preparedCacheKey({ ...local, ...change }, SAMPLE_SHA))
    expect(new Set(keys).size).toBe(changes.length)
    expect(preparedCacheKey(local, 'b'.repeat(64))).not.toBe(keys[0])
    expect(preparedCacheKey({ ...local, source: 'elsewhere.json' }, SAMPLE_SHA)).toBe(keys[0])
    expect(() => preparedCacheKey(local)).toThrow(/keyed by its SHA-256/)
  })

  it('keys the prepared set of a URL by the URL, dataset-sha256 and the filters', () => {
    const keys = new Set([
      preparedCacheKey(base),
      preparedCacheKey({ ...base, source: 'https://example.com/other.json' }),
      preparedCacheKey({ ...base, sha256: 'a'.repeat(64) }),
      preparedCacheKey({ ...base, nPrompts: 5 })
    ])
    expect(keys.size).toBe(4)
    // The file's own sha plays no part: the key is known before the download.
    expect(preparedCacheKey(base, SAMPLE_SHA)).toBe(preparedCacheKey(base))
    expect(preparedCacheKey(base)).not.toBe(datasetCacheKey(base))
  })
})

describe('prepareDataset with a URL that serves no dataset', () => {
  it('names the URL, removes the bad download and downloads again on the next run', async () => {
    let hits = 0
    const page = Buffer.from('<!doctype html><html><body>Sign in</body></html>')
    const server = createServer((_req, res) => {
      hits++
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': page.length }).end(page)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/login`
    try {
      const settings = await settingsFor(url)
      await expect(prepareDataset(settings, new MemoryLogger())).rejects.toThrow(
        `'dataset' ${url} did not serve a ShareGPT JSON file`
      )
      expect(await readdir(datasetCachePaths(settings).downloadDir)).toEqual([])
      await expect(prepareDataset(settings, new MemoryLogger())).rejects.toThrow(
        'The download was removed from the cache'
      )
      expect(hits).toBe(2)
    } finally {
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  })
})
