/**
 * Which runs compare with which baseline and which save one: the run context read from the
 * runner's variables and event payload, the baseline keys, and the save decision.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from '@jest/globals'

import {
  baselineKey,
  baselineKeyPrefix,
  baselineSaveDecision
} from '../../src/action/baseline-cache.js'
import { readRunContext } from '../../src/action/context.js'
import { readConfig, type SaveBaseline } from '../../src/action/inputs.js'

const dir = mkdtempSync(join(tmpdir(), 'context-'))

function contextOf(
  eventName: string,
  ref: string,
  payload: unknown,
  extra: NodeJS.ProcessEnv = {}
) {
  const file = join(dir, `${eventName}-${Math.random()}.json`)
  writeFileSync(file, JSON.stringify(payload))
  return readRunContext({
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: file,
    GITHUB_REF: ref,
    GITHUB_SHA: 'f'.repeat(40),
    GITHUB_REPOSITORY: 'acme/inference',
    GITHUB_RUN_ID: '42',
    GITHUB_RUN_ATTEMPT: '2',
    ...extra
  })
}

const repository = { full_name: 'acme/inference', default_branch: 'main' }
const pullRequest = {
  number: 7,
  pull_request: { number: 7, head: { ref: 'feature', sha: 'b'.repeat(40) }, base: { ref: 'main' } },
  repository
}

describe('readRunContext', () => {
  it('reads a push', () => {
    expect(contextOf('push', 'refs/heads/main', { repository })).toMatchObject({
      owner: 'acme',
      repo: 'inference',
      branch: 'main',
      baseBranch: null,
      defaultBranch: 'main',
      pullRequestNumber: null,
      commit: 'f'.repeat(40)
    })
  })

  it('reads a pull request: head branch, base branch, number, head commit', () => {
    const context = contextOf('pull_request', 'refs/pull/7/merge', pullRequest, {
      GITHUB_HEAD_REF: 'feature',
      GITHUB_BASE_REF: 'main'
    })
    expect(context).toMatchObject({
      branch: 'feature',
      baseBranch: 'main',
      pullRequestNumber: 7,
      commit: 'b'.repeat(40)
    })
  })

  it('falls back on the payload when GITHUB_BASE_REF is not set', () => {
    const context = contextOf('pull_request_target', 'refs/heads/main', pullRequest)
    expect(context).toMatchObject({ branch: 'feature', baseBranch: 'main', pullRequestNumber: 7 })
  })
})

describe('baseline keys', () => {
  it('are unique per run and restored by the prefix without the run part', () => {
    const context = contextOf('push', 'refs/heads/main', { repository })
    const key = baselineKey('gpu', '0123456789abcdef', context)
    expect(key).toBe('llm-bench-baseline-gpu-0123456789abcdef-main-42-2')
    expect(key.startsWith(baselineKeyPrefix('gpu', '0123456789abcdef', 'main'))).toBe(true)
  })

  it('hold no commas, which cache keys forbid', () => {
    expect(baselineKeyPrefix('x', 'h', 'a,b c')).toBe('llm-bench-baseline-x-h-a_b_c-')
  })
})

describe('baselineSaveDecision', () => {
  const config = (saveBaseline: SaveBaseline) => ({
    ...readConfig({}),
    saveBaseline
  })
  const push = (branch: string) => contextOf('push', `refs/heads/${branch}`, { repository })

  it.each([
    ['a push to the default branch', 'auto', push('main'), true],
    ['a push to another branch', 'auto', push('feature'), false],
    [
      'a manual run on the default branch',
      'auto',
      contextOf('workflow_dispatch', 'refs/heads/main', { repository }),
      true
    ],
    [
      'a schedule, whose payload names no default branch',
      'auto',
      contextOf('schedule', 'refs/heads/main', {}),
      true
    ],
    ['a pull request', 'auto', contextOf('pull_request', 'refs/pull/7/merge', pullRequest), false],
    ['a release', 'auto', contextOf('release', 'refs/tags/v1', { repository }), false],
    [
      'a pull request forced to save',
      'true',
      contextOf('pull_request', 'refs/pull/7/merge', pullRequest),
      true
    ],
    ['a default-branch push told not to', 'false', push('main'), false]
  ] as const)('%s: save %s', (_what, mode, context, save) => {
    expect(baselineSaveDecision(config(mode), context).save).toBe(save)
  })
})
