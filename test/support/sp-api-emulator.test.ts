import t from 'tap'
import { call, consentGrant, grantless, refreshGrant, spError } from './api-test-client.js'
import { applicationId, clientId, clientSecret, refreshToken, sellingPartnerId, startSpApi } from './sp-api-fixture.js'
import { rotationScope, SpApiEmulator } from './sp-api-emulator.js'

const rotatePath = '/applications/2023-11-30/clientSecret'
const participationsPath = '/sellers/v1/marketplaceParticipations'
const denied = 'Access to requested resource is denied.'
const notEnrolled = 'Application is not enrolled for rotation notification. Please update application notification preference in Developer console.'

t.test('every call needs a live LWA access token: 403 Unauthorized in SP-API error shape', async (t) => {
  const f = await startSpApi(t)
  const missing = await f.spCall('GET', participationsPath, undefined)
  t.equal(missing.status, 403)
  t.match(missing.headers['content-type'], /^application\/json/)
  t.match(missing.headers['x-amzn-requestid'], /^[0-9a-f-]{36}$/)
  t.same(missing.json(), { errors: [{ code: 'Unauthorized', message: denied, details: '' }] })

  const forged = spError(await f.spCall('GET', participationsPath, 'Atza|forged'))
  t.same(forged, { code: 'Unauthorized', message: denied, details: 'The access token you provided is revoked, malformed or invalid.' })

  const token = await f.sellerToken()
  t.equal((await f.spCall('GET', participationsPath, token)).status, 200)
  f.clock.advance(3600 * 1000)
  const expired = await f.spCall('GET', participationsPath, token)
  t.equal(expired.status, 403)
  t.equal(spError(expired).details, 'The access token you provided has expired.')
  t.equal(f.sp.callCount({ status: 403 }), 3)
})

t.test('getMarketplaceParticipations answers for the selling partner of the token', async (t) => {
  const f = await startSpApi(t)
  const answer = await f.spCall('GET', participationsPath, await f.sellerToken())
  t.equal(answer.status, 200)
  t.equal(answer.headers['x-amzn-ratelimit-limit'], '0.016')
  t.equal(answer.headers['x-emulator-selling-partner-id'], sellingPartnerId)
  t.match(answer.json(), { payload: [{ marketplace: { id: 'ATVPDKIKX0DER', countryCode: 'US' }, participation: { isParticipating: true } }] })
  t.match(f.sp.calls[0], { operation: 'getMarketplaceParticipations', method: 'GET', path: participationsPath, status: 200, clientId, sellingPartnerId })

  // A seller who consented on the LWA emulator's page is known without setSellingPartner.
  f.lwa.addApplication({ applicationId, clientId })
  f.lwa.nextSellingPartnerId = 'A2CONSENTED'
  const consented = await consentGrant(f.lwa, { applicationId, clientId, clientSecret })
  const viaConsent = await f.spCall('GET', participationsPath, consented.accessToken)
  t.equal(viaConsent.headers['x-emulator-selling-partner-id'], 'A2CONSENTED')
  // setSellingPartner wins over what the consent page said.
  f.sp.setSellingPartner(consented.refreshToken, 'A3OVERRIDE')
  const overridden = await f.spCall('GET', participationsPath, await f.sellerToken({ refreshToken: consented.refreshToken }))
  t.equal(overridden.headers['x-emulator-selling-partner-id'], 'A3OVERRIDE')
  t.equal(f.sp.callCount({ sellingPartnerId: 'A2CONSENTED' }), 1)
})

t.test('a seller call refuses grantless tokens and refresh tokens nobody mapped to a seller', async (t) => {
  const f = await startSpApi(t)
  t.same(spError(await f.spCall('GET', participationsPath, await f.rotationToken())), { code: 'Unauthorized', message: denied, details: '' })
  f.lwa.addRefreshToken({ refreshToken: 'Atzr|nobody-mapped', clientId })
  const unmapped = spError(await f.spCall('GET', participationsPath, await f.sellerToken({ refreshToken: 'Atzr|nobody-mapped' })))
  t.equal(unmapped.code, 'Unauthorized')
  t.match(unmapped.details, /setSellingPartner/)
})

t.test('rotation: 204 without a body; the new secret works beside the old one until retired', async (t) => {
  const f = await startSpApi(t)
  const answer = await f.spCall('POST', rotatePath, await f.rotationToken())
  t.equal(answer.status, 204)
  t.equal(answer.text, '')
  t.equal(answer.headers['x-amzn-ratelimit-limit'], '0.0167')
  const [secret, ...more] = f.sp.secretsOf(clientId)
  t.same(more, [])
  t.match(secret, /^amzn1\.oa2-cs\.v1\.[0-9a-f]{64}$/)
  t.not(secret, clientSecret)

  t.ok(await f.sellerToken({ clientSecret: String(secret) }), 'LWA accepts the new secret')
  t.ok(await f.sellerToken(), 'and still the old one')
  f.sp.retireOldSecrets(clientId)
  await t.rejects(f.sellerToken(), /401.*invalid_client/, 'the old secret is refused once retired')
  t.ok(await f.sellerToken({ clientSecret: String(secret) }))
  t.ok(await refreshGrant(f.lwa, { clientId, clientSecret: String(secret), refreshToken }), 'refresh tokens survive the rotation')
  t.same(f.sp.secretsOf('amzn1.application-oa2-client.other'), [])
})

t.test('the new-secret notification is the body SPAPI.md shows, delivered through notify', async (t) => {
  const f = await startSpApi(t)
  await f.spCall('POST', rotatePath, await f.rotationToken())
  t.equal(f.delivered.length, 1)
  t.same(f.sp.notifications, f.delivered)
  const body = JSON.parse(String(f.delivered[0])) as Record<string, Record<string, unknown>>
  t.same(Object.keys(body), ['notificationVersion', 'notificationType', 'payloadVersion', 'eventTime', 'payload', 'notificationMetadata'])
  t.same(body, {
    notificationVersion: '1.0',
    notificationType: 'APPLICATION_OAUTH_CLIENT_NEW_SECRET',
    payloadVersion: '2023-11-30',
    eventTime: '2026-09-19T10:00:00Z',
    payload: {
      applicationOAuthClientNewSecret: {
        clientId,
        newClientSecret: f.sp.secretsOf(clientId)[0],
        newClientSecretExpiryTime: '2027-03-18T10:00:00Z',
        oldClientSecretExpiryTime: '2026-09-26T10:00:00Z',
      },
    },
    notificationMetadata: {
      applicationId,
      subscriptionId: body.notificationMetadata?.subscriptionId,
      publishTime: '2026-09-19T10:00:01Z',
      notificationId: body.notificationMetadata?.notificationId,
    },
  })
  t.match(body.notificationMetadata, { subscriptionId: /^[0-9a-f-]{36}$/, notificationId: /^[0-9a-f-]{36}$/ })

  // A second rotation a minute later: same subscription, new notification id, both secrets accepted.
  f.clock.advance(60_000)
  f.sp.payloadVersion = '1.0'
  t.equal((await f.spCall('POST', rotatePath, await f.rotationToken())).status, 204)
  const second = JSON.parse(String(f.delivered[1])) as typeof body
  t.equal(second.payloadVersion, '1.0')
  t.equal(second.eventTime, '2026-09-19T10:01:00Z')
  t.equal(second.notificationMetadata?.subscriptionId, body.notificationMetadata?.subscriptionId)
  t.not(second.notificationMetadata?.notificationId, body.notificationMetadata?.notificationId)
  t.equal(f.sp.secretsOf(clientId).length, 2)
  for (const secret of f.sp.secretsOf(clientId)) t.ok(await f.sellerToken({ clientSecret: secret }))
})

t.test('rotation needs a grantless token with the rotation scope', async (t) => {
  const f = await startSpApi(t)
  const seller = await f.spCall('POST', rotatePath, await f.sellerToken())
  t.same(seller.json(), { errors: [{ code: 'Unauthorized', message: denied, details: '' }] })
  const notifications = await f.spCall('POST', rotatePath, await f.rotationToken({ scope: 'sellingpartnerapi::notifications' }))
  t.equal(notifications.status, 403)
  t.equal(f.sp.callCount({ operation: 'rotateApplicationClientSecret', status: 403 }), 2)
  t.same(f.sp.secretsOf(clientId), [])
  t.same(f.delivered, [])
  const both = `sellingpartnerapi::notifications ${rotationScope}`
  t.equal((await f.spCall('POST', rotatePath, await f.rotationToken({ scope: both }))).status, 204, 'a token with both scopes works')
})

t.test('rotation is throttled to one a minute per application', async (t) => {
  const f = await startSpApi(t)
  f.lwa.addClient({ clientId: 'amzn1.application-oa2-client.other', clientSecret: 'other-secret' })
  f.sp.addApplication({ applicationId: 'amzn1.sp.solution.other', clientId: 'amzn1.application-oa2-client.other' })
  const token = await f.rotationToken()
  t.equal((await f.spCall('POST', rotatePath, token)).status, 204)
  const throttled = await f.spCall('POST', rotatePath, token)
  t.equal(throttled.status, 429)
  t.equal(throttled.headers['x-amzn-ratelimit-limit'], '0.0167')
  t.same(spError(throttled), { code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.', details: '' })
  f.clock.advance(59_000)
  t.equal((await f.spCall('POST', rotatePath, token)).status, 429)
  const other = await grantless(f.lwa, { clientId: 'amzn1.application-oa2-client.other', clientSecret: 'other-secret', scope: rotationScope })
  t.equal((await f.spCall('POST', rotatePath, other)).status, 204, 'another app has its own bucket')
  f.clock.advance(1000)
  t.equal((await f.spCall('POST', rotatePath, token)).status, 204)
  t.equal(f.sp.secretsOf(clientId).length, 2, 'throttled calls mint nothing')
  t.equal(f.delivered.length, 3)
})

t.test('an app without a registered queue gets 400 with Amazon message', async (t) => {
  const f = await startSpApi(t)
  f.sp.setEnrolled(clientId, false)
  const answer = await f.spCall('POST', rotatePath, await f.rotationToken())
  t.equal(answer.status, 400)
  t.equal(answer.headers['x-amzn-ratelimit-limit'], '0.0167')
  t.same(answer.json(), { errors: [{ code: 'InvalidInput', message: notEnrolled, details: '' }] })
  t.same(f.sp.secretsOf(clientId), [])
  t.same(f.delivered, [])

  // A client the SP-API emulator was never told about has no queue either.
  f.lwa.addClient({ clientId: 'amzn1.application-oa2-client.unregistered', clientSecret: 'x' })
  const stranger = await grantless(f.lwa, { clientId: 'amzn1.application-oa2-client.unregistered', clientSecret: 'x', scope: rotationScope })
  t.equal(spError(await f.spCall('POST', rotatePath, stranger)).message, notEnrolled)

  f.clock.advance(60_000)
  f.sp.setEnrolled(clientId, true)
  t.equal((await f.spCall('POST', rotatePath, await f.rotationToken())).status, 204)
  t.throws(() => f.sp.setEnrolled('amzn1.application-oa2-client.nobody', true), TypeError)
})

t.test('a failing notify is recorded and the rotation still succeeds', async (t) => {
  let calls = 0
  const f = await startSpApi(t, async () => {
    calls++
    throw new Error('queue is down')
  })
  t.equal((await f.spCall('POST', rotatePath, await f.rotationToken())).status, 204)
  t.equal(calls, 1)
  t.equal(f.sp.notifications.length, 1)
  t.match(f.sp.notifyErrors, [{ message: 'queue is down' }])
  t.equal(f.sp.secretsOf(clientId).length, 1)
})

t.test('emitSecretExpiry delivers APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY', async (t) => {
  const f = await startSpApi(t)
  const body = await f.sp.emitSecretExpiry(clientId)
  t.equal(f.delivered[0], body)
  t.match(JSON.parse(body), {
    notificationVersion: '1.0',
    notificationType: 'APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY',
    payloadVersion: '2023-11-30',
    eventTime: '2026-09-19T10:00:00Z',
    payload: { applicationOAuthClientSecretExpiry: { clientId, clientSecretExpiryTime: '2026-12-18T10:00:00Z', clientSecretExpiryReason: 'PERIODIC_ROTATION' } },
    notificationMetadata: { applicationId, publishTime: '2026-09-19T10:00:01Z' },
  })
  const custom = JSON.parse(await f.sp.emitSecretExpiry(clientId, { expiresAtMs: Date.UTC(2026, 8, 26, 10), reason: 'ROTATION' }))
  t.same(custom.payload, { applicationOAuthClientSecretExpiry: { clientId, clientSecretExpiryTime: '2026-09-26T10:00:00Z', clientSecretExpiryReason: 'ROTATION' } })
  await t.rejects(f.sp.emitSecretExpiry('amzn1.application-oa2-client.nobody'), TypeError)
  t.throws(() => f.sp.retireOldSecrets(clientId), TypeError, 'nothing to retire before a rotation')
})

t.test('faults: status answers with SP-API bodies, gateway pages, resets, delays', async (t) => {
  const f = await startSpApi(t)
  const token = await f.sellerToken()
  f.sp.failNext({ kind: 'status', status: 429, retryAfter: '2' }, 1, 'getMarketplaceParticipations')
  f.sp.failNext({ kind: 'status', status: 500 })
  f.sp.failNext({ kind: 'status', status: 503, code: 'Busy', message: 'try later' })
  f.sp.failNext({ kind: 'status', status: 502, html: true })
  const throttled = await f.spCall('GET', participationsPath, token)
  t.equal(throttled.status, 429)
  t.equal(throttled.headers['retry-after'], '2')
  t.equal(throttled.headers['x-amzn-ratelimit-limit'], '0.016')
  t.equal(spError(throttled).code, 'QuotaExceeded')
  t.same(spError(await f.spCall('GET', participationsPath, token)), { code: 'InternalFailure', message: 'We encountered an internal error. Please try again.', details: '' })
  t.match(spError(await f.spCall('GET', '/nowhere', token)), { code: 'Busy', message: 'try later' }, 'unscoped faults hit any path')
  const page = await f.spCall('GET', participationsPath, token)
  t.equal(page.status, 502)
  t.match(page.headers['content-type'], /^text\/html/)
  t.throws(() => page.json())
  t.equal((await f.spCall('GET', participationsPath, token)).status, 200, 'faults are used up')

  f.sp.failNext({ kind: 'status', status: 418 })
  t.same(spError(await f.spCall('GET', participationsPath, token)), { code: "I'maTeapot", message: "I'm a Teapot", details: '' })
  f.sp.failNext({ kind: 'status', status: 599 })
  t.equal(spError(await f.spCall('GET', participationsPath, token)).message, 'Error')

  f.sp.failNext({ kind: 'reset' })
  await t.rejects(f.spCall('GET', participationsPath, token), { code: 'ECONNRESET' })
  f.sp.failNext({ kind: 'slow', ms: 30 })
  const started = Date.now()
  t.equal((await f.spCall('GET', participationsPath, token)).status, 200)
  t.ok(Date.now() - started >= 25, 'answered late')

  f.sp.setFault({ kind: 'status', status: 503 })
  f.sp.failNext({ kind: 'status', status: 500 })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await f.spCall('GET', participationsPath, token)).status)
  t.same(statuses, [500, 503, 503])
  f.sp.reset()
  t.same(f.sp.calls, [])
  t.equal((await f.spCall('GET', participationsPath, token)).status, 200)
  t.equal(f.sp.callCount({ operation: 'getMarketplaceParticipations', status: 200, clientId }), 1)
})

t.test('latencyMs delays every answer, from the option or set later, and 0 answers at once', async (t) => {
  const f = await startSpApi(t)
  const token = await f.sellerToken()
  const slow = await SpApiEmulator.start({ lwa: f.lwa, clock: f.clock, latencyMs: 100 })
  t.teardown(() => slow.close())
  slow.setSellingPartner(refreshToken, sellingPartnerId)
  const timed = async (url: string) => {
    const started = Date.now()
    const answer = await call(url + participationsPath, { headers: { 'x-amz-access-token': token } })
    return { status: answer.status, ms: Date.now() - started }
  }
  const late = await timed(slow.url)
  t.equal(late.status, 200, 'the answer itself is the normal one')
  t.ok(late.ms >= 95, `answered after the latency (${late.ms} ms)`)
  f.sp.latencyMs = 100
  t.ok((await timed(f.sp.url)).ms >= 95, 'set on a running emulator')
  slow.latencyMs = 0
  t.ok((await timed(slow.url)).ms < 95, 'and taken off again')
})

t.test('unknown paths are 404 and oversized bodies 413, both in SP-API error shape', async (t) => {
  const f = await startSpApi(t)
  const token = await f.sellerToken()
  const missing = await f.spCall('GET', '/orders/v0/orders', token)
  t.equal(missing.status, 404)
  t.equal(spError(missing).code, 'NotFound')
  t.equal((await f.spCall('GET', rotatePath, token)).status, 404, 'wrong method')
  const huge = await f.spCall('POST', '/tokens/2021-03-01/restrictedDataToken', token, 'x'.repeat(65 * 1024))
  t.equal(huge.status, 413)
  t.equal(spError(huge).code, 'RequestEntityTooLarge')
  t.match(f.sp.calls.map((c) => c.operation), ['', '', 'createRestrictedDataToken'])
  t.equal(f.sp.callCount({ operation: '' }), 2)
})

t.test('close does not wait for keep-alive sockets or pending slow answers', async (t) => {
  const f = await startSpApi(t)
  const token = await f.sellerToken()
  t.equal((await call(f.sp.url + participationsPath, { headers: { 'x-amz-access-token': token } })).status, 200)
  f.sp.failNext({ kind: 'slow', ms: 60_000 })
  const pending = f.spCall('GET', participationsPath, token)
  while (f.sp.calls.length < 2) await new Promise((resolve) => setImmediate(resolve))
  const started = Date.now()
  await f.sp.close()
  await t.rejects(pending)
  t.ok(Date.now() - started < 1000, 'closed promptly')
})

t.test('getSubscription is a seller\'s operation: a seller\'s token answers, a grantless one is refused', async (t) => {
  const f = await startSpApi(t)
  const path = '/notifications/v1/subscriptions/ANY_OFFER_CHANGED'
  const answer = await f.spCall('GET', path, await f.sellerToken())
  t.equal(answer.status, 200)
  const payload = { subscriptionId: 'sub-a1sellerone-any_offer_changed', payloadVersion: '1.0', destinationId: /^dest-/ }
  t.match(answer.json(), { payload })
  t.match(f.sp.calls.at(-1), { operation: 'getSubscription', status: 200, clientId, sellingPartnerId })
  const token = await grantless(f.lwa, { clientId, clientSecret, scope: 'sellingpartnerapi::notifications' })
  const refused = await f.spCall('GET', path, token)
  t.equal(refused.status, 403)
  t.equal(spError(refused).code, 'Unauthorized')
})
