/**
 * A loopback stand-in for the part of the GitHub REST API the action uses to comment on pull
 * requests, so the real Octokit client (`@actions/github`'s `getOctokit`) runs against it:
 * point `GITHUB_API_URL` (or `getOctokit(token, { baseUrl })`) at `url`.
 *
 * Served, with GitHub's response shapes:
 * - `GET    /repos/:owner/:repo/issues/:number/comments`  paginated like GitHub: `per_page`
 *   (default 30, at most 100) and `page`, with a `Link` header (`next`, `last`, `first`, `prev`)
 * - `POST   /repos/:owner/:repo/issues/:number/comments`  `{ body }` → 201, authored by `actor`
 * - `GET    /repos/:owner/:repo/issues/comments/:id`
 * - `PATCH  /repos/:owner/:repo/issues/comments/:id`       `{ body }` → 200
 * - `DELETE /repos/:owner/:repo/issues/comments/:id`       → 204
 * - `GET    /user`  the actor when it is a user (a personal access token); for a bot actor
 *   (the workflow's `GITHUB_TOKEN`) 403 "Resource not accessible by integration", as GitHub does
 * - anything else: 404 `{"message":"Not Found"}`, or what a handler added with `route` answers
 *
 * Every request is recorded (method, path, query, headers, parsed body). Failures can be
 * switched on: `failWrites(403)` answers POST/PATCH/DELETE with GitHub's real body for a token
 * without permission; `failWrites(404)` is what a fork PR's token gets; `failReads(500)` breaks
 * the reads. Binds 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface GitHubUser {
  login: string
  id: number
  type: 'User' | 'Bot' | 'Organization'
}

/** The author of comments written with a workflow's `GITHUB_TOKEN`. */
export const ACTIONS_BOT: GitHubUser = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' }

/** A person, e.g. a reviewer who quotes the action's comment. */
export const OCTOCAT: GitHubUser = { login: 'octocat', id: 583231, type: 'User' }

export interface IssueTarget {
  owner: string
  repo: string
  issueNumber: number
}

export interface StoredComment extends IssueTarget {
  id: number
  body: string
  user: GitHubUser
  createdAt: string
  updatedAt: string
}

export interface RecordedRequest {
  method: string
  /** Path without the query string, e.g. `/repos/o/r/issues/1/comments`. */
  path: string
  query: Record<string, string>
  headers: Record<string, string | string[] | undefined>
  /** Parsed JSON body, the raw text when it is not JSON, or null when empty. */
  body: unknown
}

export interface RouteResponse {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export type RouteHandler = (request: RecordedRequest, match: RegExpMatchArray) => RouteResponse

export interface GitHubApiStandIn {
  /** Base URL, without a trailing slash: the value for `GITHUB_API_URL` or `baseUrl`. */
  url: string
  /** Every comment on every issue, oldest first; live (tests may read and edit it). */
  comments: StoredComment[]
  /** Every request received, in order. */
  requests: RecordedRequest[]
  /** Who the token belongs to: authors new comments and answers `GET /user`. */
  actor: GitHubUser
  /** Adds an existing comment, as if written earlier by `user` (default: the action's bot). */
  seedComment(target: IssueTarget, body: string, user?: GitHubUser): StoredComment
  /** The comments of one issue, oldest first. */
  commentsOn(target: IssueTarget): StoredComment[]
  /** Answers every later write (POST, PATCH, DELETE) with this status; null to stop. */
  failWrites(status: number | null): void
  /** Answers every later read (GET) with this status; null to stop. */
  failReads(status: number | null): void
  /** Serves another endpoint; checked before the built-in ones. */
  route(method: string, pattern: RegExp, handler: RouteHandler): void
  close(): Promise<void>
}

const DOCS = 'https://docs.github.com/rest'

/** The bodies GitHub sends for these statuses. */
export function gitHubErrorBody(status: number, documentationUrl = DOCS): Record<string, string> {
  const message =
    status === 403
      ? 'Resource not accessible by integration'
      : status === 404
        ? 'Not Found'
        : status === 422
          ? 'Validation Failed'
          : status >= 500
            ? 'Server Error'
            : 'Error'
  return { message, documentation_url: documentationUrl, status: String(status) }
}

const COMMENTS_OF_ISSUE = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/
const ONE_COMMENT = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/

export async function startGitHubApi(
  options: { actor?: GitHubUser } = {}
): Promise<GitHubApiStandIn> {
  const actor = options.actor ?? ACTIONS_BOT
  const comments: StoredComment[] = []
  const requests: RecordedRequest[] = []
  const routes: { method: string; pattern: RegExp; handler: RouteHandler }[] = []
  let writeFailure: number | null = null
  let readFailure: number | null = null
  let nextId = 1_000_001
  // A fake clock so that creation order is visible in the timestamps and tests are repeatable.
  let clock = Date.parse('2025-01-01T00:00:00Z')
  const now = (): string => new Date((clock += 1000)).toISOString()
  let base = ''

  const sameIssue = (comment: StoredComment, target: IssueTarget): boolean =>
    comment.owner === target.owner &&
    comment.repo === target.repo &&
    comment.issueNumber === target.issueNumber

  const toJson = (comment: StoredComment): Record<string, unknown> => {
    const repoUrl = `${base}/repos/${comment.owner}/${comment.repo}`
    return {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      url: `${repoUrl}/issues/comments/${comment.id}`,
      html_url: `https://github.com/${comment.owner}/${comment.repo}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
      issue_url: `${repoUrl}/issues/${comment.issueNumber}`,
      body: comment.body,
      user: { ...comment.user, node_id: `U_${comment.user.id}`, site_admin: false },
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      author_association: comment.user.type === 'Bot' ? 'NONE' : 'MEMBER'
    }
  }

  const addComment = (target: IssueTarget, body: string, user: GitHubUser): StoredComment => {
    const createdAt = now()
    const comment = { ...target, id: nextId++, body, user, createdAt, updatedAt: createdAt }
    comments.push(comment)
    return comment
  }

  /** GitHub's `Link` header for page `page` of `pages`, keeping the other query parameters. */
  const linkHeader = (
    path: string,
    query: Record<string, string>,
    page: number,
    pages: number
  ): string | null => {
    const pageUrl = (n: number): string => {
      const params = new URLSearchParams({ ...query, page: String(n) })
      return `<${base}${path}?${params.toString()}>`
    }
    const links: string[] = []
    if (page > 1) links.push(`${pageUrl(page - 1)}; rel="prev"`)
    if (page < pages)
      links.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(pages)}; rel="last"`)
    if (page > 1) links.push(`${pageUrl(1)}; rel="first"`)
    return links.length > 0 ? links.join(', ') : null
  }

  const listComments = (request: RecordedRequest, target: IssueTarget): RouteResponse => {
    const perPage = Math.min(100, Math.max(1, Number(request.query.per_page ?? 30) || 30))
    const page = Math.max(1, Number(request.query.page ?? 1) || 1)
    const all = comments.filter(comment => sameIssue(comment, target))
    const pages = Math.max(1, Math.ceil(all.length / perPage))
    const slice = all.slice((page - 1) * perPage, page * perPage)
    const link = linkHeader(request.path, request.query, page, pages)
    return { status: 200, body: slice.map(toJson), headers: link ? { link } : {} }
  }

  const builtIn = (request: RecordedRequest): RouteResponse => {
    const { method, path } = request
    const isWrite = method !== 'GET' && method !== 'HEAD'
    if (isWrite && writeFailure !== null)
      return { status: writeFailure, body: gitHubErrorBody(writeFailure) }
    if (!isWrite && readFailure !== null)
      return { status: readFailure, body: gitHubErrorBody(readFailure) }

    if (method === 'GET' && path === '/user') {
      if (actor.type !== 'User')
        return {
          status: 403,
          body: gitHubErrorBody(403, `${DOCS}/users/users#get-the-authenticated-user`)
        }
      return { status: 200, body: { ...actor, node_id: `U_${actor.id}`, site_admin: false } }
    }

    const issueMatch = COMMENTS_OF_ISSUE.exec(path)
    if (issueMatch) {
      const target = {
        owner: issueMatch[1],
        repo: issueMatch[2],
        issueNumber: Number(issueMatch[3])
      }
      if (method === 'GET') return listComments(request, target)
      if (method === 'POST') {
        const body = (request.body as { body?: unknown } | null)?.body
        if (typeof body !== 'string') return { status: 422, body: gitHubErrorBody(422) }
        return { status: 201, body: toJson(addComment(target, body, actor)) }
      }
    }

    const commentMatch = ONE_COMMENT.exec(path)
    if (commentMatch) {
      const index = comments.findIndex(
        comment =>
          comment.id === Number(commentMatch[3]) &&
          comment.owner === commentMatch[1] &&
          comment.repo === commentMatch[2]
      )
      if (index < 0) return { status: 404, body: gitHubErrorBody(404) }
      if (method === 'GET') return { status: 200, body: toJson(comments[index]) }
      if (method === 'DELETE') {
        comments.splice(index, 1)
        return { status: 204 }
      }
      if (method === 'PATCH') {
        const body = (request.body as { body?: unknown } | null)?.body
        if (typeof body !== 'string') return { status: 422, body: gitHubErrorBody(422) }
        comments[index] = { ...comments[index], body, updatedAt: now() }
        return { status: 200, body: toJson(comments[index]) }
      }
    }
    return { status: 404, body: gitHubErrorBody(404) }
  }

  const readBody = async (incoming: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = []
    for await (const chunk of incoming) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    if (text === '') return null
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }

  const handle = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const parsed = new URL(incoming.url ?? '/', base)
    const request: RecordedRequest = {
      method: incoming.method ?? 'GET',
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      headers: { ...incoming.headers },
      body: await readBody(incoming)
    }
    requests.push(request)
    let answer: RouteResponse | null = null
    for (const route of routes) {
      const match = route.method === request.method ? route.pattern.exec(request.path) : null
      if (match) {
        answer = route.handler(request, match)
        break
      }
    }
    answer ??= builtIn(request)
    const payload =
      answer.body === undefined || answer.status === 204 ? '' : JSON.stringify(answer.body)
    response.writeHead(answer.status, {
      ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'x-github-request-id': `STANDIN:${requests.length}`,
      ...answer.headers
    })
    response.end(payload)
  }

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch(error => {
      response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
      response.end(JSON.stringify({ message: String(error) }))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: base,
    comments,
    requests,
    actor,
    seedComment: (target, body, user = ACTIONS_BOT) => addComment(target, body, user),
    commentsOn: target => comments.filter(comment => sameIssue(comment, target)),
    failWrites: status => {
      writeFailure = status
    },
    failReads: status => {
      readFailure = status
    },
    route: (method, pattern, handler) => {
      routes.push({ method: method.toUpperCase(), pattern, handler })
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close(error => (error ? reject(error) : resolve()))
      })
  }
}
