#!/usr/bin/env node
/**
 * Entry of `llm-bench`. The version check comes before anything else is loaded: undici 8 needs
 * Node 22.19 or newer, and on an older Node it would fail with a stack trace while loading.
 */
const MINIMUM_NODE = '22.19'

function isOldNode(version: string, minimum: string): boolean {
  const [major, minor] = version.split('.').map(Number)
  const [minMajor, minMinor] = minimum.split('.').map(Number)
  return major < minMajor || (major === minMajor && minor < minMinor)
}

if (isOldNode(process.versions.node, MINIMUM_NODE)) {
  process.stderr.write(
    `llm-bench: needs Node.js ${MINIMUM_NODE} or newer but runs on ${process.version}; ` +
      'install a newer Node.js, or run it through npm scripts (npm run llm-bench -- ...), ' +
      "which use the Node 24 that 'npm ci' installs into node_modules.\n"
  )
  process.exitCode = 2
} else {
  const { runCli } = await import('./main.js')
  await runCli()
}
