/**
 * The simulated server's pure side: seeded randomness, prompt accounting, output lengths and the
 * timing model of a continuously batching server. No I/O and no clock here.
 */
import { gaussian, mixSeeds, mulberry32, type Rng } from '../random.js'
import { countPseudoTokens } from '../dataset/tokens.js'
import type { SimOptions } from './options.js'

/** FNV-1a over UTF-16 code units: a stable 32-bit key of a prompt. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  }
  return hash >>> 0
}

/** A multiplicative noise factor around 1; clamped so a duration never turns negative. */
export function jitterFactor(rng: Rng, jitter: number): number {
  if (jitter === 0) return 1
  return Math.max(0.2, 1 + jitter * gaussian(rng))
}

/** Spread of natural answer lengths: log-normal, like real chat answers (long right tail). */
const OUTPUT_LENGTH_SIGMA = 0.6

/** A natural answer length whose mean is `mean` tokens. */
export function naturalOutputTokens(rng: Rng, mean: number): number {
  const mu = Math.log(mean) - (OUTPUT_LENGTH_SIGMA * OUTPUT_LENGTH_SIGMA) / 2
  return Math.max(1, Math.round(Math.exp(mu + OUTPUT_LENGTH_SIGMA * gaussian(rng))))
}

/** Chat template tokens around each message (`<|im_start|>role\n ... <|im_end|>\n`). */
const TEMPLATE_TOKENS_PER_MESSAGE = 4
/** The assistant turn opener the template appends. */
const TEMPLATE_TOKENS_REPLY = 3

/** The text of a message's content: a string or OpenAI content parts. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map(part =>
      part && typeof part === 'object' && typeof part.text === 'string' ? part.text : ''
    )
    .join(' ')
}

export interface ChatMessage {
  role?: unknown
  content?: unknown
}

/** Prompt tokens as a server would count them: pseudo-tokens of each message plus the template. */
export function countPromptTokens(messages: ChatMessage[]): number {
  const content = messages.reduce((sum, m) => sum + countPseudoTokens(messageText(m.content)), 0)
  return content + TEMPLATE_TOKENS_PER_MESSAGE * messages.length + TEMPLATE_TOKENS_REPLY
}

/** One string keying a conversation, so the same prompt draws the same answer. */
export function promptKey(messages: ChatMessage[]): string {
  return messages.map(m => `${String(m.role)}\u0000${messageText(m.content)}`).join('\u0001')
}

export type TimingKnobs = Pick<
  SimOptions,
  | 'prefillMsPerToken'
  | 'decodeMsPerToken'
  | 'batchSlowdownPerSeq'
  | 'runSpeedFactor'
  | 'slowdown'
  | 'prefillSlowdown'
  | 'decodeSlowdown'
>

/** Simulated time to process the prompt. */
export function prefillMs(knobs: TimingKnobs, promptTokens: number): number {
  const factor = knobs.runSpeedFactor * knobs.slowdown * knobs.prefillSlowdown
  return knobs.prefillMsPerToken * promptTokens * factor
}

/** Simulated time of one decode step while `active` sequences share the batch. */
export function decodeStepMs(knobs: TimingKnobs, active: number): number {
  const batch = 1 + knobs.batchSlowdownPerSeq * Math.max(0, active - 1)
  const factor = knobs.runSpeedFactor * knobs.slowdown * knobs.decodeSlowdown
  return knobs.decodeMsPerToken * batch * factor
}

export type StreamFault = { kind: 'disconnect' | 'stream-error'; afterTokens: number } | null

/** Everything decided about a request before it runs. */
export interface CompletionPlan {
  promptTokens: number
  outputTokens: number
  finishReason: 'stop' | 'length'
  /** Seed of the answer's words. */
  textSeed: number
  /** Per-request timing noise (a slow or fast request as a whole). */
  requestJitter: number
  /** Seed of the per-token timing noise. */
  tokenJitterSeed: number
  fault: StreamFault
}

export interface PlanInput {
  messages: ChatMessage[]
  maxTokens: number | null
  requestSeed: number | null
  ignoreEos: boolean
  stream: boolean
}

/**
 * Decides length, finish reason, noise and faults. The answer depends only on the prompt and the
 * request's `seed` (or the server seed when none), so two runs of a benchmark get the same answers
 * and differ only in timing; the timing and fault draws come from the server's own stream.
 */
export function planCompletion(
  options: Pick<
    SimOptions,
    'seed' | 'outputTokensMean' | 'jitter' | 'disconnectRate' | 'streamErrorRate'
  >,
  input: PlanInput,
  serverRng: Rng
): CompletionPlan {
  const answerSeed = mixSeeds(
    input.requestSeed ?? options.seed,
    hashString(promptKey(input.messages))
  )
  const answerRng = mulberry32(answerSeed)
  const natural = naturalOutputTokens(answerRng, options.outputTokensMean)
  const { outputTokens, finishReason } = answerLength(natural, input.maxTokens, input.ignoreEos)
  const requestJitter = jitterFactor(serverRng, options.jitter)
  const tokenJitterSeed = Math.floor(serverRng() * 2 ** 32)
  const fault = input.stream ? drawFault(options, outputTokens, serverRng) : null
  return {
    promptTokens: countPromptTokens(input.messages),
    outputTokens,
    finishReason,
    textSeed: mixSeeds(answerSeed, 0x7e47),
    requestJitter,
    tokenJitterSeed,
    fault
  }
}

/** `max_tokens` cuts the natural answer (`length`); `ignore_eos` decodes up to it. */
export function answerLength(
  natural: number,
  maxTokens: number | null,
  ignoreEos: boolean
): { outputTokens: number; finishReason: 'stop' | 'length' } {
  if (maxTokens === null) return { outputTokens: natural, finishReason: 'stop' }
  if (ignoreEos || maxTokens < natural) return { outputTokens: maxTokens, finishReason: 'length' }
  return { outputTokens: natural, finishReason: 'stop' }
}

function drawFault(
  options: Pick<SimOptions, 'disconnectRate' | 'streamErrorRate'>,
  outputTokens: number,
  rng: Rng
): StreamFault {
  const roll = rng()
  const afterTokens = Math.floor(rng() * outputTokens)
  if (roll < options.disconnectRate) return { kind: 'disconnect', afterTokens }
  if (roll < options.disconnectRate + options.streamErrorRate) {
    return { kind: 'stream-error', afterTokens }
  }
  return null
}

const WORDS = (
  'the a of and to in is it that was for on with as he she they we you at be this have from ' +
  'one day little time there were said story cat dog bird park friend happy big sun tree ' +
  'model server token answer question because would could about after before water light ' +
  'house garden small very then when what which people world long first other new good'
).split(' ')

/** The answer's tokens: seeded words with a leading space, some punctuation, like real output. */
export function answerTokens(textSeed: number, count: number): string[] {
  const rng = mulberry32(textSeed)
  const tokens: string[] = []
  for (let i = 0; i < count; i++) {
    const roll = rng()
    const word = WORDS[Math.floor(rng() * WORDS.length)]
    if (i > 0 && roll < 0.08) tokens.push('.')
    else if (i > 0 && roll < 0.13) tokens.push(',')
    else tokens.push(i === 0 ? capitalize(word) : ` ${word}`)
  }
  return tokens
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1)
}

export { gaussian, mixSeeds, mulberry32, type Rng } from '../random.js'
