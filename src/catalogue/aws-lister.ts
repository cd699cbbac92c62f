import {
  ListSecretsCommand, type Filter, type SecretsManagerClient, type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager'
import { noEvents, type BrokerEvents } from '../observability/events.js'
import { createSecretsManagerClient } from '../secrets/aws-store.js'
import type { ListedSecret } from './tags.js'

/** One page of a listing of the secrets that may be credentials. */
export interface SecretPage {
  secrets: ListedSecret[]
  nextToken: string | undefined
}

export interface SecretLister {
  /** `ThrottledError` when the service asks us to slow down; anything else is a failed listing. */
  page(filters: readonly ListFilter[], nextToken: string | undefined): Promise<SecretPage>
  close(): void
}

export interface ListFilter {
  key: 'tag-key' | 'tag-value' | 'name'
  values: string[]
}

export class ThrottledError extends Error {
  constructor() {
    super('Secrets Manager throttled ListSecrets')
    this.name = 'ThrottledError'
  }
}

/** The service's largest page: fewest calls per listing. */
const pageSize = 100
const requestTimeoutMs = 10_000

/**
 * ListSecrets through the v3 SDK, one attempt per call: the discovery loop retries with its
 * own backoff, so every call (retries included) is counted and a throttled service is given
 * room rather than the SDK's quick retries. Tags come with the listing: discovery reads no
 * secret value.
 */
export class AwsSecretLister implements SecretLister {
  private readonly client: SecretsManagerClient

  constructor(
    /** Unset credentials: the SDK's default chain (IRSA, Pod Identity, instance roles). */
    options: { region?: string; endpoint?: string; credentials?: SecretsManagerClientConfig['credentials'] },
    private readonly events: BrokerEvents = noEvents,
  ) {
    this.client = createSecretsManagerClient({ ...options, maxAttempts: 1 }, requestTimeoutMs)
  }

  async page(filters: readonly ListFilter[], nextToken: string | undefined): Promise<SecretPage> {
    const Filters: Filter[] = filters.map((f) => ({ Key: f.key, Values: f.values }))
    try {
      const out = await this.client.send(new ListSecretsCommand({
        Filters, MaxResults: pageSize, ...(nextToken ? { NextToken: nextToken } : {}),
      }))
      this.events.secretsCall('ListSecrets', 'ok')
      const secrets = (out.SecretList ?? []).flatMap((s) => (s.ARN && s.Name
        ? [{ arn: s.ARN, name: s.Name, tags: tagMap(s.Tags) }]
        : []))
      return { secrets, nextToken: out.NextToken }
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error'
      this.events.secretsCall('ListSecrets', name)
      if (name === 'ThrottlingException' || name === 'TooManyRequestsException') throw new ThrottledError()
      throw err
    }
  }

  close(): void {
    this.client.destroy()
  }
}

const tagMap = (tags: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
