// The SP-API emulator's Tokens API and the restricted operation that checks its tokens.
import t from 'tap'
import { spError } from './api-test-client.js'
import { clientId, sellingPartnerId, startSpApi } from './sp-api-fixture.js'
import type { SpFixture } from './sp-api-fixture.js'

const rdtPath = '/tokens/2021-03-01/restrictedDataToken'
const orderId = '123-1234567-1234567'
const addressPath = `/orders/v0/orders/${orderId}/address`
const addressOf = (id: string): string => `/orders/v0/orders/${id}/address`
const resource = (path: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({ method: 'GET', path, ...over })
const only = (...resources: unknown[]): { restrictedResources: unknown[] } => ({ restrictedResources: resources })
const otherClient = 'amzn1.application-oa2-client.other'
const noAccess = 'Application do not have access to some or all requested resource'
const quota = 'You exceeded your quota for the requested resource.'

async function mint(f: SpFixture, token: string, resources: unknown[], extra: Record<string, unknown> = {}): Promise<string> {
  const answer = await f.spCall('POST', rdtPath, token, { ...extra, restrictedResources: resources })
  if (answer.status !== 200) throw new Error(`createRestrictedDataToken answered ${answer.status}: ${answer.text}`)
  return (answer.json() as { restrictedDataToken: string }).restrictedDataToken
}

t.test('createRestrictedDataToken answers an RDT for the seller and records what it covers', async (t) => {
  const f = await startSpApi(t)
  const generic = resource('/orders/v0/orders', { dataElements: ['buyerInfo', 'shippingAddress'] })
  const body = { targetApplication: 'amzn1.sellerapps.app.target', ...only(resource(addressPath), generic) }
  const answer = await f.spCall('POST', rdtPath, await f.sellerToken(), body)
  t.equal(answer.status, 200)
  t.equal(answer.headers['x-amzn-ratelimit-limit'], '1.0')
  const parsed = answer.json() as { restrictedDataToken: string; expiresIn: number }
  t.same(Object.keys(parsed), ['restrictedDataToken', 'expiresIn'])
  t.match(parsed.restrictedDataToken, /^Atz\.sprdt\|[A-Za-z0-9_-]{300,}$/)
  t.equal(parsed.expiresIn, 3600)
  t.same(f.sp.rdts, [{
    restrictedDataToken: parsed.restrictedDataToken,
    clientId,
    sellingPartnerId,
    targetApplication: 'amzn1.sellerapps.app.target',
    resources: body.restrictedResources,
    expiresAtMs: f.clock.now() + 3600_000,
  }])
  t.match(f.sp.calls, [{ operation: 'createRestrictedDataToken', status: 200, clientId, sellingPartnerId }])
  t.notOk('targetApplication' in (await mintRecord(f)), 'no targetApplication when none was asked for')
})

async function mintRecord(f: SpFixture): Promise<object> {
  await mint(f, await f.sellerToken(), [resource(addressPath)])
  return f.sp.rdts.at(-1) ?? {}
}

t.test('invalid requests are 400 InvalidInput and name the resource', async (t) => {
  const f = await startSpApi(t)
  const token = await f.sellerToken()
  const cases: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{"restrictedResources":', /not JSON/],
    ['no resources', {}, /Resource not provided/],
    ['a JSON null body', 'null', /Resource not provided/],
    ['empty resources', only(), /Resource not provided/],
    ['too many resources', { restrictedResources: Array.from({ length: 51 }, () => resource(addressPath)) }, /At most 50/],
    ['a resource that is not an object', only('GET /x'), /Resource not provided/],
    ['no path', only({ method: 'GET' }), /Resource not provided/],
    ['unknown method', only(resource(addressPath, { method: 'PATCH' })), /Invalid method in resource PATCH \/orders\/v0\/orders\/123-1234567-1234567\/address/],
    ['unknown path', only(resource('/orders/v0/orders/1/secrets')), /Resource GET \/orders\/v0\/orders\/1\/secrets is not a restricted resource/],
    ['known path, wrong method', only(resource(addressPath, { method: 'DELETE' })), /Resource DELETE \/orders.*address is not a restricted resource/],
    ['dataElements where none apply', only(resource(addressPath, { dataElements: ['buyerInfo'] })), /Invalid dataElements for resource GET/],
    ['unknown data element', only(resource('/orders/v0/orders', { dataElements: ['creditCard'] })), /Invalid dataElements/],
    ['getOrders without dataElements', only(resource('/orders/v0/orders')), /GET \/orders\/v0\/orders needs dataElements/],
    ['targetApplication not a string', { targetApplication: 7, restrictedResources: [resource(addressPath)] }, /targetApplication/],
  ]
  for (const [name, body, details] of cases) {
    f.clock.advance(1000) // one token back per request: these test validation, not throttling
    const answer = await f.spCall('POST', rdtPath, token, body)
    t.equal(answer.status, 400, name)
    t.equal(answer.headers['x-amzn-ratelimit-limit'], '1.0', name)
    const error = spError(answer)
    t.match(error, { code: 'InvalidInput', message: 'Invalid Input', details }, name)
  }
  t.same(f.sp.rdts, [])
  t.equal(f.sp.callCount({ operation: 'createRestrictedDataToken', status: 400 }), cases.length)
})

t.test('the accepted resource shapes, templates and literal placeholders included', async (t) => {
  const f = await startSpApi(t)
  const token = await f.sellerToken()
  const accepted = [
    resource('/orders/v0/orders/{orderId}/address'),
    resource(`/orders/v0/orders/${orderId}`, { dataElements: ['buyerTaxInformation'] }),
    resource(`/orders/v0/orders/${orderId}/orderItems`, { dataElements: ['buyerInfo'] }),
    resource(`/orders/v0/orders/${orderId}/buyerInfo`),
    resource(`/orders/v0/orders/${orderId}/orderItems/buyerInfo`),
    resource('/mfn/v0/shipments/FBA1234ABC5D'),
    resource('/mfn/v0/shipments', { method: 'POST' }),
    resource('/reports/2021-06-30/documents/amzn1.spdoc.1.4.na.abc'),
  ]
  await mint(f, token, accepted)
  t.same(f.sp.rdts[0]?.resources, accepted)
})

t.test('a resource the app may not access is 403, or 400 as developers report it', async (t) => {
  const f = await startSpApi(t)
  f.lwa.addClient({ clientId: otherClient, clientSecret: 'other-secret' })
  f.lwa.addRefreshToken({ refreshToken: 'Atzr|other-app', clientId: otherClient })
  f.sp.setSellingPartner('Atzr|other-app', sellingPartnerId)
  f.sp.forbidResource('/orders/v0/orders/{orderId}/buyerInfo')
  f.sp.forbidResource(addressPath, clientId)
  const token = await f.sellerToken()
  const forbidden = await f.spCall('POST', rdtPath, token, only(resource(`/orders/v0/orders/${orderId}/buyerInfo`)))
  t.equal(forbidden.status, 403)
  t.same(forbidden.json(), { errors: [{ code: 'Unauthorized', message: noAccess, details: '' }] })
  const mixed = await f.spCall('POST', rdtPath, token, only(resource('/mfn/v0/shipments/S1'), resource(addressPath)))
  t.equal(mixed.status, 403, 'one forbidden resource refuses the whole request')
  t.equal((await f.spCall('POST', rdtPath, token, only(resource(addressOf('999-0000000-0000000'))))).status, 200, 'another order is allowed')
  const other = await f.sellerToken({ clientId: otherClient, clientSecret: 'other-secret', refreshToken: 'Atzr|other-app' })
  t.equal((await f.spCall('POST', rdtPath, other, only(resource(addressPath)))).status, 200, 'the rule was for one app only')

  f.sp.forbiddenResourceStatus = 400
  const observed = await f.spCall('POST', rdtPath, token, only(resource(addressPath)))
  t.equal(observed.status, 400)
  t.same(spError(observed), { code: 'InvalidInput', message: noAccess, details: '' })
  t.equal(f.sp.rdts.length, 2)
})

t.test('the Tokens API bucket: burst 10, then 429 until a second per token has passed', async (t) => {
  const f = await startSpApi(t)
  const token = await f.sellerToken()
  const body = only(resource(addressPath))
  const statuses: number[] = []
  for (let i = 0; i < 11; i++) statuses.push((await f.spCall('POST', rdtPath, token, body)).status)
  t.same(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 429])
  const throttled = await f.spCall('POST', rdtPath, token, body)
  t.equal(throttled.status, 429)
  t.equal(throttled.headers['x-amzn-ratelimit-limit'], '1.0')
  t.same(spError(throttled), { code: 'QuotaExceeded', message: quota, details: '' })
  f.clock.advance(999)
  t.equal((await f.spCall('POST', rdtPath, token, body)).status, 429)
  f.clock.advance(1)
  t.equal((await f.spCall('POST', rdtPath, token, body)).status, 200)
  t.equal((await f.spCall('POST', rdtPath, token, body)).status, 429)

  f.clock.advance(60_000) // refills to the burst, never beyond it
  const after: number[] = []
  for (let i = 0; i < 11; i++) after.push((await f.spCall('POST', rdtPath, token, body)).status)
  t.equal(after.filter((s) => s === 200).length, 10)
  t.equal(f.sp.rdts.length, 21, 'throttled requests mint nothing')
  t.equal(f.sp.callCount({ operation: 'createRestrictedDataToken', status: 429 }), 5)
})

t.test('the bucket is per selling partner and app', async (t) => {
  const f = await startSpApi(t)
  f.lwa.addRefreshToken({ refreshToken: 'Atzr|seller-two', clientId })
  f.sp.setSellingPartner('Atzr|seller-two', 'A2SELLERTWO')
  f.lwa.addRefreshToken({ refreshToken: 'Atzr|seller-one-again', clientId })
  f.sp.setSellingPartner('Atzr|seller-one-again', sellingPartnerId)
  f.lwa.addClient({ clientId: otherClient, clientSecret: 'other-secret' })
  f.lwa.addRefreshToken({ refreshToken: 'Atzr|seller-one-other-app', clientId: otherClient })
  f.sp.setSellingPartner('Atzr|seller-one-other-app', sellingPartnerId)
  const body = only(resource(addressPath))
  const token = await f.sellerToken()
  for (let i = 0; i < 10; i++) await f.spCall('POST', rdtPath, token, body)
  t.equal((await f.spCall('POST', rdtPath, token, body)).status, 429)
  t.equal((await f.spCall('POST', rdtPath, await f.sellerToken({ refreshToken: 'Atzr|seller-two' }), body)).status, 200, 'another seller')
  t.equal((await f.spCall('POST', rdtPath, await f.sellerToken({ refreshToken: 'Atzr|seller-one-again' }), body)).status, 429,
    'the same seller through another refresh token shares the bucket')
  const otherApp = await f.sellerToken({ clientId: otherClient, clientSecret: 'other-secret', refreshToken: 'Atzr|seller-one-other-app' })
  t.equal((await f.spCall('POST', rdtPath, otherApp, body)).status, 200, 'the same seller through another app')
  t.equal(f.sp.callCount({ sellingPartnerId: 'A2SELLERTWO' }), 1)
})

t.test('getOrderAddress accepts only a live RDT that covers the order', async (t) => {
  const f = await startSpApi(t)
  const token = await f.sellerToken()
  const plain = await f.spCall('GET', addressPath, token)
  t.equal(plain.status, 403, 'a plain access token is not enough')
  t.equal(spError(plain).code, 'Unauthorized')

  const exact = await mint(f, token, [resource(addressPath)])
  const answer = await f.spCall('GET', addressPath, exact)
  t.equal(answer.status, 200)
  t.equal(answer.headers['x-amzn-ratelimit-limit'], '0.5')
  t.match(answer.json(), { payload: { AmazonOrderId: orderId, ShippingAddress: { Name: 'Jane Doe', City: 'Seattle', CountryCode: 'US' } } })
  t.match(f.sp.calls.at(-1), { operation: 'getOrderAddress', status: 200, clientId, sellingPartnerId })
  t.equal((await f.spCall('GET', addressOf('999-0000000-0000000'), exact)).status, 403, 'an RDT for another order')

  const template = await mint(f, token, [resource('/orders/v0/orders/{orderId}/address')])
  t.equal((await f.spCall('GET', addressOf('999-0000000-0000000'), template)).status, 200, 'a template covers every order')
  const generic = await mint(f, token, [resource('/orders/v0/orders', { dataElements: ['shippingAddress'] })])
  t.equal((await f.spCall('GET', addressPath, generic)).status, 200, 'getOrders with shippingAddress covers the address')
  const buyerOnly = await mint(f, token, [resource('/orders/v0/orders', { dataElements: ['buyerInfo'] })])
  t.equal((await f.spCall('GET', addressPath, buyerOnly)).status, 403, 'but not without shippingAddress')
  const otherOp = await mint(f, token, [resource(`/orders/v0/orders/${orderId}/buyerInfo`)])
  t.equal((await f.spCall('GET', addressPath, otherOp)).status, 403, 'an RDT for another operation of the same order')

  t.equal(spError(await f.spCall('GET', '/sellers/v1/marketplaceParticipations', exact)).code, 'Unauthorized', 'RDTs open restricted operations only')
  t.equal((await f.spCall('POST', rdtPath, exact, only(resource(addressPath)))).status, 403, 'an RDT cannot mint RDTs')

  f.clock.advance(3600_000)
  const expired = await f.spCall('GET', addressPath, exact)
  t.equal(expired.status, 403)
  t.equal(spError(expired).details, 'The access token you provided has expired.')
  t.equal(f.sp.callCount({ operation: 'getOrderAddress', status: 403 }), 5)
})

t.test('getOrderAddress has its own bucket per seller and app: burst 30 at 0.5/s', async (t) => {
  const f = await startSpApi(t)
  const rdt = await mint(f, await f.sellerToken(), [resource('/orders/v0/orders/{orderId}/address')])
  const statuses: number[] = []
  for (let i = 0; i < 31; i++) {
    statuses.push((await f.spCall('GET', addressOf(`000-0000000-${String(i).padStart(7, '0')}`), rdt)).status)
  }
  t.equal(statuses.lastIndexOf(200), 29)
  t.equal(statuses[30], 429)
  f.clock.advance(2000)
  t.equal((await f.spCall('GET', addressPath, rdt)).status, 200, 'one request back after two seconds')
  t.equal((await f.spCall('GET', addressPath, rdt)).status, 429)
})
