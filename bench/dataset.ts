/**
 * Dataset preparation benchmark: builds a full-size ShareGPT file (94,145 records, ~673 MB) from
 * the bundled sample in a temp folder and measures, each in its own child process so that every
 * peak RSS is its own: the JSON.parse reference on a ~240 MB slice, a full scan examining every
 * record, the first 480 prompts with the defaults, and loading the prepared set.
 * Run: npx tsx bench/dataset.ts
 */
import { spawnSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_SETTINGS } from '../src/config/settings.js'
import { PromptFilter } from '../src/dataset/filters.js'
import { filterDatasetFile, prepareDataset } from '../src/dataset/index.js'
import { readShareGptRecords } from '../src/dataset/sharegpt-reader.js'
import { silentLogger } from '../src/log.js'

const SAMPLE = 'data/sharegpt-v3-sample50.json'
const FULL_RECORDS = 94_145
const FULL_BYTES = 672_837_942
const SLICE_BYTES = 240e6
const GOALS = { peakRssMB: 200, scanRatio: 0.8, first480Ms: 1000, preparedLoadMs: 100 }

interface ChildResult {
  ms: number
  maxRssMB: number
  records: number
  prompts: number
}

// ---- file building ----------------------------------------------------------------------------

interface SampleRecord {
  conversations: unknown
  prompt?: unknown
}

/**
 * Records in the real file's layout (`{id, conversations}`, indented by 2). The sample's
 * conversations are shorter than the real average, so some records also carry the sample's
 * `prompt` field (ignored by the reader) to bring the file to the real size.
 */
function recordTexts(sample: SampleRecord[]): { base: string[]; padded: string[] } {
  const render = (record: object) => JSON.stringify(record, null, 2).replace(/^/gm, '  ')
  return {
    base: sample.map(r => render({ id: 'ID', conversations: r.conversations })),
    padded: sample.map(r => render({ id: 'ID', conversations: r.conversations, prompt: r.prompt }))
  }
}

function writeDataset(path: string, count: number, paddedShare: number): number {
  const sample = JSON.parse(readFileSync(SAMPLE, 'utf8')) as SampleRecord[]
  const { base, padded } = recordTexts(sample)
  const fd = openSync(path, 'w')
  let batch = '[\n'
  for (let i = 0; i < count; i++) {
    const pad = Math.floor((i + 1) * paddedShare) > Math.floor(i * paddedShare)
    const text = (pad ? padded : base)[i % sample.length].replace('"ID"', `"bench_${i}"`)
    batch += text + (i < count - 1 ? ',\n' : '\n')
    if (batch.length > 1 << 22) {
      writeSync(fd, batch)
      batch = ''
    }
  }
  writeSync(fd, batch + ']\n')
  closeSync(fd)
  return statSync(path).size
}

/** Share of records that carry the padding field so the file reaches `targetBytes`. */
function paddingShare(count: number, targetBytes: number): number {
  const sample = JSON.parse(readFileSync(SAMPLE, 'utf8')) as SampleRecord[]
  const { base, padded } = recordTexts(sample)
  const mean = (texts: string[]) =>
    texts.reduce((s, t) => s + Buffer.byteLength(t) + 2, 0) / texts.length
  const extra = mean(padded) - mean(base)
  return Math.min(1, Math.max(0, (targetBytes / count - mean(base)) / extra))
}

// ---- children ---------------------------------------------------------------------------------

async function child(mode: string, path: string, cacheDir: string): Promise<ChildResult> {
  const filters = DEFAULT_SETTINGS.dataset
  const started = performance.now()
  let records = 0
  let prompts = 0
  if (mode === 'reference') {
    const all = JSON.parse(readFileSync(path, 'utf8')) as unknown[]
    const filter = new PromptFilter({ ...filters, nPrompts: Number.MAX_SAFE_INTEGER })
    for (const record of all) filter.offer(record)
    records = all.length
    prompts = filter.prompts.length
  } else if (mode === 'scan') {
    // Every record through every filter (no early stop), keeping the default 480 prompts: the
    // memory of reading, not of holding 88k prompts.
    const filter = new PromptFilter(filters)
    for await (const record of readShareGptRecords(path)) filter.offer(record)
    records = filter.stages()[0].kept
    prompts = filter.stages()[5].kept
  } else if (mode === 'scanKeepAll' || mode === 'first480') {
    const nPrompts = mode === 'scanKeepAll' ? Number.MAX_SAFE_INTEGER : filters.nPrompts
    const set = await filterDatasetFile(path, { ...filters, nPrompts })
    records = set.stages[0].kept
    prompts = set.prompts.length
  } else if (mode === 'prepared') {
    const settings = { ...filters, source: path, cacheDir }
    const loaded = await prepareDataset(settings, silentLogger)
    if (!loaded.facts.fromPreparedCache) throw new Error('the prepared set was not used')
    prompts = loaded.prompts.length
  } else if (mode === 'fill') {
    const settings = { ...filters, source: path, cacheDir }
    prompts = (await prepareDataset(settings, silentLogger)).prompts.length
  }
  const ms = performance.now() - started
  return { ms, maxRssMB: process.resourceUsage().maxRSS / 1024, records, prompts }
}

function runChild(mode: string, path: string, cacheDir = ''): ChildResult {
  const args = [...process.execArgv, import.meta.filename, 'child', mode, path, cacheDir]
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`child ${mode} failed: ${result.stderr}`)
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ChildResult
}

// ---- report -----------------------------------------------------------------------------------

function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS'
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-bench-dataset-'))
  try {
    const full = join(dir, 'sharegpt-full.json')
    const slice = join(dir, 'sharegpt-slice.json')
    const share = paddingShare(FULL_RECORDS, FULL_BYTES)
    let t = performance.now()
    const fullBytes = writeDataset(full, FULL_RECORDS, share)
    const sliceRecords = Math.round((FULL_RECORDS * SLICE_BYTES) / fullBytes)
    const sliceBytes = writeDataset(slice, sliceRecords, share)
    console.log(
      `built ${FULL_RECORDS} records, ${(fullBytes / 1e6).toFixed(1)} MB (slice ${sliceRecords} records, ${(sliceBytes / 1e6).toFixed(1)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`
    )
    t = performance.now()
    const reference = runChild('reference', slice)
    const scan = runChild('scan', full)
    const keepAll = runChild('scanKeepAll', full)
    const first = runChild('first480', full)
    const cacheDir = join(dir, 'cache')
    const fill = runChild('fill', full, cacheDir)
    const prepared = runChild('prepared', full, cacheDir)
    const refRate = sliceBytes / 1e6 / (reference.ms / 1000)
    const scanRate = fullBytes / 1e6 / (scan.ms / 1000)
    const ratio = scanRate / refRate
    const lines = [
      `reference JSON.parse + filters, ${(sliceBytes / 1e6).toFixed(0)} MB slice: ${(reference.ms / 1000).toFixed(2)} s, ${refRate.toFixed(1)} MB/s, peak RSS ${reference.maxRssMB.toFixed(0)} MB (${reference.prompts} of ${reference.records} kept)`,
      `full scan, every record examined: ${(scan.ms / 1000).toFixed(2)} s, ${scanRate.toFixed(1)} MB/s = ${ratio.toFixed(2)}x reference (goal >= ${GOALS.scanRatio}x) ${verdict(ratio >= GOALS.scanRatio)}; peak RSS ${scan.maxRssMB.toFixed(0)} MB (goal <= ${GOALS.peakRssMB}) ${verdict(scan.maxRssMB <= GOALS.peakRssMB)} (${scan.prompts} of ${scan.records} kept)`,
      `full scan with n-prompts above the record count (all ${keepAll.prompts} prompts held): ${(keepAll.ms / 1000).toFixed(2)} s, ${(fullBytes / 1e6 / (keepAll.ms / 1000)).toFixed(1)} MB/s, peak RSS ${keepAll.maxRssMB.toFixed(0)} MB (grows with the prompts kept, not the file)`,
      `first ${first.prompts} prompts, defaults: ${first.ms.toFixed(0)} ms (goal < ${GOALS.first480Ms}) ${verdict(first.ms < GOALS.first480Ms)}; peak RSS ${first.maxRssMB.toFixed(0)} MB, ${first.records} records read`,
      `first run of prepareDataset (hash of the local file + prepare + save): ${fill.ms.toFixed(0)} ms`,
      `prepared set loaded by prepareDataset: ${prepared.ms.toFixed(1)} ms (goal < ${GOALS.preparedLoadMs}) ${verdict(prepared.ms < GOALS.preparedLoadMs)}`
    ]
    for (const line of lines) console.log(line)
    console.log(`measured in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    const summary = {
      fileBytes: fullBytes,
      records: FULL_RECORDS,
      reference: {
        bytes: sliceBytes,
        ms: reference.ms,
        mbPerS: refRate,
        peakRssMB: reference.maxRssMB
      },
      scan: { ms: scan.ms, mbPerS: scanRate, ratio, peakRssMB: scan.maxRssMB },
      scanKeepAll: { ms: keepAll.ms, peakRssMB: keepAll.maxRssMB, prompts: keepAll.prompts },
      first480: { ms: first.ms, peakRssMB: first.maxRssMB },
      firstRunMs: fill.ms,
      preparedLoadMs: prepared.ms,
      pass: {
        peakRss: scan.maxRssMB <= GOALS.peakRssMB,
        scanRatio: ratio >= GOALS.scanRatio,
        first480: first.ms < GOALS.first480Ms,
        preparedLoad: prepared.ms < GOALS.preparedLoadMs
      }
    }
    console.log(JSON.stringify(summary))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'child') {
  const [mode, path, cacheDir] = process.argv.slice(3)
  console.log(JSON.stringify(await child(mode, path, cacheDir)))
} else {
  await main()
}
