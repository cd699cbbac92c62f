import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'

/**
 * Runs the operator CLI as a user would, as its own process, and collects what it printed.
 * It loads the TypeScript sources with tap's own loader (not tsx), so tap's coverage of the
 * child is real and counts: the CLI is only ever exercised in child processes. `stdin` is all
 * the child reads on its standard input.
 */
const tapTypeScriptLoader = import.meta.resolve('@tapjs/typescript/import')

export async function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', tapTypeScriptLoader, 'src/cli.ts', ...args], {
    cwd: join(import.meta.dirname, '../..'), env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end(stdin) // with no input, an empty stdin: a command reading it gets end-of-file at once
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d })
  child.stderr.on('data', (d: Buffer) => { stderr += d })
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout, stderr }
}
