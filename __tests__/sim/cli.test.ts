import { spawn } from 'node:child_process'
import path from 'node:path'

import { describe, expect, it } from '@jest/globals'
import { Command } from 'commander'

import { UserError } from '../../src/errors.js'
import { addSimCommand, parseSimOptions } from '../../src/sim/cli.js'

describe('sim flags', () => {
  it('turns flag texts into typed options', () => {
    expect(
      parseSimOptions({
        port: '0',
        host: '127.0.0.1',
        seed: '7',
        slowdown: '1.5',
        flavor: 'openai',
        slots: '4',
        loadingMs: '2000',
        timeScale: '20',
        errorRate: '0.1',
        errorStatus: '429',
        disconnectRate: '0',
        prefillMsPerToken: '0.3',
        decodeMsPerToken: '12',
        outputTokens: '150',
        jitter: '0.05',
        apiKey: 'k',
        model: 'sim-7b'
      })
    ).toEqual({
      port: 0,
      host: '127.0.0.1',
      seed: 7,
      slowdown: 1.5,
      flavor: 'openai',
      slots: 4,
      loadingMs: 2000,
      timeScale: 20,
      errorRate: 0.1,
      errorStatus: 429,
      disconnectRate: 0,
      prefillMsPerToken: 0.3,
      decodeMsPerToken: 12,
      outputTokensMean: 150,
      jitter: 0.05,
      apiKey: 'k',
      modelId: 'sim-7b'
    })
  })

  it('leaves unset flags out so the defaults apply', () => {
    expect(parseSimOptions({})).toEqual({})
  })

  it.each([
    {
      raw: { port: '70000' },
      message: "'--port' must be an integer >= 0 and <= 65535 but got '70000'"
    },
    { raw: { port: '80.5' }, message: "'--port' must be an integer" },
    { raw: { seed: '-1' }, message: "'--seed' must be an integer >= 0" },
    { raw: { slowdown: 'abc' }, message: "'--slowdown' must be a number > 0 but got 'abc'" },
    { raw: { slowdown: '0' }, message: "'--slowdown' must be a number > 0 but got '0'" },
    { raw: { timeScale: '' }, message: "'--time-scale' must be a number > 0 but got ''" },
    { raw: { slots: '0' }, message: "'--slots' must be an integer >= 1" },
    {
      raw: { errorRate: '2' },
      message: "'--error-rate' must be a number >= 0 and <= 1 but got '2'"
    },
    { raw: { disconnectRate: '-0.1' }, message: "'--disconnect-rate' must be a number >= 0" },
    { raw: { loadingMs: '1s' }, message: "'--loading-ms' must be a number >= 0 but got '1s'" },
    { raw: { decodeMsPerToken: 'fast' }, message: "'--decode-ms-per-token'" },
    { raw: { outputTokens: '0' }, message: "'--output-tokens' must be a number >= 1" },
    { raw: { jitter: '0.9' }, message: "'--jitter' must be a number >= 0 and <= 0.5" },
    { raw: { flavor: 'tgi' }, message: "'--flavor' must be one of llamacpp, openai but got 'tgi'" },
    {
      raw: { errorStatus: '404' },
      message: "'--error-status' must be one of 429, 500, 503 but got '404'"
    },
    { raw: { apiKey: ' ' }, message: "'--api-key' must be a non-empty text" }
  ])('rejects $raw with a message naming the flag', ({ raw, message }) => {
    expect(() => parseSimOptions(raw)).toThrow(UserError)
    expect(() => parseSimOptions(raw)).toThrow(message)
  })
})

describe('the sim command', () => {
  it('serves until told to stop and says where it listens', async () => {
    let output = ''
    let stop: () => void = () => undefined
    let listening: (url: string) => void = () => undefined
    const url = new Promise<string>(resolve => (listening = resolve))
    const program = new Command('llm-bench').exitOverride()
    addSimCommand(program, {
      write: text => {
        output += text
        const match = /listening on (\S+)/.exec(text)
        if (match) listening(match[1])
      },
      stopSignal: () => new Promise(resolve => (stop = resolve))
    })
    const run = program.parseAsync(['sim', '--port', '0', '--time-scale', '50'], { from: 'user' })
    const base = await url
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    expect((await fetch(`${base}/models`)).status).toBe(200)
    stop()
    await run
    expect(output).toContain('simulated server stopped after 0 requests')
    await expect(fetch(`${base}/models`)).rejects.toThrow()
  })

  it('rejects an invalid flag before listening', async () => {
    const program = new Command('llm-bench').exitOverride()
    let output = ''
    addSimCommand(program, { write: text => (output += text), stopSignal: async () => undefined })
    await expect(
      program.parseAsync(['sim', '--slowdown', 'twice'], { from: 'user' })
    ).rejects.toThrow("'--slowdown' must be a number > 0 but got 'twice'")
    expect(output).toBe('')
  })

  it('stops cleanly on SIGTERM', async () => {
    const tsx = path.resolve('node_modules/.bin/tsx')
    const script = path.resolve('__tests__/sim/fixtures/run-sim.ts')
    const child = spawn(tsx, [script, 'sim', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
    const base = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (bytes: Buffer) => {
        stdout += bytes.toString()
        const match = /listening on (\S+)/.exec(stdout)
        if (match) resolve(match[1])
      })
      child.on('exit', () => reject(new Error(`exited early: ${stdout}`)))
    })
    expect((await fetch(base.replace(/\/v1$/, '/health'))).status).toBe(200)
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(stdout).toContain('simulated server stopped')
  })
})
