#!/usr/bin/env node
/**
 * Entry of `llm-bench`. The version check comes before anything else is loaded: undici 8 needs
 * Node 22 or newer, and on an older Node it would fail with a stack trace while loading.
 */
const MINIMUM_NODE_MAJOR = 22
const major = Number(process.versions.node.split('.')[0])

if (major < MINIMUM_NODE_MAJOR) {
  process.stderr.write(
    `llm-bench: needs Node.js ${MINIMUM_NODE_MAJOR} or newer but runs on ${process.version}; ` +
      'install a newer Node.js, or run it through npm scripts (npm run llm-bench -- ...), ' +
      "which use the Node 24 that 'npm ci' installs into node_modules.\n"
  )
  process.exitCode = 2
} else {
  const { runCli } = await import('./main.js')
  await runCli()
}
