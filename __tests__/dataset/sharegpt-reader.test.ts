import { describe, expect, it } from '@jest/globals'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArrayRecordParser, readShareGptRecords } from '../../src/dataset/sharegpt-reader.js'
import { UserError } from '../../src/errors.js'

const SAMPLE = 'data/sharegpt-v3-sample50.json'

/** Feeds `bytes` split at `cut` and returns every record. */
function parseSplit(bytes: Buffer, cut: number): unknown[] {
  const parser = new ArrayRecordParser('t.json')
  const records = [...parser.push(bytes.subarray(0, cut)), ...parser.push(bytes.subarray(cut))]
  parser.end()
  return records
}

function parseOnce(text: string): unknown[] {
  return parseSplit(Buffer.from(text), text.length)
}

async function collect(path: string, chunkBytes?: number): Promise<unknown[]> {
  const records: unknown[] = []
  for await (const record of readShareGptRecords(path, { chunkBytes })) records.push(record)
  return records
}

describe('ArrayRecordParser', () => {
  const tricky = [
    { id: 'a', conversations: [{ from: 'human', value: 'quote \\" and backslash \\\\ end' }] },
    { id: 'b', text: 'brackets ] } [ { inside, "strings"', nested: { deep: [[1, 2], { x: [] }] } },
    { id: 'c', text: 'multi-byte: é 中文 🎉 \u2028', n: -1.5e3, t: true, f: false, z: null },
    'a bare string',
    42
  ]
  const text = ` \n\t[\n  ${tricky.map(r => JSON.stringify(r)).join(' ,\n\t ')}  \r\n]\n `
  const bytes = Buffer.from(text)

  it('returns the same records whichever byte the input is split at', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(parseSplit(bytes, cut)).toEqual(tricky)
    }
  })

  it('returns the same records when every byte arrives alone', () => {
    const parser = new ArrayRecordParser('t.json')
    const records: unknown[] = []
    for (let i = 0; i < bytes.length; i++) records.push(...parser.push(bytes.subarray(i, i + 1)))
    parser.end()
    expect(records).toEqual(tricky)
  })

  it.each([
    ['an empty array', '[]', []],
    ['an array behind a byte order mark', '\ufeff[{"a":1}]', [{ a: 1 }]],
    ['an array with trailing whitespace', '[1]\n\n  ', [1]]
  ])('accepts %s', (_name, input, expected) => {
    expect(parseOnce(input)).toEqual(expected)
  })

  it.each([
    ['an empty file', '', /is empty; expected a JSON array/],
    ['whitespace only', ' \n ', /is empty; expected a JSON array/],
    [
      'an object at the top level',
      '{"conversations": []}',
      /must hold a JSON array .* byte 0 is "\{"/
    ],
    ['a string at the top level', '  "x"', /must hold a JSON array .* byte 2 is "\\""/],
    [
      'a truncated array',
      '[{"a": 1}, {"b"',
      /ends after 15 bytes before the top-level array is closed/
    ],
    ['an unterminated string', '[{"a": "xyz', /ends after 11 bytes/],
    ['a stray character', '[{"a": 1} x]', /not valid JSON: Unexpected "x" .* at byte 10/],
    [
      'a bad structure',
      '[1, }]',
      /not valid JSON: Unexpected RIGHT_BRACE .* between bytes 0 and 6/
    ],
    ['trailing content after the array', '[1] [2]', /not valid JSON: Unexpected "\[" .* at byte 4/]
  ])('rejects %s with a message naming the file', (_name, input, message) => {
    const run = () => parseOnce(input)
    expect(run).toThrow(UserError)
    expect(run).toThrow(/^'dataset' file 't\.json' /)
    expect(run).toThrow(message)
  })
})

describe('readShareGptRecords', () => {
  it('reads the 50 records of the bundled sample, whatever the chunk size', async () => {
    const whole = JSON.parse(await import('node:fs').then(fs => fs.readFileSync(SAMPLE, 'utf8')))
    for (const chunkBytes of [7, 4096, 1 << 20]) {
      expect(await collect(SAMPLE, chunkBytes)).toEqual(whole)
    }
  })

  it('stops reading when the caller stops iterating', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reader-'))
    const path = join(dir, 'broken-tail.json')
    // The tail is invalid: reaching it would throw, so stopping early must not read it.
    await writeFile(path, `[{"n":1},{"n":2},${' '.repeat(100_000)} oops`)
    const seen: unknown[] = []
    for await (const record of readShareGptRecords(path, { chunkBytes: 64 })) {
      seen.push(record)
      if (seen.length === 2) break
    }
    expect(seen).toEqual([{ n: 1 }, { n: 2 }])
    await expect(collect(path)).rejects.toThrow(/not valid JSON/)
  })

  it('names a missing file', async () => {
    await expect(collect('no/such/file.json')).rejects.toThrow(
      "'dataset' file 'no/such/file.json' does not exist"
    )
  })

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController()
    const reading = (async () => {
      const seen: unknown[] = []
      const options = { chunkBytes: 16, signal: controller.signal }
      for await (const record of readShareGptRecords(SAMPLE, options)) {
        if (seen.push(record) === 3) controller.abort(new Error('stop now'))
      }
    })()
    await expect(reading).rejects.toThrow('stop now')
  })
})
