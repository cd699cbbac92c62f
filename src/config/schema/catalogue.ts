import { Type } from 'typebox'
import { closed, NonEmpty } from './common.js'
import { labelKeyPattern, labelValuePattern } from './credentials.js'

/** Discovery of credentials from tagged secrets (src/catalogue): present turns it on. */
export const CatalogueSettings = Type.Object({
  /** Only secrets whose name starts with this (ListSecrets' `name` filter), e.g. `lwa-broker/sellers/`. */
  namePrefix: Type.Optional(NonEmpty),
  /** Only credentials whose labels have these values, e.g. `environment: production`. */
  labels: Type.Record(Type.String({ pattern: labelKeyPattern }), Type.String({ pattern: labelValuePattern }),
    { ...closed, default: {} }),
  /** A listing every this many seconds (jittered), so a new secret is servable within one interval. */
  intervalSeconds: Type.Integer({ minimum: 5, maximum: 86400, default: 60 }),
  /** Each interval is up to this fraction shorter, at random: replicas do not list in step. */
  jitterRatio: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1 }),
}, closed)
