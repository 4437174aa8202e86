/**
 * A loopback stand-in for the GitHub Actions cache service, v2 (the one @actions/cache 6
 * speaks when ACTIONS_CACHE_SERVICE_V2 is set): Twirp JSON calls under ACTIONS_RESULTS_URL,
 * and blob uploads and downloads at "signed URLs" that point back here, answering the Azure
 * Blob REST calls the Azure SDK makes (single-shot PUT, or PUT block + PUT block list) and
 * plain GETs with Range support. So the library's own code (tar, zstd, HTTP) runs for real.
 *
 * Matching follows the service: the primary key must match exactly; each restore key then
 * matches by prefix, newest entry first; the version (paths + compression) must match.
 * Entries are immutable: creating an existing key + version is a 409 `already_exists`.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/'
const BLOB_PREFIX = '/devstoreaccount1/actions-cache/'
export const CACHE_RUNTIME_TOKEN = 'cache-runtime-token-for-tests'

export interface CacheEntry {
  key: string
  version: string
  blobId: string
  size: number
  committed: boolean
  /** Order of finalization: larger is newer. */
  sequence: number
}

export interface CacheCall {
  method: string
  path: string
}

export interface CacheServiceStandIn {
  /** ACTIONS_RESULTS_URL, ends with `/`. */
  url: string
  /** Environment for a child process that uses this service (or, when down, an unreachable one). */
  env(): Record<string, string>
  /** Committed entries, oldest first. */
  entries(): CacheEntry[]
  calls: CacheCall[]
  /** `refused`: the env points at a closed port; `error`: every call answers 500. */
  setDown(mode: 'refused' | 'error' | null): void
  close(): Promise<void>
}

export async function startCacheService(): Promise<CacheServiceStandIn> {
  const entries = new Map<string, CacheEntry>()
  const blobs = new Map<string, Buffer>()
  const blocks = new Map<string, Map<string, Buffer>>()
  const calls: CacheCall[] = []
  let sequence = 0
  let down: 'refused' | 'error' | null = null
  let base = ''

  const entryId = (key: string, version: string): string => `${version}\u0000${key}`

  const twirp: Record<string, (body: Record<string, unknown>) => [number, unknown]> = {
    CreateCacheEntry(body) {
      const key = String(body.key ?? '')
      const version = String(body.version ?? '')
      const existing = entries.get(entryId(key, version))
      if (existing?.committed) {
        const msg = 'cache entry with the same key, version, and scope already exists'
        return [409, { code: 'already_exists', msg }]
      }
      const blobId = randomUUID()
      entries.set(entryId(key, version), {
        key,
        version,
        blobId,
        size: 0,
        committed: false,
        sequence: 0
      })
      return [200, { ok: true, signed_upload_url: signedUrl(blobId) }]
    },
    FinalizeCacheEntryUpload(body) {
      const entry = entries.get(entryId(String(body.key ?? ''), String(body.version ?? '')))
      if (!entry || !blobs.has(entry.blobId)) {
        return [404, { code: 'not_found', msg: 'no uploaded blob for this cache entry' }]
      }
      entry.committed = true
      entry.size = Number(body.size_bytes ?? blobs.get(entry.blobId)!.length)
      entry.sequence = ++sequence
      return [200, { ok: true, entry_id: String(entry.sequence) }]
    },
    GetCacheEntryDownloadURL(body) {
      const version = String(body.version ?? '')
      const committed = [...entries.values()].filter(e => e.committed && e.version === version)
      const exact = committed.find(e => e.key === body.key)
      const restoreKeys = (body.restore_keys as string[] | undefined) ?? []
      const byPrefix = restoreKeys
        .map(
          prefix =>
            committed
              .filter(e => e.key.startsWith(prefix))
              .sort((a, b) => b.sequence - a.sequence)[0]
        )
        .find(Boolean)
      const match = exact ?? byPrefix
      if (!match) return [200, { ok: false }]
      return [
        200,
        { ok: true, signed_download_url: signedUrl(match.blobId), matched_key: match.key }
      ]
    }
  }

  function signedUrl(blobId: string): string {
    return `${base}${BLOB_PREFIX.slice(1)}${blobId}?sv=2024-01-01&se=2099-01-01&sp=rcw&sig=c2lnbmF0dXJl`
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base)
    calls.push({ method: req.method ?? '', path: url.pathname + url.search })
    const body = await readBody(req)
    if (down === 'error') return send(res, 500, { code: 'internal', msg: 'cache service down' })
    if (url.pathname.startsWith(TWIRP_PREFIX) && req.method === 'POST') {
      if (req.headers.authorization !== `Bearer ${CACHE_RUNTIME_TOKEN}`) {
        return send(res, 401, { code: 'unauthenticated', msg: 'missing or wrong runtime token' })
      }
      const method = twirp[url.pathname.slice(TWIRP_PREFIX.length)]
      if (!method) return send(res, 404, { code: 'bad_route', msg: `no method ${url.pathname}` })
      const [status, answer] = method(JSON.parse(body.toString('utf8') || '{}'))
      return send(res, status, answer)
    }
    if (url.pathname.startsWith(BLOB_PREFIX)) {
      return blob(req, res, url, body)
    }
    send(res, 404, { msg: 'not found' })
  }

  function blob(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
    const blobId = url.pathname.slice(BLOB_PREFIX.length)
    const comp = url.searchParams.get('comp')
    if (req.method === 'PUT' && comp === 'block') {
      const list = blocks.get(blobId) ?? new Map<string, Buffer>()
      list.set(url.searchParams.get('blockid') ?? '', body)
      blocks.set(blobId, list)
      return azureCreated(res)
    }
    if (req.method === 'PUT' && comp === 'blocklist') {
      const ids = [...body.toString('utf8').matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)</g)]
      const list = blocks.get(blobId) ?? new Map<string, Buffer>()
      blobs.set(blobId, Buffer.concat(ids.map(([, id]) => list.get(id) ?? Buffer.alloc(0))))
      blocks.delete(blobId)
      return azureCreated(res)
    }
    if (req.method === 'PUT') {
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') {
        res.writeHead(400, { 'x-ms-error-code': 'MissingRequiredHeader' }).end()
        return
      }
      blobs.set(blobId, body)
      return azureCreated(res)
    }
    const data = blobs.get(blobId)
    if (!data) {
      res.writeHead(404, { 'x-ms-error-code': 'BlobNotFound' }).end()
      return
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': data.length, 'x-ms-blob-type': 'BlockBlob' }).end()
      return
    }
    const range = /bytes=(\d+)-(\d*)/.exec(
      String(req.headers['x-ms-range'] ?? req.headers.range ?? '')
    )
    if (req.method === 'GET' && range) {
      const start = Number(range[1])
      const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1
      res.writeHead(206, {
        'content-length': end - start + 1,
        'content-range': `bytes ${start}-${end}/${data.length}`
      })
      res.end(data.subarray(start, end + 1))
      return
    }
    res.writeHead(200, {
      'content-length': data.length,
      'content-type': 'application/octet-stream'
    })
    res.end(data)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(error => send(res, 500, { code: 'internal', msg: String(error) }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const closedPort = await unusedPort()

  return {
    url: base,
    calls,
    env: () => ({
      ACTIONS_CACHE_SERVICE_V2: 'true',
      ACTIONS_RESULTS_URL: down === 'refused' ? `http://127.0.0.1:${closedPort}/` : base,
      ACTIONS_RUNTIME_TOKEN: CACHE_RUNTIME_TOKEN
    }),
    entries: () =>
      [...entries.values()].filter(e => e.committed).sort((a, b) => a.sequence - b.sequence),
    setDown: mode => {
      down = mode
    },
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

function azureCreated(res: ServerResponse): void {
  res.writeHead(201, {
    etag: `"0x${Date.now().toString(16).toUpperCase()}"`,
    'last-modified': new Date().toUTCString(),
    'x-ms-request-id': randomUUID(),
    'x-ms-version': '2024-01-01',
    'x-ms-request-server-encrypted': 'true',
    'content-length': 0
  })
  res.end()
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text)
  })
  res.end(text)
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** A port nothing listens on: bound, noted, then released. */
async function unusedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>(resolve => probe.close(() => resolve()))
  return port
}
