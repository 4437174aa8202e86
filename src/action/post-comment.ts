/**
 * The second half of the fork-safe pattern: a `workflow_run` job, which has a write token but
 * runs none of the fork's code, posts the comment that the `pull_request` job rendered.
 * The file and the number come from the fork's run and are not trusted: the body is only ever
 * posted as this benchmark's comment (size-capped, marker added), and on a `workflow_run` event
 * the pull request must be the one whose head commit that run built.
 */
import { readFile } from 'node:fs/promises'

import * as core from '@actions/core'
import { getOctokit } from '@actions/github'

import { UserError, errorMessage, invalidInput } from '../errors.js'
import { upsertPrComment } from '../report/comment.js'
import type { RunContext } from './context.js'
import type { ActionConfig } from './inputs.js'
import { actionsLogger } from './logger.js'

export async function postCommentFile(
  config: ActionConfig,
  context: RunContext,
  file: string
): Promise<void> {
  const number = pullRequestNumber(config.pullRequest)
  const body = await readCommentFile(file)
  if (!config.githubToken || !context.owner) {
    throw new UserError("'post-comment-file' needs 'github-token' and a repository to comment in")
  }
  const octokit = getOctokit(config.githubToken)
  const target = { owner: context.owner, repo: context.repo, issueNumber: number }

  if (context.workflowRunHeadSha) {
    const { data } = await octokit.rest.pulls.get({ ...target, pull_number: number })
    if (data.head.sha !== context.workflowRunHeadSha) {
      core.warning(
        `Not commenting on pull request #${number}: its head is ${data.head.sha}, but the ` +
          `benchmark ran on ${context.workflowRunHeadSha}. The pull request moved on, or the ` +
          "'pull-request' number does not belong to that run."
      )
      return
    }
  }
  const outcome = await upsertPrComment(octokit, target, config.name, body, actionsLogger)
  core.setOutput('comment', outcome)
}

function pullRequestNumber(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) {
    throw invalidInput('pull-request', value, "the pull request's number, such as 42")
  }
  return Number(value)
}

async function readCommentFile(file: string): Promise<string> {
  try {
    const body = await readFile(file, 'utf8')
    if (body.trim() === '') throw new Error('it is empty')
    return body
  } catch (error) {
    throw invalidInput(
      'post-comment-file',
      file,
      `a readable comment file (${errorMessage(error)})`
    )
  }
}
