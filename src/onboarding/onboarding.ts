import { randomBytes } from 'node:crypto'
import type { Catalogue } from '../catalogue/catalogue.js'
import type { Dispatcher } from 'undici'
import type { Clock } from '../clock.js'
import type { BrokerConfig, RefreshTokenCredential } from '../config/index.js'
import { BrokerError } from '../errors.js'
import type { LwaClient } from '../lwa/index.js'
import type { SecretStore } from '../secrets/index.js'
import type { TokenService } from '../tokens/index.js'
import type { Lifecycle } from '../lifecycle/lifecycle.js'
import type { ProfileBook } from '../ads/profile-book.js'
import { learnAccount } from './account.js'
import { codeOf, exchangeCode, readApp } from './code-exchange.js'
import { callbackUrl, consentUrl } from './consent-url.js'
import { linkUnknown, OnboardingError, ourFailures, stateFailure, stored } from './failures.js'
import { rebindGrant, type Bound, type Grant } from './grant-secret.js'
import { connectNew, plannedConfig, type Onboardable } from './new-credential.js'
import { SellerLogin } from './seller-login.js'
import { safeEqual, StateSigner, type StatePayload } from './signed-state.js'
import type { Link, NewCredential, OnboardingStore } from './store.js'

export interface OnboardingDeps {
  config: BrokerConfig
  /** The credentials that exist now: a link is for one of them. */
  catalogue: Catalogue
  secrets: SecretStore
  lwa: LwaClient
  clock: Clock
  tokens: TokenService
  /** For the Ads API's profile list (which account was connected); a keep-alive pool in production. */
  adsDispatcher?: Dispatcher
  /** Links and used states: in Redis when replicas share one, so any replica serves any step. */
  store: OnboardingStore
  /** Signs `state`; from configuration (every replica derives the same), never made up by one process. */
  stateKey: Buffer
  /** Where connected, re-authorized and replaced are told (audit, metric, webhook). */
  lifecycle?: Pick<Lifecycle, 'emit'>
  /** Keeps the profile list onboarding read to learn an Ads account. */
  profiles?: Pick<ProfileBook, 'record'>
  /** Lists the catalogue now; absent without a catalogue, where a consent cannot create its credential. */
  discovered?: (() => Promise<unknown>) | undefined
}

export interface LinkOptions {
  /** Refuse any other Amazon account than this one. */
  expectedAccount?: string | undefined
  /** Allow connecting another account than the one the credential is connected to now. */
  replace?: boolean | undefined
}

type Settings = NonNullable<BrokerConfig['onboarding']>

/** What a link connects: a credential that exists, or one its consent creates. */
export type LinkTarget = { credential: string } | { create: NewCredential }

/**
 * Connects a seller or advertiser to a credential without anyone handling the refresh
 * token: an admin gets a one-time link; the account owner opens it and is sent to Amazon's
 * consent page with a signed, browser-bound `state`; Amazon sends them back with a code;
 * the broker exchanges it, learns which account it is, and stores the refresh token with
 * that account as a new secret version. A connected credential stays with its account
 * unless the link said otherwise.
 */
export class Onboarding {
  private readonly states: StateSigner
  /** The app's Login URI (seller-initiated flows); its states come back to the same callback. */
  readonly login: SellerLogin

  constructor(private readonly deps: OnboardingDeps, private readonly settings: Settings) {
    this.states = new StateSigner(deps.stateKey)
    this.login = new SellerLogin({ ...deps, states: this.states }, settings)
  }

  /** A one-time link for the account owner (admin). */
  async createLink(target: LinkTarget, options: LinkOptions = {}): Promise<{ url: string; expiresAtMs: number }> {
    const now = this.deps.clock.now()
    const expiresAtMs = now + this.settings.linkTtlSeconds * 1000
    const id = randomBytes(24).toString('base64url')
    await stored(this.deps.store.putLink(id, {
      ...this.linkFor(target, options), expiresAtMs, replace: options.replace ?? false,
    }, now))
    return { url: `${this.settings.publicUrl.replace(/\/$/, '')}/onboarding/${id}`, expiresAtMs }
  }

  /** The credential a link is for, without using it up (the page that asks to continue). */
  async inspect(linkId: string): Promise<{ credential: string }> {
    const link = await stored(this.deps.store.peekLink(linkId, this.deps.clock.now()))
    if (!link) throw linkUnknown()
    return { credential: link.credential }
  }

  /** The person chose to continue: use the link up and send the browser to Amazon with a fresh state. */
  async begin(
    linkId: string,
  ): Promise<{ credential: string; nonce: string; redirectUrl: string; maxAgeSeconds: number }> {
    const now = this.deps.clock.now()
    const open = await stored(this.deps.store.peekLink(linkId, now))
    if (!open) throw linkUnknown()
    const config = this.targetOf(open)
    const app = await readApp(this.deps.secrets, open.credential, config.appSecret)
    // Used up only once the redirect can be made: "try again later" must stay true.
    const link = await stored(this.deps.store.takeLink(linkId, now))
    if (!link) throw linkUnknown()
    const { state, nonce } = this.states.issue({
      credential: link.credential, expiresAtMs: now + this.settings.stateTtlSeconds * 1000, link: linkId,
      replace: link.replace, ...(link.create ? { create: link.create } : {}),
      ...(link.expectedAccount !== undefined ? { expectedAccount: link.expectedAccount } : {}),
    })
    const redirectUrl = consentUrl(this.settings, config.consent, config.region, app.clientId, state)
    return { credential: link.credential, nonce, redirectUrl, maxAgeSeconds: this.settings.stateTtlSeconds }
  }

  /** Amazon sent the browser back: check everything, exchange the code, store the refresh token with its account. */
  async complete(
    query: Record<string, string | undefined>,
    cookieNonce: string | undefined,
  ): Promise<{ credential: string; account: string | undefined }> {
    const payload = await this.consume(query.state ?? '', cookieNonce)
    try {
      return await this.connect(payload, query)
    } catch (err) {
      // Our side failed: the state and the link work again, so reloading or reopening may finish it.
      if (err instanceof OnboardingError && ourFailures.has(err.code)) {
        const { store, clock } = this.deps
        await Promise.all([store.forget('state', payload.nonce), payload.link && store.giveBackLink(payload.link,
          clock.now())]).catch(() => undefined)
      }
      throw err
    }
  }

  /**
   * The payload if the state is ours, unexpired, unused (on any replica) and back in the browser
   * that started the flow; used from then on. A state failing a check before that is not burnt,
   * so the rightful browser can still finish.
   */
  private async consume(state: string, cookieNonce: string | undefined): Promise<StatePayload> {
    const now = this.deps.clock.now()
    const payload = this.states.verify(state, now)
    if (typeof payload === 'string') throw stateFailure(payload)
    const { store } = this.deps
    // Before the cookie check: reloading the finished page (cookie cleared) says "already used".
    if (await stored(store.marked('state', payload.nonce, now))) throw stateFailure('reused')
    if (!cookieNonce || !safeEqual(cookieNonce, payload.nonce)) throw stateFailure('other_browser')
    if (!await stored(store.once('state', payload.nonce, payload.expiresAtMs, now))) throw stateFailure('reused')
    return payload
  }

  private async connect(
    payload: StatePayload,
    query: Record<string, string | undefined>,
  ): Promise<{ credential: string; account: string | undefined }> {
    const config = this.targetOf(payload)
    const code = codeOf(payload.credential, query)
    const app = await readApp(this.deps.secrets, payload.credential, config.appSecret)
    const granted = await exchangeCode(this.deps.lwa,
      { endpoints: this.deps.config.lwa.endpoints, redirectUri: callbackUrl(this.settings) },
      { credential: payload.credential, region: config.region, app }, code)
    const token = { accessToken: granted.accessToken, clientId: app.clientId }
    const { account, profiles } = await learnAccount(config, query, token,
      { ads: this.deps.config.ads, ...(this.deps.adsDispatcher ? { dispatcher: this.deps.adsDispatcher } : {}) },
      payload.credential)
    if (payload.expectedAccount !== undefined && account !== payload.expectedAccount) {
      throw new OnboardingError('account_mismatch', `You connected Amazon account ${account ?? '(unknown)'}, but this `
        + `link is for account ${payload.expectedAccount}. Nothing was stored.`, payload.credential, account)
    }
    const grant: Grant = { refreshToken: granted.refreshToken, account, nowMs: this.deps.clock.now() }
    const { credential, bound } = await this.bind(payload, config, grant)
    await this.deps.tokens.reconnected(credential)
    if (profiles) this.deps.profiles?.record(credential, profiles)
    this.deps.lifecycle?.emit({
      type: bound, credential, api: config.api, region: config.region, ...(account !== undefined ? { account } : {}),
    })
    return { credential, account }
  }

  private async bind(
    payload: StatePayload,
    config: RefreshTokenCredential,
    grant: Grant,
  ): Promise<{ credential: string; bound: Bound }> {
    const { secrets, catalogue, discovered } = this.deps
    if (payload.create) {
      const { secretNamePrefix = this.deps.config.catalogue?.namePrefix ?? 'lwa-broker/', kmsKeyId } =
        this.settings.newCredentials
      return connectNew({ catalogue, secrets, settings: { secretNamePrefix, kmsKeyId }, discovered }, payload.create,
        grant, payload.replace)
    }
    const bound = await rebindGrant(secrets, payload.credential, config, grant, { replace: payload.replace })
    return { credential: payload.credential, bound }
  }

  /** What a new link stands for; a name that is not a credential that can be onboarded is the admin's mistake. */
  private linkFor(target: LinkTarget, options: LinkOptions): Pick<Link, 'credential' | 'create' | 'expectedAccount'> {
    if ('create' in target) {
      if (!this.deps.discovered || !this.deps.secrets.create) {
        throw new BrokerError('invalid_request', 'this broker cannot create credentials: it needs a catalogue '
          + '(secrets.backend "aws")')
      }
      return { credential: target.create.name, create: target.create, expectedAccount: options.expectedAccount }
    }
    const config = this.onboardable(target.credential)
    if (!config) {
      throw new BrokerError('invalid_request', `credential ${target.credential} cannot be onboarded (it needs the `
        + 'refresh_token grant, and an applicationId for SP-API)')
    }
    // A credential declared for one seller (sellingPartnerId) can only be connected to that seller.
    return { credential: target.credential, expectedAccount: options.expectedAccount ?? config.sellingPartnerId }
  }

  /** A refresh-token credential with consent settings: one an account owner can connect. */
  private onboardable(name: string): Onboardable | undefined {
    const config = this.deps.catalogue.get(name)
    return config?.grant === 'refresh_token' && config.onboarding
      ? { ...config, consent: config.onboarding }
      : undefined
  }

  /**
   * The credential a link or state is for: one to create (planned), or one that could be onboarded when the link was
   * made and must still be one.
   */
  private targetOf(flow: Pick<Link, 'credential' | 'create'>): Onboardable {
    if (flow.create) return plannedConfig(flow.create, '')
    const config = this.onboardable(flow.credential)
    if (!config) throw linkUnknown()
    return config
  }
}
