import { Type } from 'typebox'
import { apis, closed, grants, NonEmpty, Region } from './common.js'

/** Label keys and values fit in a Secrets Manager tag (src/catalogue/tags.ts), so a label means the same in both. */
export const labelKeyPattern = '^[a-z0-9][a-z0-9._-]{0,62}$'
export const labelValuePattern = '^[A-Za-z0-9 _.:/=+@-]{0,200}$'
export const Labels = Type.Record(
  Type.String({ pattern: labelKeyPattern }), Type.String({ pattern: labelValuePattern }),
  { ...closed, default: {} })

const CredentialOnboarding = Type.Object({
  /** SP-API: the application id (amzn1.sp.solution…) the seller authorises. */
  applicationId: Type.Optional(NonEmpty),
  /** SP-API: the app is a draft, so the consent URL carries version=beta. */
  draft: Type.Boolean({ default: false }),
  /** SP-API: a vendor app, authorized on Vendor Central (its consent page) instead of Seller Central. */
  vendor: Type.Optional(Type.Boolean()),
}, closed)

export const Credential = Type.Object({
  api: Type.Enum(apis),
  region: Region,
  grant: Type.Enum(grants, { default: 'refresh_token' }),
  /** Secret holding refresh_token (and client_id/client_secret unless `app` is set). */
  secret: Type.Optional(NonEmpty),
  /** Secret holding client_id and client_secret, shared by many grant secrets. */
  app: Type.Optional(NonEmpty),
  scope: Type.Optional(NonEmpty),
  profileId: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$' })),
  /** SP-API: the seller the grant belongs to; an onboarding link for it connects only this seller. */
  sellingPartnerId: Type.Optional(Type.String({ pattern: '^[A-Z0-9]{1,32}$' })),
  onboarding: Type.Optional(CredentialOnboarding),
  /** Free-form metadata policy rules select on (team, tenant, environment). */
  labels: Labels,
}, closed)
