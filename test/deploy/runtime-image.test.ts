import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, join, posix } from 'node:path'
import t from 'tap'
import { baseConfig, baseSecrets, callerKeys, mintJwt, seedEmulator } from '../helper.js'
import { childEnv } from '../support/child-env.js'
import { LwaEmulator } from '../support/lwa-emulator.js'

/**
 * CI cannot run Docker, so this reproduces the Dockerfile's runtime stage by reading it:
 * a fresh folder outside the repository (so nothing resolves from the repo's node_modules),
 * the files the stage COPYs, its own `npm ci` (production dependencies only), the compiled
 * output, and its CMD with its ENV. The result must start, become ready, serve a token and
 * stop cleanly on SIGTERM.
 */

// npm ci downloads the production dependencies (or takes them from npm's cache).
t.setTimeout(300_000)

const root = join(import.meta.dirname, '../..')

interface Instruction {
  keyword: string
  args: string
}

interface Stage {
  name: string | undefined
  instructions: Instruction[]
}

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const instruction = { keyword: keyword.toUpperCase(), args: args.trim() }
    if (instruction.keyword === 'FROM') stages.push({ name: /\sAS\s+(\S+)$/i.exec(args)?.[1], instructions: [] })
    stages.at(-1)?.instructions.push(instruction)
  }
  return stages
}

/** `ENV A=1 B="two"` (and the legacy `ENV A 1`). */
function parseEnv(args: string): Record<string, string> {
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(args)
  if (legacy) return { [legacy[1]!]: legacy[2]!.trim() }
  const env: Record<string, string> = {}
  for (const [, key, value] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g)) env[key!] = value!.replace(/^(["'])(.*)\1$/, '$2')
  return env
}

/** `COPY [--from=x] src... dest` (shell form, no spaces in paths). */
function parseCopy(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(/\s+/)
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length)
  const paths = words.filter((w) => !w.startsWith('--'))
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! }
}

/** The `npm ci …` command of a RUN line (a RUN may chain commands with &&). */
const npmCiOf = (run: string): string[] | undefined =>
  run.split('&&').map((c) => c.trim().split(/\s+/)).find((words) => words[0] === 'npm' && words[1] === 'ci')

/** npm settings of this machine that reach a registry; kept for the child npm. */
const npmNetworkSettings = ['userconfig', 'globalconfig', 'cafile', 'cache', 'registry', 'proxy', 'https_proxy', 'noproxy']

/**
 * The environment for a child npm: the test's, without the npm_* settings of the npm that
 * started the test run (its local_prefix is this repository: npm ci would install here).
 */
function npmEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const keep = (key: string) => !/^npm_/i.test(key) || npmNetworkSettings.some((s) => key.toLowerCase() === `npm_config_${s}`)
  return { ...Object.fromEntries(Object.entries(childEnv()).filter(([key]) => keep(key))), ...extra }
}

async function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d })
  child.stderr.on('data', (d: Buffer) => { output += d })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, output }
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Every file under a folder with its modification time, to see whether a run wrote anything. */
function snapshot(dir: string): Map<string, number> {
  const files = new Map<string, number>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name)
    files.set(path, statSync(path).mtimeMs)
  }
  return files
}

const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'))
const runtime = stages.at(-1)!
const instructions = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword)

/**
 * Install scripts the image may skip (`npm ci --ignore-scripts`), each read: what it does and
 * why the package works without it.
 */
const harmlessInstallScripts: Record<string, string> = {
  // Pulled in by the OpenTelemetry OTLP exporters. scripts/postinstall.js only warns when the
  // parent package.json asks for protobufjs with a different version scheme.
  'node_modules/protobufjs': 'a version-scheme warning, nothing built',
}

t.test('the runtime stage is what this test reproduces', async (t) => {
  t.ok(stages.length >= 2, 'multi-stage: the build tools stay out of the image')
  t.ok(instructions('RUN').some((i) => npmCiOf(i.args)?.includes('--omit=dev')), 'the runtime stage installs production dependencies only')
  const cmd = JSON.parse(instructions('CMD').at(-1)?.args ?? 'null') as unknown
  t.match(cmd, ['node', String], 'CMD is exec form: node is PID 1 and gets SIGTERM itself')
  t.match(instructions('USER').at(-1)?.args, /^\d+:\d+$/, 'a numeric non-root user')
  t.notMatch(instructions('USER').at(-1)?.args, /^0:|^0$/, 'not root')
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> }
  const scripted = Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && !p.dev && p.hasInstallScript && !(path in harmlessInstallScripts))
    .map(([path]) => path)
  t.same(scripted, [], 'no production dependency needs the install script --ignore-scripts skips')
})

t.test('a fresh folder built like the runtime stage starts, becomes ready, serves a token, and exits 0 on SIGTERM', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'lwa-broker-runtime-'))
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
  for (let dir = dirname(tmp); ; dir = dirname(dir)) {
    t.notOk(existsSync(join(dir, 'node_modules')), `no ${join(dir, 'node_modules')} to fall back on`)
    if (dirname(dir) === dir) break
  }

  // Replay the stage in order: WORKDIR, ENV, COPY from the context, npm ci, COPY --from=build.
  let workdir = tmp
  const env: Record<string, string> = {}
  const buildStage = stages.find((s) => s.name !== undefined && runtime.instructions.some((i) => i.keyword === 'COPY' && parseCopy(i.args).from === s.name))
  const buildWorkdir = buildStage?.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args ?? '/'
  for (const { keyword, args } of runtime.instructions) {
    if (keyword === 'WORKDIR') {
      workdir = join(tmp, args)
      mkdirSync(workdir, { recursive: true })
    } else if (keyword === 'ENV') {
      Object.assign(env, parseEnv(args))
    } else if (keyword === 'COPY') {
      const { from, sources, dest } = parseCopy(args)
      const target = posix.isAbsolute(dest) ? join(tmp, dest) : join(workdir, dest)
      if (from === undefined) {
        for (const source of sources) cpSync(join(root, source), dest.endsWith('/') || sources.length > 1 ? join(target, basename(source)) : target, { recursive: true })
      } else {
        // The build stage's output: its `npm run build`, here with the output sent to the copy's target.
        t.same(sources, [posix.join(buildWorkdir, 'dist')], 'the image takes the build stage\'s dist/')
        t.ok(buildStage?.instructions.some((i) => i.keyword === 'RUN' && i.args === 'npm run build'), 'built by npm run build')
        const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.build ?? ''
        const [tool, ...toolArgs] = script.split(/\s+/)
        t.equal(tool, 'tsc')
        const tsc = join(root, 'node_modules/typescript/bin/tsc')
        const built = await run(process.execPath, [tsc, ...toolArgs, '--outDir', target], { cwd: root, env: childEnv() })
        t.equal(built.code, 0, `tsc: ${built.output}`)
      }
    } else if (keyword === 'RUN') {
      // Only npm ci matters here; `npm cache clean` would empty this machine's npm cache.
      const npmCi = npmCiOf(args)
      if (!npmCi) continue
      const installed = await run('npm', npmCi.slice(1), { cwd: workdir, env: npmEnv(env) })
      t.equal(installed.code, 0, `${npmCi.join(' ')}: ${installed.output}`)
    }
  }

  // Production dependencies only. (@types/node is not among these: protobufjs, which the
  // OpenTelemetry exporters bring, declares it as a dependency of its own.)
  for (const dev of ['tap', 'typescript', 'tsx', 'kubernetes-models', 'autocannon']) {
    t.notOk(existsSync(join(workdir, 'node_modules', dev)), `no ${dev} (a dev dependency)`)
  }
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const devInstalled = Object.entries(lock.packages).filter(([path, p]) => p.dev && existsSync(join(workdir, path))).map(([path]) => path)
  t.same(devInstalled, [], 'no package the lockfile marks dev is installed')
  t.ok(existsSync(join(workdir, 'node_modules/fastify')), 'the production dependencies are')
  t.ok(existsSync(join(workdir, 'dist/main.js')), 'the compiled entry point is there')

  // A mounted config (as the ConfigMap is) outside the app folder: the file backend, an
  // inline JWKS, and LWA on loopback.
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const keys = await callerKeys()
  const etc = join(tmp, 'etc/lwa-broker')
  mkdirSync(etc, { recursive: true })
  writeFileSync(join(etc, 'secrets.json'), JSON.stringify(baseSecrets()))
  const port = await freePort()
  writeFileSync(join(etc, 'broker.yaml'), JSON.stringify({ ...baseConfig(lwa, join(etc, 'secrets.json'), keys.jwks), listen: { host: '127.0.0.1', port } }))

  const before = snapshot(workdir)
  const [command, ...args] = JSON.parse(instructions('CMD').at(-1)!.args) as string[]
  // The image's ENV, then what a pod spec would set: this config, and loopback instead of
  // the image's 0.0.0.0 so the test opens nothing beyond this machine.
  const broker = spawn(command === 'node' ? process.execPath : command!, args, {
    cwd: workdir,
    env: { ...childEnv(), ...env, LWA_BROKER_CONFIG: join(etc, 'broker.yaml'), LWA_BROKER_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  broker.stdout.on('data', (d: Buffer) => { stdout += d })
  broker.stderr.on('data', (d: Buffer) => { stderr += d })
  const exited = once(broker, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  let exitedEarly = false
  void exited.then(() => { exitedEarly = true })
  t.teardown(() => { broker.kill('SIGKILL') })

  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  let ready: Response | undefined
  while (!exitedEarly && Date.now() < deadline) {
    ready = await fetch(`${base}/readyz`).catch(() => undefined)
    if (ready?.status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(ready?.status, 200, `/readyz answers 200 (stderr: ${stderr})`)
  t.match(await ready?.json(), { status: 'ready', checks: { config: 'ok', issuers: 'ok', secrets: 'ok' } })
  t.equal((await fetch(`${base}/healthz`)).status, 200, '/healthz answers 200')

  const token = await fetch(`${base}/token?credential=ads-us`, { headers: { authorization: `Bearer ${await mintJwt(keys)}` } })
  t.equal(token.status, 200, 'a token is served: JWT verification, the secrets and the LWA client work with production dependencies only')
  const body = await token.json() as { access_token: string }
  t.ok(lwa.issued(body.access_token), 'the token came from LWA')

  broker.kill('SIGTERM')
  const [code, signal] = await exited
  t.equal(code, 0, 'SIGTERM: exit 0')
  t.equal(signal, null)
  t.equal(stderr, '', 'nothing on stderr')
  t.match(stdout, /"msg":"shutting down"/, 'a graceful shutdown')

  // The image runs with a read-only root filesystem: the broker must not write into its folder.
  const after = snapshot(workdir)
  t.same([...after].filter(([path, mtime]) => before.get(path) !== mtime).map(([path]) => path), [], 'nothing was written in the app folder')
})
