// rotateApplicationClientSecret as the broker calls it: a grantless token with the rotation
// scope, then POST on the SP-API host; each answer becomes a state, never a retry storm.
import t from 'tap'
import { Agent } from 'undici'
import { requestRotation, type RotationRequestDeps } from '../../src/apps/rotation-request.js'
import { LwaClient } from '../../src/lwa/index.js'
import { clientId, clientSecret, startSpApi, type SpFixture } from '../support/sp-api-fixture.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

function depsFor(t: Test, f: SpFixture): RotationRequestDeps {
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.close())
  return {
    lwa: new LwaClient({ timeoutMs: 2000, clock: f.clock, dispatcher }), dispatcher,
    lwaEndpoints: { eu: f.lwa.tokenUrl }, spApiEndpoints: { eu: f.sp.url },
  }
}

t.test('requested: Amazon mints a new secret, LWA accepts it, and the notification goes to the queue', async (t) => {
  const f = await startSpApi(t)
  const answer = await requestRotation(depsFor(t, f), 'eu', { clientId, clientSecret })
  t.same(answer, { outcome: 'requested', status: 204 })
  t.equal(f.sp.callCount({ operation: 'rotateApplicationClientSecret' }), 1)
  t.equal(f.delivered.length, 1, 'one notification')
  const [minted] = f.sp.secretsOf(clientId)
  t.match(f.delivered[0], minted ?? 'no secret', 'carrying the new secret')
})

t.test('a second call within the minute is throttled (429), not retried', async (t) => {
  const f = await startSpApi(t)
  const deps = depsFor(t, f)
  t.equal((await requestRotation(deps, 'eu', { clientId, clientSecret })).outcome, 'requested')
  t.same(await requestRotation(deps, 'eu', { clientId, clientSecret }), { outcome: 'throttled', status: 429 })
  t.equal(f.sp.secretsOf(clientId).length, 1, 'no second secret minted')
})

t.test('an app not enrolled for the notification is its own state', async (t) => {
  const f = await startSpApi(t)
  f.sp.setEnrolled(clientId, false)
  t.same(await requestRotation(depsFor(t, f), 'eu', { clientId, clientSecret }), { outcome: 'not_enrolled', status: 400 })
  t.equal(f.delivered.length, 0)
})

t.test('LWA refusing the grantless token, SP-API failing or unreachable: failed', async (t) => {
  const f = await startSpApi(t)
  const deps = depsFor(t, f)
  t.same(await requestRotation(deps, 'eu', { clientId, clientSecret: 'wrong' }), { outcome: 'failed' })
  f.sp.failNext({ kind: 'status', status: 500 })
  t.same(await requestRotation(deps, 'eu', { clientId, clientSecret }), { outcome: 'failed', status: 500 })
  f.sp.failNext({ kind: 'reset' })
  t.same(await requestRotation(deps, 'eu', { clientId, clientSecret }), { outcome: 'failed' })
  f.lwa.failNext({ kind: 'status', status: 429 })
  t.same(await requestRotation(deps, 'eu', { clientId, clientSecret }), { outcome: 'throttled' }, 'LWA\'s own 429')
})
