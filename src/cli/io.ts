/**
 * What a subcommand may touch: its output streams and the environment, handed in by the
 * entry point (src/cli.ts), which alone reads `process` — as src/main.ts does for the broker.
 */
export interface Io {
  out(line: string): void
  err(line: string): void
  /** All of standard input, for a command given `-` as its file. */
  readStdin(): Promise<string>
  env: Readonly<Record<string, string | undefined>>
}

export interface Command {
  name: string
  usage: string
  /** Resolves to the exit code; throws UsageError for bad arguments, CliFailure for anything else that went wrong. */
  run(args: string[], io: Io): Promise<number>
}

/** Exit codes: 2 matches the broker's own exit code for a bad config, and is the usual one for usage errors. */
export const exitCode = { ok: 0, failed: 1, usage: 2, invalidConfig: 2 } as const

/** Bad arguments: the entry point prints the message and the command's usage, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** An expected failure (unreadable file, broker unreachable): the message alone is printed, exit 1. */
export class CliFailure extends Error {
  override name = 'CliFailure'
}

/** Runs node:util parseArgs, turning its argument errors (told apart by `code`) into usage errors. */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message)
    throw err
  }
}

/**
 * Text that came from a file or the network, made safe to print: control characters are
 * shown escaped, so a hostile config key or error body cannot drive the terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
