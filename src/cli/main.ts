/**
 * `llm-bench`: the engine on a laptop. `run` benchmarks a server, `demo` benchmarks the
 * built-in simulated server, `sim` starts that server alone, `compare` gates two results files.
 */
import { Command, CommanderError, Option } from 'commander'

import { UserError, errorMessage } from '../errors.js'
import { addSimCommand } from '../sim/cli.js'
import { TOOL_VERSION } from '../version.js'
import { runCompare } from './compare-command.js'
import { runDemo } from './demo-command.js'
import { terminalLogger } from './logger.js'
import { RUN_FLAGS, SEED_ENVIRONMENT } from './options.js'
import { runAndReport, settingsFromFlags } from './run-command.js'

const DEFAULT_RESULTS_FILE = 'llm-bench-results.json'

function buildProgram(): Command {
  const program = new Command('llm-bench')
    .description('Benchmark an OpenAI-compatible LLM inference server with real ShareGPT prompts.')
    .version(TOOL_VERSION)
    .showHelpAfterError()
    .exitOverride()

  const run = program
    .command('run')
    .description('benchmark a running server and write the results file')
    .option('--out <file>', 'results file to write', DEFAULT_RESULTS_FILE)
    .option('--verbose', 'show debug messages')
  for (const flag of RUN_FLAGS) {
    const variable = SEED_ENVIRONMENT[flag.name]
    const description = variable ? `${flag.description} [env: ${variable}]` : flag.description
    run.addOption(new Option(`--${flag.name} <${flag.value}>`, description))
  }
  run.action(
    async (flags: Record<string, string | undefined> & { out: string; verbose?: boolean }) => {
      const settings = settingsFromFlags(flags)
      const results = await runAndReport(settings, io(flags.out, flags.verbose === true))
      process.exitCode = results.status === 'completed' ? 0 : 1
    }
  )

  program
    .command('demo')
    .description(
      'start the simulated server on loopback and benchmark it with the bundled ShareGPT sample'
    )
    .option('--duration <duration>', 'measured phase', '20s')
    .option('--concurrency <n>', 'virtual users', '8')
    .option('--seed <n>', 'seed of the simulated server', '1')
    .option(
      '--time-scale <factor>',
      'run the simulated server this many times faster than real time',
      '2'
    )
    .option('--out <file>', 'results file to write', DEFAULT_RESULTS_FILE)
    .option('--verbose', 'show debug messages')
    .action(async flags => {
      const results = await runDemo(flags, io(flags.out, flags.verbose === true))
      process.exitCode = results.status === 'completed' ? 0 : 1
    })

  program
    .command('compare')
    .description(
      'compare two results (or baseline) files; exits 1 when a gated metric regressed or the current run failed'
    )
    .argument('<baseline>', 'results or baseline file of the reference run')
    .argument('<current>', 'results file of the run to judge')
    .option(
      '--thresholds <text>',
      "gated metrics, one 'metric.statistic: limit' per line (default: the action's)"
    )
    .option('--confidence <p>', 'confidence of the significance tests', '0.99')
    .action(async (baseline: string, current: string, flags) => {
      const regressed = await runCompare(baseline, current, flags, process.stdout)
      process.exitCode = regressed ? 1 : 0
    })

  addSimCommand(program)
  return program
}

function io(out: string, verbose: boolean) {
  return { out, log: terminalLogger({ verbose }), stdout: process.stdout, stderr: process.stderr }
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv)
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; a usage error is bad input (2), not a regression or a failed run (1).
      process.exitCode = error.exitCode === 0 ? 0 : 2
      return
    }
    const message = error instanceof UserError ? error.message : errorMessage(error)
    process.stderr.write(`llm-bench: ${message}\n`)
    if (!(error instanceof UserError) && process.env.LLM_BENCH_DEBUG) {
      process.stderr.write(`${(error as Error).stack}\n`)
    }
    process.exitCode = 2
  }
}

export async function runCli(): Promise<void> {
  await main()
}
