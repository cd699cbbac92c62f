// grant_type=client_credentials on POST /auth/o2/token: a grantless scope resolved to one
// credential the caller may use, through the same exchange as every token; and the real
// amazon-sp-api SDK's grantless call, its LWA request alone routed to the broker, its SP-API
// operation to the SP-API emulator with the broker's token.
import t from 'tap'
import { build, fixtures, type Harness, type MintOptions } from '../../helper.js'
import { auditOf, formOf, postToken, tokenOutcomes } from '../../support/compat-client.js'
import { HostRoutedAgent } from '../../support/host-routed-agent.js'
import { destinationOf, notificationsScope } from '../../support/sp-api-destinations.js'
import { SpApiEmulator } from '../../support/sp-api-emulator.js'


type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]
const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' } }
const reporter: MintOptions = { claims: { sub: 'system:serviceaccount:ads:reporter' } }
const notifier: MintOptions = { claims: { sub: 'system:serviceaccount:notify:worker' } }
/** A second SP-API app with its own grantless credential of the same scope. */
const otherApp = { clientId: 'amzn1.application-oa2-client.spb0002', clientSecret: 'amzn1.oa2-cs.v1.spb-secret-0002' }

/** Two credentials of one scope, of two apps; `notify:*` may use only the second. */
async function twoApps(t: Test): Promise<Harness> {
  const h = await build(t, {
    config: (c) => ({
      ...c,
      credentials: {
        ...(c.credentials as object),
        'sp-notifications-b': {
          api: 'sp-api', region: 'eu', grant: 'client_credentials', scope: notificationsScope, app: 'lwa/apps/sp-b',
        },
      },
      policy: [...(c.policy as object[]), { subject: 'system:serviceaccount:notify:*', credentials: ['sp-notifications-b'] }],
    }),
    secrets: (s) => ({ ...s, 'lwa/apps/sp-b': { client_id: otherApp.clientId, client_secret: otherApp.clientSecret } }),
  })
  h.lwa.addClient(otherApp)
  h.logs.secrets.add(otherApp.clientSecret)
  return h
}

const grantless = (jwt: string, extra: Record<string, string> = {}) =>
  formOf({ grant_type: 'client_credentials', scope: notificationsScope, client_secret: jwt, ...extra })

t.test('grantless happy path: LWA\'s client_credentials answer, one LWA call, audited and counted', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const first = await postToken(h, grantless(jwt, { client_id: 'anything' }))
  t.equal(first.statusCode, 200)
  const body = first.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'exactly LWA\'s fields: no refresh_token')
  t.match(body, { scope: notificationsScope, token_type: 'bearer', expires_in: 3600 })
  t.match(body.access_token, /^Atc\|/)
  t.match(h.lwa.issued(body.access_token), { clientId: fixtures.spClient.clientId, grantType: 'client_credentials', scope: notificationsScope })
  t.equal(first.headers['cache-control'], 'no-store')
  const json = await postToken(h, { grant_type: 'client_credentials', scope: notificationsScope, client_id: 'x', client_secret: jwt })
  t.equal(json.json().access_token, body.access_token, 'JSON too; the cached token')
  t.equal(h.lwa.callCount(), 1)
  t.match(auditOf(h, first), [{ event: 'token.issued', credential: 'sp-notifications', callerSubject: 'system:serviceaccount:platform:all' }])
  t.equal(await tokenOutcomes(h, 'sp-notifications', 'issued'), 2)
})

t.test('the JWT as a Bearer header works for the grantless grant too', async (t) => {
  const h = await build(t)
  const res = await postToken(h, formOf({ grant_type: 'client_credentials', scope: notificationsScope }), { authorization: `Bearer ${await h.jwt(platform)}` })
  t.equal(res.statusCode, 200)
})

t.test('client_id chooses between two allowed credentials of the same scope', async (t) => {
  const h = await twoApps(t)
  const jwt = await h.jwt(platform)
  for (const [clientId, credential] of [[otherApp.clientId, 'sp-notifications-b'], [fixtures.spClient.clientId, 'sp-notifications']] as const) {
    const res = await postToken(h, grantless(jwt, { client_id: clientId }))
    t.equal(res.statusCode, 200, clientId)
    t.equal(h.lwa.issued(res.json().access_token)?.clientId, clientId, 'minted for the app the SDK named')
    t.match(auditOf(h, res), [{ event: 'token.issued', credential }])
  }
  // Now both have cached tokens, so their client ids come from the cache: the same choice.
  const again = await postToken(h, grantless(jwt, { client_id: otherApp.clientId }))
  t.equal(h.lwa.issued(again.json().access_token)?.clientId, otherApp.clientId)
  t.equal(h.lwa.callCount(), 2)
})

t.test('still ambiguous (no client_id, or one no candidate has) is invalid_scope, audited as denied', async (t) => {
  const h = await twoApps(t)
  const jwt = await h.jwt(platform)
  for (const extra of [{}, { client_id: 'amzn1.application-oa2-client.someone-else' }] as Array<Record<string, string>>) {
    const res = await postToken(h, grantless(jwt, extra))
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'invalid_scope', error_description: 'The request has an invalid parameter : scope' })
    t.match(auditOf(h, res), [{ event: 'token.denied', error: 'forbidden', reason: 'ambiguous_scope', credential: `scope:${notificationsScope}` }])
  }
  t.equal(h.lwa.callCount(), 0)
  t.equal(await tokenOutcomes(h, '(denied)', 'forbidden'), 2, 'counted, under no name')
})

t.test('one allowed credential is chosen whatever client_id says', async (t) => {
  const h = await twoApps(t)
  const res = await postToken(h, grantless(await h.jwt(notifier), { client_id: fixtures.spClient.clientId }))
  t.equal(res.statusCode, 200)
  t.equal(h.lwa.issued(res.json().access_token)?.clientId, otherApp.clientId, 'the one the policy allows')
})

t.test('a policy-denied caller gets exactly what an unknown scope gets', async (t) => {
  const h = await build(t)
  const denied = await postToken(h, grantless(await h.jwt(reporter)))
  const unknown = await postToken(h, grantless(await h.jwt(platform), { scope: 'sellingpartnerapi::no-such-scope' }))
  for (const res of [denied, unknown]) {
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'invalid_scope', error_description: 'The request has an invalid parameter : scope' })
    t.match(auditOf(h, res), [{ event: 'token.denied', error: 'forbidden', reason: 'no_credential_for_scope' }])
  }
  t.same(Object.keys(denied.headers).sort(), Object.keys(unknown.headers).sort(), 'the same headers too')
  t.equal(await tokenOutcomes(h, '(denied)', 'forbidden'), 2)
  t.equal(h.lwa.callCount(), 0)
})

t.test('the grantless grant\'s own request errors', async (t) => {
  const h = await build(t)
  const noScope = await postToken(h, formOf({ grant_type: 'client_credentials', client_secret: await h.jwt(platform) }))
  t.equal(noScope.statusCode, 400)
  t.equal(noScope.json().error, 'invalid_request')
  const noJwt = await postToken(h, formOf({ grant_type: 'client_credentials', scope: notificationsScope }))
  t.equal(noJwt.statusCode, 401)
  t.equal(noJwt.json().error, 'invalid_client')
  t.match(auditOf(h, noJwt), [{ event: 'token.denied', error: 'unauthenticated' }], 'refused by the exchange, audited')
})

t.test('the real amazon-sp-api SDK: its grantless LWA call to the broker, getDestinations to SP-API with that token', async (t) => {
  const h = await build(t)
  const spApi = await SpApiEmulator.start({ lwa: h.lwa })
  t.teardown(() => spApi.close())
  const brokerRequests: string[] = []
  h.app.addHook('onRequest', async (request) => { brokerRequests.push(`${request.method} ${request.url}`) })
  const broker = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const agent = new HostRoutedAgent({ 'api.amazon.com': broker, 'sellingpartnerapi-eu.amazon.com': spApi.url })
  t.teardown(() => agent.destroy())
  const { SellingPartner } = await import('amazon-sp-api') as unknown as {
    SellingPartner: new (config: Record<string, unknown>) => { callAPI(params: Record<string, unknown>): Promise<unknown> }
  }
  const sdk = new SellingPartner({
    region: 'eu',
    credentials: { SELLING_PARTNER_APP_CLIENT_ID: fixtures.spClient.clientId, SELLING_PARTNER_APP_CLIENT_SECRET: await h.jwt({ ...platform, lifetimeSeconds: 3600 }) },
    options: { only_grantless_operations: true, https_proxy_agent: agent, auto_request_throttled: false },
  })
  const destinations = await sdk.callAPI({ operation: 'getDestinations', endpoint: 'notifications' })
  t.same(destinations, [destinationOf(fixtures.spClient.clientId)], 'SP-API answered the app whose token the broker gave')
  t.same(brokerRequests, ['POST /auth/o2/token'], 'only the LWA call went to the broker')
  t.same(agent.opened, ['api.amazon.com', 'sellingpartnerapi-eu.amazon.com'])
  t.equal(spApi.callCount({ operation: 'getDestinations', status: 200, clientId: fixtures.spClient.clientId }), 1)
  t.equal(h.lwa.callCount(), 1, 'the broker asked LWA once, with its own app credentials')
  t.match(h.logs.find((r) => r.event === 'token.issued'), [{ credential: 'sp-notifications' }])
})
