import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises'
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

  it('warns about a corrupt prepared file and parses again', async () => {
    const settings = await settingsFor(SAMPLE_PATH)
    await prepareDataset(settings, new MemoryLogger())
    const { preparedDir } = datasetCachePaths(settings)
    await writeFile(join(preparedDir, `${preparedCacheKey(SAMPLE_SHA, settings)}.json`), '{"vers')
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

  it('downloads a URL once, then uses the download and the prepared set', async () => {
    let hits = 0
    const server = createServer((_req, res) => {
      hits++
      res.writeHead(200, { 'content-length': SAMPLE.length }).end(SAMPLE)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ShareGPT.json`
      const settings = await settingsFor(url, { sha256: SAMPLE_SHA })
      const first = await prepareDataset(settings, new MemoryLogger())
      expect(first.facts).toMatchObject({ source: url, sha256: SAMPLE_SHA, prompts: 47 })
      expect(await readdir(datasetCachePaths(settings).downloadDir)).toHaveLength(2)
      const second = await prepareDataset(settings, new MemoryLogger())
      expect(second.facts.fromPreparedCache).toBe(true)
      expect(hits).toBe(1)
    } finally {
      await new Promise(resolve => server.close(resolve))
    }
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

  it('keys the prepared set by the dataset sha and every filter setting', () => {
    const changes: Partial<DatasetSettings>[] = [
      {},
      { nPrompts: 1 },
      { minTurns: 3 },
      { minTokens: 1 },
      { maxPromptTokens: 5 },
      { maxContext: 5 }
    ]
    const keys = changes.map(change => preparedCacheKey(SAMPLE_SHA, { ...base, ...change }))
    expect(new Set(keys).size).toBe(changes.length)
    expect(preparedCacheKey('b'.repeat(64), base)).not.toBe(keys[0])
    expect(preparedCacheKey(SAMPLE_SHA, { ...base, source: 'elsewhere.json' })).toBe(keys[0])
  })
})
