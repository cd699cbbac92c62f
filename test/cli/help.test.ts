import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import t from 'tap'
import { childEnv } from '../support/child-env.js'

/** The CLI as operators run it, through tsx from the repo root. */
async function cli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: join(import.meta.dirname, '../..'), env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d })
  child.stderr.on('data', (d: Buffer) => { stderr += d })
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout, stderr }
}

t.test('help: the command list on stdout, exit 0', async (t) => {
  const res = await cli(['help'])
  t.equal(res.code, 0)
  t.equal(res.stderr, '')
  for (const name of ['check-config', 'token', 'mint-jwt']) t.match(res.stdout, new RegExp(`^  ${name} `, 'm'))
})

t.test('help COMMAND and COMMAND --help: that command\'s usage on stdout, exit 0', async (t) => {
  t.match(await cli(['help', 'token']), { code: 0, stdout: /^Usage: lwa-broker token --url URL/ })
  t.match(await cli(['mint-jwt', '--help']), { code: 0, stdout: /^Usage: lwa-broker mint-jwt/ })
})

t.test('no command or an unknown one: the usage on stderr, exit 2', async (t) => {
  const none = await cli([])
  t.equal(none.code, 2)
  t.equal(none.stdout, '')
  t.match(none.stderr, /^Usage: lwa-broker <command>/)
  const unknown = await cli(['chek-config'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^lwa-broker: unknown command: chek-config\n[\s\S]*Usage: lwa-broker <command>/)
})
