import { execFile } from 'node:child_process'
import os from 'node:os'
import { promisify } from 'node:util'

import type { RunnerFacts } from './schema.js'

const execFileAsync = promisify(execFile)

/** What machine ran the benchmark: the client's, which on a runner is also the server's. */
export async function collectRunnerFacts(): Promise<RunnerFacts> {
  const cpus = os.cpus()
  return {
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    node: process.version,
    gpu: await detectGpu()
  }
}

/** The GPU name from nvidia-smi or rocm-smi when one is installed; null otherwise. */
async function detectGpu(): Promise<string | null> {
  const probes: [string, string[]][] = [
    ['nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']],
    ['rocm-smi', ['--showproductname', '--csv']]
  ]
  for (const [command, args] of probes) {
    try {
      const { stdout } = await execFileAsync(command, args, { timeout: 5000 })
      const names = stdout
        .split('\n')
        .map(line => line.trim())
        .filter(line => line && !line.toLowerCase().startsWith('device'))
      if (names.length > 0) return [...new Set(names)].join(', ')
    } catch {
      // Not installed or no device: try the next probe.
    }
  }
  return null
}
