/**
 * Posts the report on the pull request, once: the first run creates the comment, later runs
 * update it in place, so a PR pushed ten times has one comment, not ten.
 *
 * Which comment is ours: one whose body contains `commentMarker(name)` AND that the action
 * itself wrote, i.e. its author is a bot (`user.type === 'Bot'`, as `github-actions[bot]` is
 * for the workflow's `GITHUB_TOKEN`) or the token's own user (a personal access token; asked
 * with `GET /user` only when a marked comment by a non-bot exists). A human who quotes the
 * marker does not get their comment overwritten. When several match, the newest is updated.
 *
 * A comment is a convenience: nothing here throws. Missing permissions, fork PRs and server
 * errors end with a warning saying what to do, and `'skipped'`.
 */
import type { getOctokit } from '@actions/github'
import { errorMessage } from '../errors.js'
import type { Logger } from '../log.js'
import { sanitizeText } from './escape.js'
import { PR_COMMENT_LIMIT, commentMarker } from './markdown.js'

type Octokit = ReturnType<typeof getOctokit>

export interface CommentTarget {
  owner: string
  repo: string
  issueNumber: number
}

interface ListedComment {
  id: number
  body?: string | null
  html_url?: string
  user: { login: string; type?: string } | null
}

/** The login GitHub gives the workflow's `GITHUB_TOKEN`. */
export const ACTIONS_BOT_LOGIN = 'github-actions[bot]'

/** The lines a workflow needs to let the action comment; shown verbatim in the warning. */
export const PERMISSIONS_SNIPPET = 'permissions:\n  pull-requests: write'

function isBot(comment: ListedComment): boolean {
  return comment.user?.type === 'Bot' || comment.user?.login === ACTIONS_BOT_LOGIN
}

/** The token's own login, or null when the token cannot say (GitHub App tokens get 403). */
async function authenticatedLogin(octokit: Octokit): Promise<string | null> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated()
    return data.login
  } catch {
    return null
  }
}

/** Our earlier comment for this marker, per the rule in the module comment; null if none. */
async function findOwnComment(
  octokit: Octokit,
  comments: ListedComment[],
  marker: string
): Promise<ListedComment | null> {
  const marked = comments.filter(comment => (comment.body ?? '').includes(marker))
  if (marked.length === 0) return null
  const byHumans = marked.filter(comment => !isBot(comment))
  const login = byHumans.length > 0 ? await authenticatedLogin(octokit) : null
  const own = marked.filter(
    comment => isBot(comment) || (login !== null && comment.user?.login === login)
  )
  return own.at(-1) ?? null
}

/** The body as posted: with the marker (or the next run would not find it) and within the limit. */
function prepareBody(body: string, marker: string, log: Logger): string {
  const marked = body.includes(marker) ? body : `${marker}\n${body}`
  if (marked.length <= PR_COMMENT_LIMIT) return marked
  log.warning(
    `The pull-request comment is ${marked.length} characters, over GitHub's ${PR_COMMENT_LIMIT}; it was cut.`
  )
  const note = '\n\n… (cut to fit GitHub’s comment size limit)'
  return marked.slice(0, PR_COMMENT_LIMIT - note.length) + note
}

function statusOf(error: unknown): number | null {
  const status = (error as { status?: unknown } | null)?.status
  return typeof status === 'number' ? status : null
}

/** True for the errors a missing `pull-requests: write` or a fork's read-only token gives. */
export function isPermissionError(error: unknown): boolean {
  const status = statusOf(error)
  if (status === 404) return true
  return status === 403 && /not accessible by integration|permission/i.test(errorMessage(error))
}

/** The warning for a failed comment: for permissions, the exact lines to add. */
export function commentFailureMessage(error: unknown): string {
  const status = statusOf(error)
  const what = `${status === null ? 'error' : `HTTP ${status}`}: ${sanitizeText(errorMessage(error), 300)}`
  if (!isPermissionError(error)) {
    return `Could not write the pull-request comment (${what}). The benchmark result is unaffected.`
  }
  return [
    `Could not write the pull-request comment (${what}).`,
    'The workflow token needs write access to pull requests. Add this to the job or the workflow',
    "(when you list permissions, also keep the ones the job needs, e.g. 'contents: read'):",
    '',
    PERMISSIONS_SNIPPET,
    '',
    'Pull requests from forks get a read-only token whatever the workflow asks for: to comment on',
    'them, use the fork-safe \'workflow_run\' pattern in the README (section "Pull requests from forks").',
    'The benchmark result is unaffected.'
  ].join('\n')
}

/**
 * Creates or updates this action's comment for benchmark `name` on the pull request.
 * Never throws: failures are logged as warnings and give `'skipped'`.
 */
export async function upsertPrComment(
  octokit: Octokit,
  target: CommentTarget,
  name: string,
  body: string,
  log: Logger
): Promise<'created' | 'updated' | 'skipped'> {
  const marker = commentMarker(name)
  const issue = { owner: target.owner, repo: target.repo }
  try {
    const text = prepareBody(body, marker, log)
    const comments: ListedComment[] = await octokit.paginate(octokit.rest.issues.listComments, {
      ...issue,
      issue_number: target.issueNumber,
      per_page: 100
    })
    const existing = await findOwnComment(octokit, comments, marker)
    if (existing) {
      const { data } = await octokit.rest.issues.updateComment({
        ...issue,
        comment_id: existing.id,
        body: text
      })
      log.info(`Updated the pull-request comment ${data.html_url ?? existing.id}`)
      return 'updated'
    }
    const { data } = await octokit.rest.issues.createComment({
      ...issue,
      issue_number: target.issueNumber,
      body: text
    })
    log.info(`Created the pull-request comment ${data.html_url ?? data.id}`)
    return 'created'
  } catch (error) {
    log.warning(commentFailureMessage(error))
    return 'skipped'
  }
}
