import { executionAsyncResource } from 'node:async_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { keptTick } from '../../src/http/tick-shape.js'

// V8's own answer to "do these share a hidden class?", and a full GC, both by flags set now.
setFlagsFromString('--allow-natives-syntax')
setFlagsFromString('--expose-gc')
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean
const gc = runInNewContext('gc') as () => void

/** The tick object of a nextTick made now, as its callback sees it. */
const tickObject = (): Promise<object> => new Promise((resolve) => process.nextTick(() => resolve(executionAsyncResource())))

t.test('the kept tick object keeps the hidden class every later tick object is built with, through full GCs', async (t) => {
  await tickObject()
  const kept = keptTick()
  t.ok(kept && Object.hasOwn(kept, 'callback') && Object.hasOwn(kept, 'args'), 'it is a tick object')
  for (let i = 0; i < 12; i++) {
    for (let j = 0; j < 50; j++) await new Promise((resolve) => process.nextTick(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  t.ok(sameMap(await tickObject(), kept as object), 'a tick made after twelve full GCs has its class')
})
