import { Type } from 'typebox'
import { closed, NonEmpty, Url } from './common.js'
import { Labels } from './credentials.js'

/** Where the consent pages live, per API and region; defaults are LWA.md's. */
const ConsentUrls = Type.Object({
  na: Type.Optional(Url),
  eu: Type.Optional(Url),
  fe: Type.Optional(Url),
}, closed)

/** A credential name, or a template filled in once the account is known: `sp-{account}-{region}`. */
export const nameTemplatePattern = '^([A-Za-z0-9._-]|\\{(account|region|api)\\}){1,128}$'

/** Where a consent that creates its credential puts the new secret (a `create` link, self-service). */
const NewCredentials = Type.Object({
  /**
   * The secret is named this plus the credential name; inside `catalogue.namePrefix`, so discovery lists it.
   * Unset: `catalogue.namePrefix`, or `lwa-broker/` without one.
   */
  secretNamePrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9/_+=.@-]+$' })),
  /** Unset: the account's `aws/secretsmanager` key. */
  kmsKeyId: Type.Optional(NonEmpty),
}, { ...closed, default: {} })

/** A seller arriving from the Appstore or Seller Central with no credential yet gets one like this (the Login URI). */
const SelfService = Type.Object({
  name: Type.String({ pattern: nameTemplatePattern, default: 'sp-{account}-{region}' }),
  /** The secret holding the app's client_id and client_secret. */
  app: NonEmpty,
  /** The SP-API application the seller authorises; draft: the flows carry version=beta. */
  applicationId: NonEmpty,
  draft: Type.Boolean({ default: false }),
  labels: Labels,
}, closed)

/** Hosts `amazon_callback_uri` may point at, per region (https origins); defaults: Seller and Vendor Central. */
const AmazonOrigins = Type.Object({
  na: Type.Optional(Type.Array(Url, { minItems: 1 })),
  eu: Type.Optional(Type.Array(Url, { minItems: 1 })),
  fe: Type.Optional(Type.Array(Url, { minItems: 1 })),
}, { ...closed, default: {} })

export const Onboarding = Type.Object({
  /** The broker's URL as a browser reaches it: the consent redirect comes back to `{publicUrl}/oauth/callback`. */
  publicUrl: Url,
  /** How long an onboarding link from POST /admin/onboarding stays usable (one use). */
  linkTtlSeconds: Type.Integer({ minimum: 60, maximum: 3600, default: 600 }),
  /** How long the person has on Amazon's consent page before `state` expires. */
  stateTtlSeconds: Type.Integer({ minimum: 60, maximum: 3600, default: 600 }),
  consentUrls: Type.Object({
    ads: Type.Optional(ConsentUrls),
    'sp-api': Type.Optional(ConsentUrls),
    'sp-api-vendor': Type.Optional(ConsentUrls),
  }, { ...closed, default: {} }),
  newCredentials: NewCredentials,
  selfService: Type.Optional(SelfService),
  amazonOrigins: AmazonOrigins,
}, closed)
