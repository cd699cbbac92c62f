import { pino } from 'pino'
import t from 'tap'
import { lazyRequestLogger } from '../../src/http/request-logger.js'
import { LogCapture } from '../support/log-capture.js'

/** A pino logger into a capture that counts the children made of it. */
function countingParent() {
  const logs = new LogCapture()
  const parent = pino({ level: 'info' }, logs)
  const made = { children: 0 }
  const counting = Object.assign(Object.create(parent) as typeof parent, {
    child: (...args: Parameters<typeof parent.child>) => {
      made.children++
      return parent.child(...args)
    },
  })
  return { logs, made, counting }
}

t.test('the request logger is made on first use and carries its bindings', async (t) => {
  const { logs, made, counting } = countingParent()
  const logger = lazyRequestLogger(counting, { reqId: 'r-1' }, {})
  t.equal(logger.level, 'info', 'its level is the parent\'s until a child exists')
  logger.debug('below the level')
  t.equal(made.children, 1, 'any call makes the child (pino decides what the level lets through)')
  logger.error({ error: 'internal_error' }, 'something failed')
  t.equal(made.children, 1, 'made once')
  t.match(logs.records(), [{ reqId: 'r-1', error: 'internal_error', msg: 'something failed', level: 50 }])
  logger.level = 'warn'
  t.equal(logger.level, 'warn')
  t.equal(logger.child({ more: 1 }).level, 'warn', 'children of it inherit its level')
})

t.test('a request that logs nothing makes no child logger', async (t) => {
  const { made, counting } = countingParent()
  const logger = lazyRequestLogger(counting, { reqId: 'r-2' }, {})
  t.equal(logger.level, 'info')
  t.equal(made.children, 0)
})
