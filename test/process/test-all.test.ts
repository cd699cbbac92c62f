import { spawnSync } from 'node:child_process'
import { symlinkSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const root = join(import.meta.dirname, '../..')
const script = join(root, 'scripts', 'test-all.sh')

/** A PATH with the shell, npm and node but none of the Debian packages the tests need. */
function barePath(t: Test): string {
  const bin = t.testdir({})
  for (const tool of ['bash', 'sh', 'id', 'dirname', 'env', 'cat']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool))
  symlinkSync(process.execPath, join(bin, 'node'))
  return bin
}

/** The script under a dry run, as root or as `nobody` (setpriv drops the user). */
function run(path: string, asNobody = false) {
  const nobody = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/bash']
  const [command, ...args] = asNobody ? [...nobody, script] : ['/usr/bin/bash', script]
  return spawnSync(command as string, args, { env: { PATH: path, TEST_ALL_DRY_RUN: '1', HOME: '/tmp' }, encoding: 'utf8' })
}

const expected = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium redis-server"
  + ' && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus'

/** Both need root: one to be root, the other to drop to another user. */
const asRoot = { skip: process.getuid?.() === 0 ? false : 'needs root' }

t.test('as root on a machine without them: says which Debian packages it installs, and how', asRoot, async (t) => {
  const result = run(barePath(t))
  t.equal(result.status, 0, result.stderr)
  t.match(result.stderr, 'test:all: installing from Debian: chromium redis-server prometheus')
  t.match(result.stderr, `would run: sh -c '${expected}'`)
})

t.test('not root: stops with the exact command to run', asRoot, async (t) => {
  const result = run(barePath(t), true)
  t.equal(result.status, 1)
  t.match(result.stderr, 'the tests need Debian packages that are missing: chromium redis-server prometheus')
  t.match(result.stderr, `sudo sh -c '${expected}'`)
})

t.test('with everything present: only npm test is left to run', async (t) => {
  const result = spawnSync('bash', [script], { env: { ...process.env, TEST_ALL_DRY_RUN: '1' }, encoding: 'utf8' })
  t.equal(result.status, 0)
  t.match(result.stderr, 'nothing to install; would run: npm test')
})
