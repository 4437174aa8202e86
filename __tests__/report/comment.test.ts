import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { getOctokit } from '@actions/github'
import { MemoryLogger } from '../../src/log.js'
import { upsertPrComment } from '../../src/report/comment.js'
import { commentMarker } from '../../src/report/markdown.js'
import {
  OCTOCAT,
  startGitHubApi,
  type GitHubApiStandIn,
  type GitHubUser
} from '../helpers/github-api.js'

const target = { owner: 'acme', repo: 'inference', issueNumber: 7 }
const marker = commentMarker('default')
const body = (text: string): string => `${marker}\n\n${text}`

let api: GitHubApiStandIn
let log: MemoryLogger

async function start(actor?: GitHubUser): Promise<void> {
  api = await startGitHubApi(actor ? { actor } : {})
}

function octokit(): ReturnType<typeof getOctokit> {
  return getOctokit('test-token', { baseUrl: api.url })
}

beforeEach(async () => {
  log = new MemoryLogger()
  await start()
})

afterEach(async () => {
  await api.close()
})

describe('upsertPrComment', () => {
  it('creates the comment the first time', async () => {
    const result = await upsertPrComment(octokit(), target, 'default', body('first'), log)
    expect(result).toBe('created')
    expect(api.commentsOn(target).map(comment => [comment.body, comment.user.login])).toEqual([
      [body('first'), 'github-actions[bot]']
    ])
    const post = api.requests.find(request => request.method === 'POST')
    expect(post?.path).toBe('/repos/acme/inference/issues/7/comments')
    expect(post?.headers.authorization).toBe('token test-token')
  })

  it('updates the same comment on the next run instead of adding one', async () => {
    await upsertPrComment(octokit(), target, 'default', body('first'), log)
    const result = await upsertPrComment(octokit(), target, 'default', body('second'), log)
    expect(result).toBe('updated')
    const comments = api.commentsOn(target)
    expect(comments).toHaveLength(1)
    expect(comments[0].body).toBe(body('second'))
    expect(api.requests.filter(request => request.method === 'PATCH')).toHaveLength(1)
  })

  it('keeps one comment per benchmark name', async () => {
    await upsertPrComment(octokit(), target, 'default', body('a'), log)
    const other = `${commentMarker('gpu')}\n\nb`
    expect(await upsertPrComment(octokit(), target, 'gpu', other, log)).toBe('created')
    expect(api.commentsOn(target)).toHaveLength(2)
  })

  it('adds the marker when the body lacks it, so the next run finds the comment', async () => {
    await upsertPrComment(octokit(), target, 'default', 'no marker here', log)
    expect(api.commentsOn(target)[0].body).toBe(`${marker}\nno marker here`)
    expect(await upsertPrComment(octokit(), target, 'default', 'again', log)).toBe('updated')
  })

  it('never updates a human’s comment that quotes the marker', async () => {
    const quoted = api.seedComment(target, `> ${marker}\n> why is this slower?`, OCTOCAT)
    const result = await upsertPrComment(octokit(), target, 'default', body('report'), log)
    expect(result).toBe('created')
    expect(api.comments.find(comment => comment.id === quoted.id)?.body).toBe(
      `> ${marker}\n> why is this slower?`
    )
    expect(api.requests.some(request => request.method === 'PATCH')).toBe(false)
  })

  it('updates a comment of the token’s own user when the token is a personal one', async () => {
    await api.close()
    const person: GitHubUser = { login: 'release-bot-person', id: 99, type: 'User' }
    await start(person)
    const own = api.seedComment(target, body('old'), person)
    api.seedComment(target, body('quoted by someone else'), OCTOCAT)
    expect(await upsertPrComment(octokit(), target, 'default', body('new'), log)).toBe('updated')
    expect(api.comments.find(comment => comment.id === own.id)?.body).toBe(body('new'))
    expect(api.comments.find(comment => comment.user.login === 'octocat')?.body).toBe(
      body('quoted by someone else')
    )
  })

  it('finds its comment past the first 100 by following the pages', async () => {
    // 250 comments by people; the action's own is number 180, on the second page.
    for (let index = 0; index < 250; index += 1) {
      if (index === 180) api.seedComment(target, body('old report'))
      else api.seedComment(target, `comment ${index}`, OCTOCAT)
    }
    const result = await upsertPrComment(octokit(), target, 'default', body('new report'), log)
    expect(result).toBe('updated')
    expect(api.commentsOn(target)).toHaveLength(250)
    expect(api.commentsOn(target)[180].body).toBe(body('new report'))
    const pages = api.requests.filter(
      request => request.method === 'GET' && request.path.endsWith('/comments')
    )
    expect(pages.map(request => [request.query.per_page, request.query.page ?? '1'])).toEqual([
      ['100', '1'],
      ['100', '2'],
      ['100', '3']
    ])
  })

  it('updates the newest of several own comments', async () => {
    api.seedComment(target, body('older'))
    const newer = api.seedComment(target, body('newer'))
    await upsertPrComment(octokit(), target, 'default', body('latest'), log)
    expect(api.comments.find(comment => comment.id === newer.id)?.body).toBe(body('latest'))
    expect(api.commentsOn(target)[0].body).toBe(body('older'))
  })

  it('skips with the permissions to add when the token may not write (403)', async () => {
    api.failWrites(403)
    const result = await upsertPrComment(octokit(), target, 'default', body('report'), log)
    expect(result).toBe('skipped')
    const warning = log.text('warning')
    expect(warning).toContain('HTTP 403: Resource not accessible by integration')
    expect(warning).toContain('permissions:\n  pull-requests: write')
    expect(warning).toMatch(/forks .*read-only token/)
    expect(warning).toContain('workflow_run')
    expect(api.commentsOn(target)).toHaveLength(0)
  })

  it('skips with the same advice on a fork PR’s 404', async () => {
    api.failWrites(404)
    expect(await upsertPrComment(octokit(), target, 'default', body('report'), log)).toBe('skipped')
    expect(log.text('warning')).toContain('pull-requests: write')
  })

  it.each([500, 502])(
    'skips with a warning when GitHub answers %i, and never throws',
    async status => {
      api.failReads(status)
      expect(await upsertPrComment(octokit(), target, 'default', body('report'), log)).toBe(
        'skipped'
      )
      const warning = log.text('warning')
      expect(warning).toContain(`HTTP ${status}`)
      expect(warning).not.toContain('pull-requests: write')
    }
  )

  it('skips when GitHub cannot be reached', async () => {
    await api.close()
    const closedUrl = api.url
    await start()
    const unreachable = getOctokit('test-token', { baseUrl: closedUrl })
    expect(await upsertPrComment(unreachable, target, 'default', body('report'), log)).toBe(
      'skipped'
    )
    expect(log.text('warning')).toContain('Could not write the pull-request comment')
  })
})

describe('the GitHub API stand-in', () => {
  it('paginates like GitHub, with a Link header to the next and last pages', async () => {
    for (let index = 0; index < 45; index += 1) api.seedComment(target, `c${index}`, OCTOCAT)
    const response = await fetch(`${api.url}/repos/acme/inference/issues/7/comments?page=1`)
    const page = (await response.json()) as { body: string }[]
    expect(page).toHaveLength(30)
    expect(response.headers.get('link')).toBe(
      `<${api.url}/repos/acme/inference/issues/7/comments?page=2>; rel="next", ` +
        `<${api.url}/repos/acme/inference/issues/7/comments?page=2>; rel="last"`
    )
    const last = await fetch(`${api.url}/repos/acme/inference/issues/7/comments?page=2`)
    expect(((await last.json()) as unknown[]).length).toBe(15)
  })

  it('answers GET /user with 403 for the workflow token, as GitHub does', async () => {
    const response = await fetch(`${api.url}/user`)
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({
      message: 'Resource not accessible by integration'
    })
  })

  it('serves extra routes for other tests', async () => {
    api.route('GET', /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/, (_request, match) => ({
      status: 200,
      body: { number: Number(match[3]) }
    }))
    const response = await fetch(`${api.url}/repos/acme/inference/pulls/7`)
    expect(await response.json()).toEqual({ number: 7 })
  })
})
