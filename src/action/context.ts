/**
 * What the action needs to know about the workflow run, read from the runner's environment
 * and the event payload: which branch, whether it is a pull request, where to comment.
 */
import { existsSync, readFileSync } from 'node:fs'

export interface RunContext {
  eventName: string
  /** `owner/repo`. */
  repository: string
  owner: string
  repo: string
  sha: string
  /** The branch the run is on: GITHUB_REF_NAME for a push, the head branch for a pull request. */
  branch: string
  /** The branch a pull request goes into; null when not a pull request. */
  baseBranch: string | null
  defaultBranch: string | null
  pullRequestNumber: number | null
  runId: string
  runAttempt: string
  /** The commit the baseline is measured at: the pull request's head, else GITHUB_SHA. */
  commit: string
  ref: string
  /** On a `workflow_run` event: the head commit the triggering run built. */
  workflowRunHeadSha: string | null
}

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target'])

export function readRunContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const payload = readPayload(env.GITHUB_EVENT_PATH)
  const eventName = env.GITHUB_EVENT_NAME ?? ''
  const isPullRequest = PULL_REQUEST_EVENTS.has(eventName)
  const pr = isPullRequest ? (payload.pull_request as PullRequestPayload | undefined) : undefined
  const repository = env.GITHUB_REPOSITORY ?? payload.repository?.full_name ?? ''
  const [owner = '', repo = ''] = repository.split('/')
  const ref = env.GITHUB_REF ?? ''
  return {
    eventName,
    repository,
    owner,
    repo,
    sha: env.GITHUB_SHA ?? '',
    branch: isPullRequest
      ? env.GITHUB_HEAD_REF || pr?.head?.ref || refName(ref)
      : env.GITHUB_REF_NAME || refName(ref),
    baseBranch: isPullRequest ? env.GITHUB_BASE_REF || pr?.base?.ref || null : null,
    defaultBranch: payload.repository?.default_branch ?? null,
    pullRequestNumber: isPullRequest ? (pr?.number ?? payload.number ?? null) : null,
    runId: env.GITHUB_RUN_ID ?? 'local',
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    commit: pr?.head?.sha ?? env.GITHUB_SHA ?? '',
    ref,
    workflowRunHeadSha:
      eventName === 'workflow_run' ? (payload.workflow_run?.head_sha ?? null) : null
  }
}

export function isPullRequestEvent(context: RunContext): boolean {
  return PULL_REQUEST_EVENTS.has(context.eventName)
}

interface PullRequestPayload {
  number?: number
  head?: { ref?: string; sha?: string }
  base?: { ref?: string }
}

interface Payload {
  number?: number
  pull_request?: unknown
  repository?: { full_name?: string; default_branch?: string }
  workflow_run?: { head_sha?: string }
}

function readPayload(file: string | undefined): Payload {
  if (!file || !existsSync(file)) return {}
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Payload
  } catch {
    return {}
  }
}

/** `refs/heads/main` → `main`; `refs/tags/v1` → `v1`. */
function refName(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '')
}
