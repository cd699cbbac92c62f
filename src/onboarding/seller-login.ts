import type { Catalogue } from '../catalogue/catalogue.js'
import type { Clock } from '../clock.js'
import type { BrokerConfig, CredentialConfig, Region, RefreshTokenCredential } from '../config/index.js'
import { accountOf } from '../secrets/grant-account.js'
import type { SecretStore } from '../secrets/index.js'
import { regionOfAmazonUrl } from './amazon-origins.js'
import { callbackUrl } from './consent-url.js'
import { linkUnknown, OnboardingError, stored } from './failures.js'
import type { StatePayload, StateSigner } from './signed-state.js'
import type { NewCredential, OnboardingStore } from './store.js'

/** What Seller or Vendor Central sends to the app's Login URI (SPAPI.md, seller-initiated authorization). */
export interface AmazonLogin {
  amazon_callback_uri?: string | undefined
  amazon_state?: string | undefined
  selling_partner_id?: string | undefined
  version?: string | undefined
}

export interface SellerLoginDeps {
  catalogue: Catalogue
  secrets: SecretStore
  store: OnboardingStore
  clock: Clock
  states: StateSigner
}

/** How the seller continues: re-authorizing their credential, self-service, or an admin's link. */
export type LoginFlow = 'reauthorize' | 'self_service' | 'link'

export interface LoginStarted {
  credential: string
  account: string
  flow: LoginFlow
  nonce: string
  redirectUrl: string
  maxAgeSeconds: number
}

type Settings = NonNullable<BrokerConfig['onboarding']>

/**
 * The app's OAuth Login URI: the Appstore's "Authorize now" and the yearly "Re-authorize" land
 * here. A seller who has a credential goes straight back to Amazon to re-authorize it (no admin:
 * a missed yearly re-authorization silently kills a seller); a new seller only with self-service
 * configured or an admin's link. The browser is only ever sent to an allow-listed Amazon host.
 */
export class SellerLogin {
  constructor(private readonly deps: SellerLoginDeps, private readonly settings: Settings) {}

  /** GET: Amazon sent the seller. */
  async start(login: AmazonLogin): Promise<LoginStarted> {
    const { region, account } = this.checked(login)
    const existing = await this.credentialOf(account, region)
    if (existing) {
      return this.redirect(login, { credential: existing, expectedAccount: account, replace: false }, 'reauthorize')
    }
    const self = this.settings.selfService
    if (!self) {
      throw new OnboardingError('seller_unknown', `Selling account ${account} is not connected to this app yet. `
        + 'Enter the onboarding link an administrator gave you to continue.', undefined, account)
    }
    // A vendor signs in on Vendor Central: their credential is a vendor app's.
    const vendor = new URL(login.amazon_callback_uri as string).hostname.startsWith('vendorcentral.')
    const create: NewCredential = {
      name: self.name, api: 'sp-api', region, app: self.app, applicationId: self.applicationId, draft: self.draft,
      vendor, labels: self.labels,
    }
    const fields = { credential: self.name, create, expectedAccount: account, replace: false }
    return this.redirect(login, fields, 'self_service')
  }

  /** POST: a new seller presents an admin's one-time link (its URL or id); it is used up here. */
  async withLink(login: AmazonLogin, presented: string): Promise<LoginStarted> {
    const { region, account } = this.checked(login)
    const id = presented.trim().split(/[/?#]/).filter(Boolean).at(-1) ?? ''
    const now = this.deps.clock.now()
    const link = await stored(this.deps.store.peekLink(id, now))
    if (!link) throw linkUnknown()
    const linkRegion = link.create?.region ?? this.deps.catalogue.get(link.credential)?.region
    const api = link.create?.api ?? this.deps.catalogue.get(link.credential)?.api
    if (api !== 'sp-api' || linkRegion !== region) {
      const linkFor = api === 'sp-api' ? `the ${linkRegion} region` : 'an advertising account'
      throw new OnboardingError('region_mismatch', `This link is for ${linkFor}, but this authorization came from the `
        + `${region} region's Seller Central. Nothing was stored; ask for a link for this region.`, link.credential,
      account)
    }
    if (link.expectedAccount !== undefined && link.expectedAccount !== account) {
      throw new OnboardingError('account_mismatch', `You are signed in to Amazon account ${account}, but this link is `
        + `for account ${link.expectedAccount}. Nothing was stored.`, link.credential, account)
    }
    if (!await stored(this.deps.store.takeLink(id, now))) throw linkUnknown()
    return this.redirect(login, {
      credential: link.credential, expectedAccount: account, replace: link.replace, link: id,
      ...(link.create ? { create: link.create } : {}),
    }, 'link')
  }

  /** The callback is Amazon's (an allow-listed host gives the region) and names the seller. */
  private checked(login: AmazonLogin): { region: Region; account: string } {
    const region = regionOfAmazonUrl(login.amazon_callback_uri, this.settings.amazonOrigins)
    if (!region) {
      throw new OnboardingError('callback_forbidden', 'This sign-in did not come from Amazon Seller Central or Vendor '
        + 'Central, so it is not continued. Start again from Amazon.')
    }
    if (!login.amazon_state || !login.selling_partner_id) {
      throw new OnboardingError('account_unknown', 'Amazon did not say which selling account is signing in. Start '
        + 'again from Amazon.')
    }
    return { region, account: login.selling_partner_id }
  }

  /**
   * The SP-API credential in this region declared for this seller, or connected to it (the account stored beside its
   * refresh token: from the cache, read once where it is not cached yet).
   */
  private async credentialOf(account: string, region: Region): Promise<string | undefined> {
    const { catalogue, secrets } = this.deps
    for (const name of catalogue.names()) {
      const config = catalogue.get(name)
      if (!isSeller(config) || config.region !== region || config.onboarding === undefined) continue
      const connected = config.sellingPartnerId ?? accountOf((secrets.peek?.(config.grantSecret)
        ?? await secrets.get(config.grantSecret).catch(() => undefined))?.fields)
      if (connected === account) return name
    }
    return undefined
  }

  private redirect(
    login: AmazonLogin,
    fields: Omit<StatePayload, 'nonce' | 'expiresAtMs'>,
    flow: LoginFlow,
  ): LoginStarted {
    const { state, nonce } = this.deps.states.issue({
      ...fields, expiresAtMs: this.deps.clock.now() + this.settings.stateTtlSeconds * 1000,
    })
    const url = new URL(login.amazon_callback_uri as string)
    url.searchParams.set('redirect_uri', callbackUrl(this.settings))
    url.searchParams.set('amazon_state', login.amazon_state as string)
    url.searchParams.set('state', state)
    if (login.version === 'beta') url.searchParams.set('version', 'beta')
    return {
      credential: fields.credential, account: fields.expectedAccount as string, flow, nonce,
      redirectUrl: url.toString(), maxAgeSeconds: this.settings.stateTtlSeconds,
    }
  }
}

const isSeller = (config: CredentialConfig | undefined): config is CredentialConfig & RefreshTokenCredential =>
  config?.grant === 'refresh_token' && config.api === 'sp-api'
