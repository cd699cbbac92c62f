import t from 'tap'
import { FixedWindows } from '../../../src/http/guards/fixed-windows.js'
import type { Memo } from '../../../src/memo.js'

const setup = (maxKeys = 1000) => {
  let now = 1_000_000
  const windows = new FixedWindows(60_000, maxKeys, () => now)
  return { windows, advance: (ms: number) => (now += ms) }
}

t.test('a holder with its memo counts in the same window as a holder without, and as another holder of the key', async (t) => {
  const { windows } = setup()
  const a: Memo = {}
  const b: Memo = {}
  t.same(windows.take('caller:x', 3, a), { ok: true, remaining: 2, retryAfterMs: 60_000 })
  t.same(windows.take('caller:x', 3), { ok: true, remaining: 1, retryAfterMs: 60_000 }, 'no memo: the map')
  t.same(windows.take('caller:x', 3, b), { ok: true, remaining: 0, retryAfterMs: 60_000 }, 'a second holder: the same window')
  t.same(windows.take('caller:x', 3, a), { ok: false, remaining: 0, retryAfterMs: 60_000 })
  t.same(windows.take('caller:y', 3, {}), { ok: true, remaining: 2, retryAfterMs: 60_000 }, 'another key counts apart')
})

t.test('a window held in a memo ends on time, and the next one is shared again', async (t) => {
  const { windows, advance } = setup()
  const a: Memo = {}
  windows.take('caller:x', 2, a)
  windows.take('caller:x', 2, a)
  t.equal(windows.take('caller:x', 2, a).ok, false)
  advance(30_000)
  t.same(windows.take('caller:x', 2, a), { ok: false, remaining: 0, retryAfterMs: 30_000 })
  advance(30_000)
  t.same(windows.take('caller:x', 2, a), { ok: true, remaining: 1, retryAfterMs: 60_000 }, 'a new window')
  t.same(windows.take('caller:x', 2), { ok: true, remaining: 0, retryAfterMs: 60_000 }, 'the map has the new window too')
})

t.test('a window the map forgot (too many keys) is not counted on through a memo that still holds it', async (t) => {
  const { windows } = setup(2)
  const a: Memo = {}
  windows.take('caller:x', 5, a)
  windows.take('caller:x', 5, a)
  windows.take('caller:y', 5)
  windows.take('caller:z', 5) // the oldest, caller:x's, goes
  t.same(windows.take('caller:x', 5), { ok: true, remaining: 4, retryAfterMs: 60_000 }, 'forgotten: a fresh window')
  t.same(windows.take('caller:x', 5, a), { ok: true, remaining: 3, retryAfterMs: 60_000 }, 'the memo takes the live one')
})
