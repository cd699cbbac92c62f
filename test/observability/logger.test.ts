import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseConfig } from '../../src/config/index.js'
import { processLogs } from '../../src/observability/logger.js'
import { baseConfig, callerKeys } from '../helper.js'
import { LwaEmulator } from '../support/lwa-emulator.js'

const keys = await callerKeys()
const lwa = await LwaEmulator.start()
t.teardown(() => lwa.close())

/** A config as main.ts would load it, with the given log and audit settings. */
function configWith(dir: string, extra: Record<string, unknown>) {
  return parseConfig({ ...baseConfig(lwa, join(dir, 'secrets.json'), keys.jwks), ...extra }, join(dir, 'broker.yaml'))
}

t.test('processLogs: the audit log goes to its own destination, buffered until flushed', async (t) => {
  const dir = t.testdir({})
  const audit = join(dir, 'audit', 'audit.log')
  const logs = processLogs(configWith(dir, { logLevel: 'silent', audit: { destination: audit }, logs: { flushMs: 5000 } }))
  t.equal(logs.logger.level, 'silent', 'the operational logger has the configured level')
  logs.auditSink.write('{"event":"token.issued"}\n')
  t.equal(readFileSync(audit, 'utf8'), '', 'buffered: nothing written before the timer or a flush')
  await logs.outputs.flush()
  t.equal(readFileSync(audit, 'utf8'), '{"event":"token.issued"}\n', 'what SIGTERM does: every pending line written')
})

t.test('processLogs in sync mode: an audit line is on disk when write returns', async (t) => {
  const dir = t.testdir({})
  const audit = join(dir, 'audit.log')
  const logs = processLogs(configWith(dir, { logLevel: 'silent', audit: { destination: audit }, logs: { mode: 'sync' } }))
  logs.auditSink.write('{"n":1}\n')
  t.equal(readFileSync(audit, 'utf8'), '{"n":1}\n')
})
