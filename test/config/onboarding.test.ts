// The onboarding settings a consent that creates its credential needs: where its secret goes
// (inside what discovery lists), and self-service only with a catalogue to serve what it creates.
import t from 'tap'
import { parseConfig, type ConfigProblem } from '../../src/config/index.js'
import { problemsOf } from '../support/config-problems.js'

const file = '/etc/lwa-broker/broker.yaml'

function load(onboarding: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parseConfig({
    secrets: { backend: 'aws', region: 'us-east-1' },
    issuers: [{ issuer: 'https://oidc.test.example/id/CLUSTER', audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { file: 'jwks.json' } }],
    credentials: {},
    onboarding: { publicUrl: 'https://broker.example.com', ...onboarding },
    ...extra,
  }, file)
}

const problems = (onboarding: Record<string, unknown>, extra?: Record<string, unknown>): ConfigProblem[] =>
  problemsOf(() => load(onboarding, extra))

const selfService = { app: 'prod/lwa/apps/sp', applicationId: 'amzn1.sp.solution.x' }
const catalogue = { catalogue: { namePrefix: 'prod/lwa/sellers/' } }

t.test('defaults: no prefix of its own (catalogue.namePrefix is used), no self-service, Amazon\'s own origins', async (t) => {
  const config = load({})
  t.same(config.onboarding?.newCredentials, {})
  t.equal(config.onboarding?.selfService, undefined)
  t.same(config.onboarding?.amazonOrigins, {})
  t.match(load({ selfService }, catalogue).onboarding?.selfService, {
    name: 'sp-{account}-{region}', draft: false, labels: {}, ...selfService,
  }, 'the name template\'s default')
  t.equal(load({ newCredentials: { secretNamePrefix: 'prod/lwa/sellers/new/', kmsKeyId: 'alias/x' } }, catalogue)
    .onboarding?.newCredentials.secretNamePrefix, 'prod/lwa/sellers/new/')
})

t.test('each wrong onboarding setting is named', async (t) => {
  t.same(problems({ newCredentials: { secretNamePrefix: 'elsewhere/' } }, catalogue), [{
    field: 'onboarding.newCredentials.secretNamePrefix',
    message: 'must start with catalogue.namePrefix (prod/lwa/sellers/): discovery lists only those secrets',
  }])
  t.same(problems({ selfService }), [{
    field: 'onboarding.selfService',
    message: 'needs catalogue (the credentials it creates are discovered from their tagged secrets)',
  }])
  t.match(problems({ selfService: { ...selfService, name: 'sp {account}' } }, catalogue), [{ field: 'onboarding.selfService.name' }])
  t.match(problems({ selfService: { app: 'x' } }, catalogue), [{ field: 'onboarding.selfService.applicationId' }])
  t.match(problems({ amazonOrigins: { eu: [] } }), [{ field: 'onboarding.amazonOrigins.eu' }], 'an empty list would allow nothing')
  t.match(problems({ newCredentials: { secretNamePrefix: 'has space/' } }), [{ field: 'onboarding.newCredentials.secretNamePrefix' }])
})
