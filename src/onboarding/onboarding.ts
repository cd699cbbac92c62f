import { randomBytes, randomUUID } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { BrokerConfig, CredentialConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { LwaError, tokenUrlFor, type LwaClient } from '../lwa/index.js'
import { SecretError, type SecretStore } from '../secrets/index.js'
import type { TokenService } from '../tokens/index.js'
import { callbackUrl, consentUrl } from './consent-url.js'
import { StateSigner } from './signed-state.js'

/** Why an onboarding attempt ended without storing anything; each has its own page. */
export type OnboardingFailure =
  | 'link_invalid' | 'state_invalid' | 'state_expired' | 'state_reused' | 'other_browser'
  | 'declined' | 'code_missing' | 'code_rejected' | 'lwa_unavailable' | 'secret_unavailable'

export class OnboardingError extends Error {
  constructor(readonly reason: OnboardingFailure, readonly status: number, message: string, readonly credential?: string) {
    super(message)
    this.name = 'OnboardingError'
  }
}

export interface OnboardingDeps {
  config: BrokerConfig
  secrets: SecretStore
  lwa: LwaClient
  clock: Clock
  tokens: TokenService
}

/**
 * Connects a seller or advertiser to a credential without anyone handling the refresh
 * token: an admin gets a one-time link; the account owner opens it and is sent to Amazon's
 * consent page with a signed, browser-bound `state`; Amazon sends them back with a code;
 * the broker exchanges it and stores the refresh token as a new secret version.
 */
export class Onboarding {
  private readonly links = new Map<string, { credential: string; expiresAtMs: number }>()
  private readonly states = new StateSigner()

  constructor(private readonly deps: OnboardingDeps, private readonly settings: NonNullable<BrokerConfig['onboarding']>) {}

  /** A one-time link for the account owner (admin). */
  createLink(credential: string): { url: string; expiresAtMs: number } {
    const config = this.onboardable(credential)
    if (!config) throw new BrokerError('invalid_request', `credential ${credential} cannot be onboarded (it needs the refresh_token grant, and an applicationId for SP-API)`)
    const now = this.deps.clock.now()
    for (const [id, link] of this.links) if (now >= link.expiresAtMs) this.links.delete(id)
    const id = randomBytes(24).toString('base64url')
    const expiresAtMs = now + this.settings.linkTtlSeconds * 1000
    this.links.set(id, { credential, expiresAtMs })
    return { url: `${this.settings.publicUrl.replace(/\/$/, '')}/onboarding/${id}`, expiresAtMs }
  }

  /** The link was opened: use it up and send the browser to Amazon with a fresh state. */
  async begin(linkId: string): Promise<{ credential: string; nonce: string; redirectUrl: string; maxAgeSeconds: number }> {
    const link = this.links.get(linkId)
    const now = this.deps.clock.now()
    if (!link || now >= link.expiresAtMs) throw new OnboardingError('link_invalid', 410, 'This link has expired or was already used. Ask for a new one.')
    const config = this.onboardable(link.credential) as CredentialConfig
    const app = await this.readApp(link.credential, config)
    // Used up only once the redirect can be made: "try again later" must stay true.
    if (!this.links.delete(linkId)) throw new OnboardingError('link_invalid', 410, 'This link has expired or was already used. Ask for a new one.')
    const { state, nonce } = this.states.issue(link.credential, now + this.settings.stateTtlSeconds * 1000)
    return { credential: link.credential, nonce, redirectUrl: consentUrl(this.settings, config, app.clientId, state), maxAgeSeconds: this.settings.stateTtlSeconds }
  }

  /** Amazon sent the browser back: check everything, exchange the code, store the refresh token. */
  async complete(query: Record<string, string | undefined>, cookieNonce: string | undefined): Promise<{ credential: string }> {
    const payload = this.states.consume(query.state ?? '', cookieNonce, this.deps.clock.now())
    if (typeof payload === 'string') throw stateFailure(payload)
    const { credential } = payload
    // The state names a credential that was onboardable when it was issued; config does not change at run time.
    const config = this.onboardable(credential) as CredentialConfig
    if (query.error) throw new OnboardingError('declined', 400, 'The authorization was declined on Amazon\'s page. Nothing was stored.', credential)
    const code = query.code ?? query.spapi_oauth_code
    if (!code) throw new OnboardingError('code_missing', 400, 'Amazon did not send an authorization code. Nothing was stored.', credential)
    const app = await this.readApp(credential, config)
    const refreshToken = await this.exchange(credential, config, app, code)
    await this.store(credential, config, refreshToken, query.selling_partner_id)
    this.deps.tokens.retryNow(credential)
    return { credential }
  }

  private onboardable(name: string): CredentialConfig | undefined {
    const config = this.deps.tokens.has(name) ? this.deps.config.credentials[name] : undefined
    const ok = config && config.grant === 'refresh_token' && config.api !== 'appstore' && (config.api !== 'sp-api' || config.onboarding?.applicationId)
    return ok ? config : undefined
  }

  private async readApp(credential: string, config: CredentialConfig): Promise<{ clientId: string; clientSecret: string }> {
    try {
      const { fields } = await this.deps.secrets.get((config.app ?? config.secret) as string)
      if (typeof fields.client_id !== 'string' || typeof fields.client_secret !== 'string') throw new Error('missing client fields')
      return { clientId: fields.client_id, clientSecret: fields.client_secret }
    } catch {
      throw new OnboardingError('secret_unavailable', 503, 'The app\'s client credentials cannot be read right now. Try again later.', credential)
    }
  }

  private async exchange(credential: string, config: CredentialConfig, app: { clientId: string; clientSecret: string }, code: string): Promise<string> {
    try {
      const answer = await this.deps.lwa.requestToken(tokenUrlFor(config.region, this.deps.config.lwa.endpoints), app, {
        grantType: 'authorization_code', code, redirectUri: callbackUrl(this.settings),
      })
      if (!answer.refreshToken) throw new LwaError('malformed_response', { retryable: true, description: 'no refresh_token' })
      return answer.refreshToken
    } catch (err) {
      const lwaError = err instanceof LwaError ? err : undefined
      if (lwaError?.retryable) throw new OnboardingError('lwa_unavailable', 503, 'Login with Amazon is unavailable right now. Nothing was stored; open the link again later.', credential)
      throw new OnboardingError('code_rejected', 400, `Login with Amazon refused the authorization code (${lwaError?.code ?? 'error'}): it expires after about five minutes and works once. Nothing was stored; ask for a new link.`, credential)
    }
  }

  /** A new AWSCURRENT version of the grant secret, other fields kept. */
  private async store(credential: string, config: CredentialConfig, refreshToken: string, sellingPartnerId: string | undefined): Promise<void> {
    const { secrets } = this.deps
    const secretId = config.secret as string
    try {
      if (!secrets.put) throw new SecretError('unavailable', secretId, 'this secrets backend cannot store secrets')
      const current = await secrets.get(secretId)
      const fields = { ...current.fields, refresh_token: refreshToken, ...(config.api === 'sp-api' && sellingPartnerId ? { selling_partner_id: sellingPartnerId } : {}) }
      await secrets.put(secretId, fields, randomUUID())
    } catch (err) {
      const missing = err instanceof SecretError && err.reason === 'not_found'
      throw new OnboardingError('secret_unavailable', missing ? 409 : 503, missing
        ? 'The credential\'s secret does not exist yet; an operator must create it first. Nothing was stored.'
        : 'The refresh token could not be stored. Nothing was stored; ask for a new link.', credential)
    }
  }
}

function stateFailure(problem: 'invalid' | 'expired' | 'other_browser' | 'reused'): OnboardingError {
  switch (problem) {
    case 'expired': return new OnboardingError('state_expired', 400, 'This authorization took too long and has expired. Nothing was stored; ask for a new link.')
    case 'reused': return new OnboardingError('state_reused', 400, 'This authorization was already completed or used. Nothing more was stored.')
    case 'other_browser': return new OnboardingError('other_browser', 400, 'This authorization must be finished in the browser that started it. Nothing was stored.')
    case 'invalid': return new OnboardingError('state_invalid', 400, 'This authorization response is not valid. Nothing was stored.')
  }
}
