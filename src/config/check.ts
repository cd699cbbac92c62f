import type { IssuerConfig, RawConfig as BrokerConfig, RawCredential } from './schema.js'
import type { ConfigProblem } from './config-error.js'
import { isAcceptableUrl } from './secure-url.js'

export type Need = (ok: boolean, field: string, message: string) => void

/**
 * Rules the JSON schema cannot say (or cannot say readably): which fields a backend,
 * a grant or an API needs together. Returns every problem, not just the first.
 */
export function checkConfig(config: BrokerConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const need: Need = (ok, field, message) => {
    if (!ok) problems.push({ field, message })
  }
  need(config.secrets.backend !== 'file' || config.secrets.path !== undefined,
    'secrets.path', 'is required when secrets.backend is "file"')
  need(config.catalogue === undefined || config.secrets.backend === 'aws', 'catalogue',
    'needs secrets.backend "aws" (credentials are discovered from tagged Secrets Manager secrets)')
  need(config.apps.notifications === undefined || config.secrets.backend === 'aws', 'apps.notifications',
    'needs secrets.backend "aws" (a new client secret is staged and promoted in Secrets Manager)')
  need(config.apps.rotation === undefined || config.apps.notifications !== undefined, 'apps.rotation',
    'needs apps.notifications (Amazon sends the new secret to that queue)')
  checkListeners(config, need)
  checkIssuers(config, need)
  checkCache(config, need)
  checkCredentials(config, need)
  checkPolicy(config, need)
  checkEndpoints(config, need)
  checkLifecycle(config, need)
  checkNewCredentials(config, need)
  return problems
}

function checkListeners(config: BrokerConfig, need: Need): void {
  const { listen, ops, http } = config
  need(http.headersTimeoutSeconds <= http.requestTimeoutSeconds, 'http.headersTimeoutSeconds',
    'must not exceed http.requestTimeoutSeconds (the headers are part of the request)')
  need(ops.port === 0 || ops.port !== listen.port, 'ops.port', `must differ from listen.port (${listen.port})`)
  if (config.mode === 'sidecar') {
    need(['127.0.0.1', '::1', 'localhost'].includes(listen.host), 'listen.host',
      'must be loopback (127.0.0.1 or ::1) in sidecar mode')
  }
}

function checkIssuers(config: BrokerConfig, need: Need): void {
  const seen = new Set<string>()
  config.issuers.forEach((issuer, i) => {
    const at = `issuers.${i}`
    need(!seen.has(issuer.issuer), `${at}.issuer`, `duplicates another issuer (${issuer.issuer})`)
    seen.add(issuer.issuer)
    const hmac = issuer.algorithms.filter((a) => a.startsWith('HS'))
    if (issuer.sharedSecretFile !== undefined) {
      need(hmac.length === issuer.algorithms.length, `${at}.algorithms`,
        'must be only HS256/HS384/HS512 with a shared secret')
      need(keySources(issuer.jwks) === 0, `${at}.jwks`, 'cannot be combined with sharedSecretFile')
    } else {
      need(hmac.length === 0, `${at}.algorithms`, 'HS* needs sharedSecretFile (and then only HS*)')
      need(keySources(issuer.jwks) === 1, `${at}.jwks`,
        'needs exactly one of "keys", "file", "uri", "discovery: true" or "kubernetes"')
    }
  })
}

/** The ways to reach Redis; exactly one is given. */
const redisTopologies = ['url', 'sentinel', 'cluster'] as const

function checkCache(config: BrokerConfig, need: Need): void {
  const cache = config.cache
  if (cache.backend !== 'redis') return
  const given = redisTopologies.filter((field) => cache[field] !== undefined)
  need(given.length > 0, 'cache.url', 'is required when cache.backend is "redis" (or cache.sentinel, or cache.cluster)')
  for (const extra of given.slice(1)) {
    need(false, `cache.${extra}`, `cannot be combined with cache.${given[0]}: give one of url, sentinel or cluster`)
  }
  for (const field of ['username', 'passwordFile'] as const) {
    need(cache[field] === undefined || !hasCredentials(cache.url), `cache.${field}`,
      'cannot be combined with credentials in cache.url')
  }
  // A brace in the prefix would become the hash tag of every key, or split a token from its lock.
  need(cache.cluster === undefined || !/[{}]/.test(cache.keyPrefix), 'cache.keyPrefix',
    'must not contain { or } with cache.cluster: the broker\'s keys carry their own hash tags')
  need((cache.encryptionKeyFile === undefined) !== (cache.encryptionKeySecret === undefined),
    'cache.encryptionKeyFile',
    'exactly one of encryptionKeyFile or encryptionKeySecret is required with Redis: tokens are stored encrypted')
}

function hasCredentials(url: string | undefined): boolean {
  if (url === undefined || !URL.canParse(url)) return false
  const { username, password } = new URL(url)
  return username !== '' || password !== ''
}

function checkCredentials(config: BrokerConfig, need: Need): void {
  for (const [name, cred] of Object.entries(config.credentials)) checkCredential(cred, `credentials.${name}`, need)
}

/** The cross-field rules of one credential, whether from the config file or a secret's tags (src/catalogue). */
export function checkCredential(cred: RawCredential, at: string, need: Need): void {
  if (cred.grant === 'refresh_token') {
    need(cred.secret !== undefined, `${at}.secret`,
      'is required for the refresh_token grant (it holds refresh_token)')
    need(cred.scope === undefined, `${at}.scope`, 'applies only to the client_credentials grant')
  } else {
    need(cred.scope !== undefined, `${at}.scope`, 'is required for the client_credentials grant')
    need(cred.app !== undefined || cred.secret !== undefined, `${at}.app`,
      'is required for the client_credentials grant (it holds client_id and client_secret)')
  }
  need(cred.api !== 'ads' || cred.grant === 'refresh_token', `${at}.grant`,
    'the Ads API only uses the refresh_token grant')
  need(cred.api !== 'appstore' || cred.grant === 'client_credentials', `${at}.grant`,
    'the Appstore APIs only use the client_credentials grant')
  need(cred.profileId === undefined || cred.api === 'ads', `${at}.profileId`, 'applies only to api "ads"')
  need(cred.sellingPartnerId === undefined || cred.api === 'sp-api', `${at}.sellingPartnerId`,
    'applies only to api "sp-api"')
  need(cred.onboarding === undefined || (cred.grant === 'refresh_token' && cred.api !== 'appstore'),
    `${at}.onboarding`, 'applies only to refresh_token credentials of the Ads API and SP-API')
  need(cred.onboarding === undefined || cred.api !== 'sp-api' || cred.onboarding.applicationId !== undefined,
    `${at}.onboarding.applicationId`, 'is required to onboard an SP-API seller')
}

function checkPolicy(config: BrokerConfig, need: Need): void {
  const issuers = new Set(config.issuers.map((i) => i.issuer))
  config.policy.forEach((rule, i) => {
    const selects = rule.credentials.length > 0 || Object.keys(rule.credentialLabels).length > 0
      || Object.keys(rule.labelsFromClaims).length > 0
    need(selects || rule.admin, `policy.${i}`,
      'grants nothing: give it "credentials", "credentialLabels", "labelsFromClaims" or "admin: true"')
    need(rule.issuer === undefined || issuers.has(rule.issuer), `policy.${i}.issuer`,
      'is not one of the configured issuers')
    // Without it, any trusted issuer could mint a token with this subject.
    need(rule.issuer !== undefined || config.issuers.length === 1, `policy.${i}.issuer`,
      'is required when more than one issuer is configured')
  })
}

/** Checks that a URL carrying a token, a secret, keys or signed events is https://, unless it stays on this machine. */
function secureUrls(config: BrokerConfig, need: Need): (url: string | undefined, field: string) => void {
  return (url, field) => need(url === undefined || isAcceptableUrl(url, config.allowInsecureEndpoints), field,
    'must be https:// (plain http:// only to a loopback address, or with allowInsecureEndpoints: true)')
}

function checkEndpoints(config: BrokerConfig, need: Need): void {
  const secure = secureUrls(config, need)
  secure(config.secrets.endpoint, 'secrets.endpoint')
  for (const [region, url] of Object.entries(config.lwa.endpoints)) secure(url, `lwa.endpoints.${region}`)
  for (const [region, url] of Object.entries(config.ads.endpoints)) secure(url, `ads.endpoints.${region}`)
  config.issuers.forEach((issuer, i) => {
    secure(issuer.jwks.uri, `issuers.${i}.jwks.uri`)
    secure(issuer.jwks.kubernetes?.apiServer, `issuers.${i}.jwks.kubernetes.apiServer`)
    // Discovery fetches {issuer}/.well-known/openid-configuration.
    if (issuer.jwks.discovery) secure(issuer.issuer, `issuers.${i}.issuer`)
  })
  secure(config.apps.notifications?.queueUrl, 'apps.notifications.queueUrl')
  secure(config.apps.notifications?.endpoint, 'apps.notifications.endpoint')
  for (const [region, url] of Object.entries(config.spApi.endpoints)) secure(url, `spApi.endpoints.${region}`)
  const onboarding = config.onboarding
  if (!onboarding) return
  secure(onboarding.publicUrl, 'onboarding.publicUrl')
  for (const [api, urls] of Object.entries(onboarding.consentUrls)) {
    for (const [region, url] of Object.entries(urls ?? {})) secure(url, `onboarding.consentUrls.${api}.${region}`)
  }
  for (const [region, urls] of Object.entries(onboarding.amazonOrigins)) {
    urls?.forEach((url, i) => secure(url, `onboarding.amazonOrigins.${region}.${i}`))
  }
}

/** A consent that creates its credential writes a tagged secret that discovery must then find. */
function checkNewCredentials(config: BrokerConfig, need: Need): void {
  const onboarding = config.onboarding
  if (!onboarding) return
  const prefix = config.catalogue?.namePrefix
  const own = onboarding.newCredentials.secretNamePrefix
  need(prefix === undefined || own === undefined || own.startsWith(prefix),
    'onboarding.newCredentials.secretNamePrefix', `must start with catalogue.namePrefix (${prefix}): discovery lists `
    + 'only those secrets')
  need(!onboarding.selfService || config.catalogue !== undefined, 'onboarding.selfService',
    'needs catalogue (the credentials it creates are discovered from their tagged secrets)')
}

function checkLifecycle(config: BrokerConfig, need: Need): void {
  const webhook = config.lifecycle.webhook
  if (!webhook) return
  secureUrls(config, need)(webhook.url, 'lifecycle.webhook.url')
  need((webhook.keyFile === undefined) !== (webhook.keySecret === undefined), 'lifecycle.webhook.keyFile',
    'exactly one of keyFile or keySecret is required: every delivery is signed with the key')
}

function keySources(jwks: IssuerConfig['jwks']): number {
  return [jwks.keys, jwks.file, jwks.uri, jwks.discovery || undefined, jwks.kubernetes]
    .filter((s) => s !== undefined).length
}
