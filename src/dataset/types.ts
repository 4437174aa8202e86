import type { DatasetFacts } from '../results/schema.js'

/** One prompt kept by the filters, with the pseudo-token counts the filters computed. */
export interface PreparedPrompt {
  prompt: string
  /** Pseudo-tokens of the first (human) turn. */
  promptTokens: number
  /** Pseudo-tokens of the second turn, the dataset's own answer. */
  completionTokens: number
}

export interface PreparedDataset {
  prompts: PreparedPrompt[]
  facts: DatasetFacts
}
