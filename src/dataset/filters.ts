/**
 * The prompt filters of llama.cpp's k6 server benchmark (tools/server/bench/script.js), in its
 * order, one record at a time so that reading can stop as soon as enough prompts are kept.
 * Pure: no I/O, so every rule is tested on plain objects.
 */
import type { DatasetSettings } from '../config/settings.js'
import { countPseudoTokens } from './tokens.js'
import type { PreparedPrompt } from './types.js'

export type FilterSettings = Pick<
  DatasetSettings,
  'nPrompts' | 'minTurns' | 'minTokens' | 'maxPromptTokens' | 'maxContext'
>

/** Stage names as written to DatasetFacts.stages, in order. */
export const STAGES = [
  'read',
  'minTurns',
  'firstFromHuman',
  'minTokens',
  'maxPromptTokens',
  'maxContext',
  'nPrompts'
] as const
export type StageName = (typeof STAGES)[number]

/** The user-facing input behind each stage, for messages. */
export const STAGE_INPUTS: Record<StageName, string> = {
  read: 'dataset',
  minTurns: 'min-turns',
  firstFromHuman: 'dataset',
  minTokens: 'min-tokens',
  maxPromptTokens: 'max-prompt-tokens',
  maxContext: 'max-context',
  nPrompts: 'n-prompts'
}

export interface StageCount {
  name: string
  kept: number
}

interface Turn {
  from: unknown
  value: string
}

/** Keeps the first `nPrompts` prompts that pass every filter, counting what each stage keeps. */
export class PromptFilter {
  readonly prompts: PreparedPrompt[] = []
  private readonly kept = new Map<StageName, number>(STAGES.map(name => [name, 0]))

  constructor(private readonly settings: FilterSettings) {}

  /** True once `nPrompts` prompts are kept: later records cannot change the result. */
  get full(): boolean {
    return this.prompts.length >= this.settings.nPrompts
  }

  /** Examines one record in file order. */
  offer(record: unknown): void {
    this.pass('read')
    const turns = wellFormedTurns(record)
    if (!turns || turns.length < Math.max(2, this.settings.minTurns)) return
    this.pass('minTurns')
    if (turns[0].from !== 'human') return
    this.pass('firstFromHuman')
    const promptTokens = countPseudoTokens(turns[0].value)
    const completionTokens = countPseudoTokens(turns[1].value)
    const { minTokens, maxPromptTokens, maxContext } = this.settings
    if (promptTokens < minTokens || completionTokens < minTokens) return
    this.pass('minTokens')
    if (promptTokens > maxPromptTokens) return
    this.pass('maxPromptTokens')
    if (promptTokens + completionTokens > maxContext) return
    this.pass('maxContext')
    if (this.full) return
    this.pass('nPrompts')
    this.prompts.push({ prompt: turns[0].value, promptTokens, completionTokens })
  }

  stages(): StageCount[] {
    return STAGES.map(name => ({ name, kept: this.kept.get(name) ?? 0 }))
  }

  private pass(stage: StageName): void {
    this.kept.set(stage, (this.kept.get(stage) ?? 0) + 1)
  }
}

/**
 * The conversation when the record has the shape the filters read (an object whose
 * `conversations` array starts with turns holding string values); null for a malformed record,
 * which the first stage drops like a too-short one instead of failing the run.
 */
function wellFormedTurns(record: unknown): Turn[] | null {
  if (typeof record !== 'object' || record === null) return null
  const turns = (record as { conversations?: unknown }).conversations
  if (!Array.isArray(turns)) return null
  const used = turns.slice(0, 2)
  return used.every(isTurn) ? (turns as Turn[]) : null
}

function isTurn(turn: unknown): turn is Turn {
  return typeof turn === 'object' && turn !== null && typeof (turn as Turn).value === 'string'
}

/** The stage that dropped the last records standing, when no prompt survived; null otherwise. */
export function lastDroppingStage(stages: StageCount[]): StageCount | null {
  if (stages.at(-1)?.kept !== 0) return null
  const index = stages.findIndex(stage => stage.kept === 0)
  return index > 0 ? stages[index] : null
}

/** `read 50 → min-turns 50 → ...`, the line logged after preparing. */
export function formatStages(stages: StageCount[]): string {
  return stages.map(stage => `${stageLabel(stage.name)} ${stage.kept}`).join(' → ')
}

function stageLabel(name: string): string {
  return name === 'read' || name === 'firstFromHuman'
    ? name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
    : (STAGE_INPUTS[name as StageName] ?? name)
}

/** Threshold of a stage, for the zero-prompts message. */
export function stageThreshold(name: string, settings: FilterSettings): string {
  switch (name) {
    case 'minTurns':
      return `${settings.minTurns}`
    case 'firstFromHuman':
      return `first turn from 'human'`
    case 'minTokens':
      return `${settings.minTokens}`
    case 'maxPromptTokens':
      return `${settings.maxPromptTokens}`
    case 'maxContext':
      return `${settings.maxContext}`
    case 'nPrompts':
      return `${settings.nPrompts}`
    default:
      return ''
  }
}
