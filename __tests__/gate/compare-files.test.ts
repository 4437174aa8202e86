import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { appendRun } from '../../src/baseline/store.js'
import { compareFiles } from '../../src/gate/compare-files.js'
import { DEFAULT_THRESHOLDS, parseThresholds } from '../../src/gate/thresholds.js'
import { FINGERPRINT, results, run } from './fixtures.js'

const options = { thresholds: parseThresholds(DEFAULT_THRESHOLDS), confidence: 0.99 }
let dir = ''

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-bench-compare-'))
  await writeFile(join(dir, 'base.json'), JSON.stringify(results()))
  await writeFile(join(dir, 'slow.json'), JSON.stringify(results({ ttftScale: 1.3 })))
  const baseline = appendRun(null, 'main', FINGERPRINT, run(), 5).file
  await writeFile(join(dir, 'baseline.json'), JSON.stringify(baseline))
  await writeFile(join(dir, 'broken.json'), '{"schema": "llm-bench/res')
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('compareFiles', () => {
  it('compares two results files', async () => {
    const { comparison, baseline, current } = await compareFiles(
      join(dir, 'base.json'),
      join(dir, 'slow.json'),
      options
    )
    expect(comparison.verdict).toBe('regression')
    expect(baseline.runs).toHaveLength(1)
    expect(current.schema).toBe('llm-bench/results')
  })

  it('takes a baseline file on either side', async () => {
    const { comparison, current } = await compareFiles(
      join(dir, 'baseline.json'),
      join(dir, 'baseline.json'),
      options
    )
    expect(comparison.verdict).toBe('pass')
    expect(current.schema).toBe('llm-bench/baseline')
  })

  it.each([
    ['missing.json', "Cannot read the baseline file '%s': it does not exist"],
    ['broken.json', '%s is not valid JSON: ']
  ])('names the path of an unreadable %s', async (file, message) => {
    const path = join(dir, file)
    await expect(compareFiles(path, join(dir, 'base.json'), options)).rejects.toThrow(
      message.replace('%s', path)
    )
  })

  it('names the current file when it is the one missing', async () => {
    const path = join(dir, 'nope.json')
    await expect(compareFiles(join(dir, 'base.json'), path, options)).rejects.toThrow(
      `Cannot read the current file '${path}': it does not exist`
    )
  })
})
