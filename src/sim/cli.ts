/** `llm-bench sim`: the simulated server on its own, for trying the tool or a workflow by hand. */
import type { Command } from 'commander'

import { invalidInput } from '../errors.js'
import {
  describeRule,
  ERROR_STATUSES,
  FLAVORS,
  NUMERIC_RULES,
  satisfiesRule,
  type SimOptions
} from './options.js'
import { startSimServer, type SimServer } from './server.js'

type NumericOption = keyof typeof NUMERIC_RULES

/** Each numeric flag, the option it sets and its help text. */
const NUMERIC_FLAGS: { flag: string; option: NumericOption; value: string; help: string }[] = [
  { flag: 'port', option: 'port', value: 'port', help: 'port to listen on (0 = any free port)' },
  { flag: 'seed', option: 'seed', value: 'n', help: 'seed of every random draw' },
  { flag: 'slots', option: 'slots', value: 'n', help: 'sequences decoded together' },
  {
    flag: 'loading-ms',
    option: 'loadingMs',
    value: 'ms',
    help: 'answer 503 "Loading model" this long'
  },
  {
    flag: 'prefill-ms-per-token',
    option: 'prefillMsPerToken',
    value: 'ms',
    help: 'prefill time per prompt token'
  },
  {
    flag: 'decode-ms-per-token',
    option: 'decodeMsPerToken',
    value: 'ms',
    help: 'decode step of one sequence alone'
  },
  {
    flag: 'batch-slowdown',
    option: 'batchSlowdownPerSeq',
    value: 'fraction',
    help: 'decode step growth per extra active sequence'
  },
  {
    flag: 'output-tokens',
    option: 'outputTokensMean',
    value: 'n',
    help: 'mean natural answer length'
  },
  { flag: 'jitter', option: 'jitter', value: 'fraction', help: 'relative timing noise' },
  {
    flag: 'run-speed',
    option: 'runSpeedFactor',
    value: 'factor',
    help: 'multiplies every duration (runner speed)'
  },
  {
    flag: 'slowdown',
    option: 'slowdown',
    value: 'factor',
    help: 'multiplies every duration (inject a regression)'
  },
  {
    flag: 'prefill-slowdown',
    option: 'prefillSlowdown',
    value: 'factor',
    help: 'multiplies prefill durations'
  },
  {
    flag: 'decode-slowdown',
    option: 'decodeSlowdown',
    value: 'factor',
    help: 'multiplies decode durations'
  },
  {
    flag: 'time-scale',
    option: 'timeScale',
    value: 'factor',
    help: 'run this many times faster than real time'
  },
  {
    flag: 'error-rate',
    option: 'errorRate',
    value: 'fraction',
    help: 'requests answered with --error-status'
  },
  {
    flag: 'disconnect-rate',
    option: 'disconnectRate',
    value: 'fraction',
    help: 'streams cut mid-stream'
  },
  {
    flag: 'stream-error-rate',
    option: 'streamErrorRate',
    value: 'fraction',
    help: 'streams carrying an error event'
  }
]

/** Raw flag values as commander gives them: camelCased flag names, strings. */
export type RawSimFlags = Record<string, unknown>

/** Validates CLI flag values (camelCased, as commander names them) into server options. */
export function parseSimOptions(raw: RawSimFlags): Partial<SimOptions> {
  const options: Partial<SimOptions> = {}
  for (const { flag, option } of NUMERIC_FLAGS) {
    const value = raw[camelCase(flag)]
    if (value !== undefined) options[option] = parseNumber(`--${flag}`, value, option)
  }
  if (raw.host !== undefined) options.host = parseText('--host', raw.host)
  if (raw.model !== undefined) options.modelId = parseText('--model', raw.model)
  if (raw.apiKey !== undefined) options.apiKey = parseText('--api-key', raw.apiKey)
  if (raw.flavor !== undefined) options.flavor = parseFlavor(raw.flavor)
  if (raw.errorStatus !== undefined) options.errorStatus = parseErrorStatus(raw.errorStatus)
  return options
}

function parseNumber(flag: string, value: unknown, option: NumericOption): number {
  const rule = NUMERIC_RULES[option]
  const text = String(value).trim()
  const number = text === '' ? NaN : Number(text)
  if (!satisfiesRule(number, rule)) throw invalidInput(flag, value, describeRule(rule))
  return number
}

function parseText(flag: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidInput(flag, value, 'a non-empty text')
  return value
}

function parseFlavor(value: unknown): SimOptions['flavor'] {
  const found = FLAVORS.find(flavor => flavor === value)
  if (!found) throw invalidInput('--flavor', value, `one of ${FLAVORS.join(', ')}`)
  return found
}

function parseErrorStatus(value: unknown): SimOptions['errorStatus'] {
  const found = ERROR_STATUSES.find(status => String(status) === String(value).trim())
  if (!found) throw invalidInput('--error-status', value, `one of ${ERROR_STATUSES.join(', ')}`)
  return found
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
}

export interface SimCommandIo {
  write(text: string): void
  /** Resolves when the server should stop; SIGINT or SIGTERM by default. */
  stopSignal?: () => Promise<void>
}

const processIo: SimCommandIo = { write: text => void process.stdout.write(text) }

export function addSimCommand(program: Command, io: SimCommandIo = processIo): void {
  const command = program
    .command('sim')
    .description('start the simulated OpenAI-compatible server (continuous batching, seeded)')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--flavor <flavor>', `wire shapes: ${FLAVORS.join(' or ')}`, 'llamacpp')
    .option('--model <id>', 'model id the server reports')
    .option('--error-status <status>', `status of injected errors: ${ERROR_STATUSES.join(', ')}`)
    .option('--api-key <key>', 'require Authorization: Bearer <key>')
  // 8080 is llama-server's port and the default --server-url of `llm-bench run`.
  command.option('--port <port>', 'port to listen on (0 = any free port)', '8080')
  for (const { flag, value, help } of NUMERIC_FLAGS) {
    if (flag !== 'port') command.option(`--${flag} <${value}>`, help)
  }
  command.action(async (flags: RawSimFlags) => {
    await runSim(parseSimOptions(flags), io)
  })
}

/** Starts the server, says where, and keeps it up until the stop signal. */
export async function runSim(options: Partial<SimOptions>, io: SimCommandIo): Promise<void> {
  const server = await startSimServer(options)
  io.write(`simulated server listening on ${server.url}\n`)
  await (io.stopSignal ?? processStopSignal)()
  await stopServer(server, io)
}

async function stopServer(server: SimServer, io: SimCommandIo): Promise<void> {
  await server.close()
  const { requests, completed, errors } = server.stats()
  io.write(
    `simulated server stopped after ${requests} requests (${completed} completed, ${errors} errors)\n`
  )
}

function processStopSignal(): Promise<void> {
  return new Promise(resolve => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
