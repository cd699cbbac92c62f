import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { childEnv } from './child-env.js'

/** The real entry point in a child process, as `npm start` runs it (through tsx: no build step). */
export function startBroker(configPath: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: join(import.meta.dirname, '../..'),
    env: { ...childEnv(), LWA_BROKER_CONFIG: configPath, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d })
  child.stderr.on('data', (d: Buffer) => { stderr += d })
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  const output = () => ({ stdout, stderr })
  /** Resolves with the base URL once the broker listens. */
  const listening = async (): Promise<string> => {
    await waitFor(() => /Server listening at/.test(stdout), 'the broker to listen')
    return /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] as string
  }
  return { child, exited, output, listening }
}

export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
