import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
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

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

/**
 * What a broker process needs on disk: an LWA emulator with the usual clients, the usual
 * secrets in a file, and a config file (listening on a free port, no shutdown drain) that
 * `change` may adjust. Closed when the test ends.
 */
export async function processFixture(t: Test, change: (config: Record<string, unknown>) => Record<string, unknown> = (c) => c) {
  const { baseConfig, baseSecrets, callerKeys, seedEmulator } = await import('../helper.js')
  const { LwaEmulator } = await import('./lwa-emulator.js')
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const keys = await callerKeys()
  const dir = t.testdir({})
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify(baseSecrets()))
  const config = change({ ...baseConfig(lwa, './secrets.json', keys.jwks), listen: { host: '127.0.0.1', port: 0 }, shutdown: { drainSeconds: 0 } })
  const configPath = join(dir, 'broker.yaml')
  writeFileSync(configPath, JSON.stringify(config))
  return { lwa, keys, dir, configPath, config }
}
