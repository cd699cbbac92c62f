#!/usr/bin/env node
import { CliFailure, exitCode, UsageError, type Command, type Io } from './cli/io.js'

/**
 * Operator CLI entry: `lwa-broker <command>`. Like src/main.ts, the only place that reads
 * `process`. Commands are imported on demand, so `help` loads nothing and `token` does not
 * pay for the config schema compiler.
 */
const commands: readonly { name: string; summary: string; load: () => Promise<Command> }[] = [
  {
    name: 'check-config', summary: 'validate a config file exactly as the broker does at start-up',
    load: async () => (await import('./cli/check-config.js')).checkConfigCommand,
  },
  {
    name: 'token', summary: 'get a token through a running broker (debugging: prints a fingerprint, not the token)',
    load: async () => (await import('./cli/token.js')).tokenCommand,
  },
  {
    name: 'mint-jwt', summary: 'sign a caller JWT with a dev key, or generate a dev key (local testing only)',
    load: async () => (await import('./cli/mint-jwt.js')).mintJwtCommand,
  },
  {
    name: 'import-credentials',
    summary: 'create one tagged Secrets Manager secret per credential from a JSON Lines file',
    load: async () => (await import('./cli/import-credentials.js')).importCredentialsCommand,
  },
  {
    name: 'check-app-secret',
    summary: 'ask LWA whether a version of an app secret (e.g. AWSPENDING) holds a working client secret',
    load: async () => (await import('./cli/check-app-secret.js')).checkAppSecretCommand,
  },
]

const usage = `Usage: lwa-broker <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(20)}${c.summary}`).join('\n')}
  help [COMMAND]      this text, or a command's options (also: COMMAND --help)`

const io: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readStdin: async () => {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  },
  env: process.env,
}

// `lwa-broker … | head -1` closes the pipe early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err
  process.exit(exitCode.ok)
})

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === 'help' || name === '--help' || name === '-h') {
    const entry = commands.find((c) => c.name === args[0])
    io.out(entry ? (await entry.load()).usage : usage)
    return exitCode.ok
  }
  const entry = commands.find((c) => c.name === name)
  if (!entry) {
    if (name !== undefined) io.err(`lwa-broker: unknown command: ${name}\n`)
    io.err(usage)
    return exitCode.usage
  }
  const command = await entry.load()
  if (args.includes('--help') || args.includes('-h')) {
    io.out(command.usage)
    return exitCode.ok
  }
  try {
    return await command.run(args, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`lwa-broker ${command.name}: ${err.message} (see: lwa-broker ${command.name} --help)`)
      return exitCode.usage
    }
    if (err instanceof CliFailure) {
      io.err(`lwa-broker ${command.name}: ${err.message}`)
      return exitCode.failed
    }
    throw err
  }
}

// exitCode, not exit(): output still buffered in a pipe is written before the process ends.
main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`lwa-broker: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = exitCode.failed
})
