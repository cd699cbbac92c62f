#!/usr/bin/env node
import { checkConfigCommand } from './cli/check-config.js'
import { CliFailure, exitCode, UsageError, type Command, type Io } from './cli/io.js'
import { mintJwtCommand } from './cli/mint-jwt.js'
import { tokenCommand } from './cli/token.js'

/** Operator CLI entry: `lwa-broker <command>`. Like src/main.ts, the only place that reads `process`. */
const commands: readonly Command[] = [checkConfigCommand, tokenCommand, mintJwtCommand]

const usage = `Usage: lwa-broker <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(14)}${c.summary}`).join('\n')}
  help [COMMAND] this text, or a command's options (also: COMMAND --help)`

const io: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === 'help' || name === '--help' || name === '-h') {
    const command = commands.find((c) => c.name === args[0])
    io.out(command?.usage ?? usage)
    return exitCode.ok
  }
  const command = commands.find((c) => c.name === name)
  if (!command) {
    if (name !== undefined) io.err(`lwa-broker: unknown command: ${name}\n`)
    io.err(usage)
    return exitCode.usage
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(command.usage)
    return exitCode.ok
  }
  try {
    return await command.run(args, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`lwa-broker ${command.name}: ${err.message}\n\n${command.usage}`)
      return exitCode.usage
    }
    if (err instanceof CliFailure) {
      io.err(`lwa-broker ${command.name}: ${err.message}`)
      return exitCode.failed
    }
    throw err
  }
}

// exitCode, not exit(): stdout is flushed before the process ends.
main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`lwa-broker: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = exitCode.failed
})
