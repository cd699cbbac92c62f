import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { LogOutputs } from '../../src/observability/log-output.js'

const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '')

async function eventually(check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 5000
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  return check()
}

t.test('buffered: a line waits for the timer or a flush, never for the request that wrote it', async (t) => {
  const file = join(t.testdir({}), 'logs', 'audit.log')
  const outputs = new LogOutputs({ mode: 'buffered', flushMs: 5000 })
  const sink = outputs.sink(file)
  t.ok(existsSync(file), 'the file is opened (and its directory made) when the sink is made')
  sink.write('{"n":1}\n')
  t.equal(read(file), '', 'not written yet: the timer is 5 s away and 32 KiB are not pending')
  await outputs.flush()
  t.equal(read(file), '{"n":1}\n', 'flush writes it before it resolves (what SIGTERM does)')
})

t.test('buffered: the timer writes pending lines within flushMs', async (t) => {
  const file = join(t.testdir({}), 'audit.log')
  const sink = new LogOutputs({ mode: 'buffered', flushMs: 20 }).sink(file)
  sink.write('{"n":2}\n')
  t.ok(await eventually(() => read(file) === '{"n":2}\n'))
})

t.test('buffered: 32 KiB pending are written without waiting for the timer', async (t) => {
  const file = join(t.testdir({}), 'audit.log')
  const sink = new LogOutputs({ mode: 'buffered', flushMs: 5000 }).sink(file)
  const line = `{"pad":"${'x'.repeat(500)}"}\n`
  for (let i = 0; i < 64; i++) sink.write(line)
  t.equal(read(file), '', 'under 32 KiB: still pending')
  sink.write(line)
  t.ok(await eventually(() => read(file).length >= 32 * 1024), 'the line that fills 32 KiB sends them at once')
  t.equal(read(file), line.repeat(65), 'every pending line, in one write')
})

t.test('sync: every line is on disk when write returns', async (t) => {
  const file = join(t.testdir({}), 'audit.log')
  const sink = new LogOutputs({ mode: 'sync', flushMs: 5000 }).sink(file)
  sink.write('{"n":3}\n')
  t.equal(read(file), '{"n":3}\n')
})

t.test('two logs on one target share a writer: their lines keep their order and never interleave', async (t) => {
  const file = join(t.testdir({}), 'both.log')
  const outputs = new LogOutputs({ mode: 'buffered', flushMs: 5000 })
  const app = outputs.sink(file)
  const audit = outputs.sink(file)
  const lines = Array.from({ length: 600 }, (_, i) => `{"from":"${i % 2 ? 'audit' : 'app'}","i":${i},"pad":"${'y'.repeat(100)}"}\n`)
  lines.forEach((line, i) => (i % 2 ? audit : app).write(line))
  await outputs.flush()
  t.equal(read(file), lines.join(''), 'the first 32 KiB went out while the rest was still pending: flush waits for them and keeps the order')
})

t.test('buffered: lines still pending when the process exits, a crash included, are written', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const dir = t.testdir({})
  for (const [how, end] of [['exit', 'process.exit(3)'], ['crash', 'throw new Error("boom")']] as const) {
    const file = join(dir, `${how}.log`)
    const script = `import { LogOutputs } from ${JSON.stringify(new URL('../../src/observability/log-output.ts', import.meta.url).href)}
      const sink = new LogOutputs({ mode: 'buffered', flushMs: 5000 }).sink(${JSON.stringify(file)})
      sink.write('{"n":"last"}\\n'); ${end}`
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })
    t.not(child.status, 0, `${how}: the process ended badly`)
    t.equal(read(file), '{"n":"last"}\n', `${how}: the pending line is on disk`)
  }
})
