import { parseArgs } from 'node:util'
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { systemClock } from '../clock.js'
import { isAcceptableUrl } from '../config/secure-url.js'
import { LwaClient, LwaError, type LwaClientAuth } from '../lwa/index.js'
import { createSecretsManagerClient, errorName } from '../secrets/aws-store.js'
import { parseSecretString } from '../secrets/secret-store.js'
import { requireAwsSetup } from './aws-setup.js'
import { CliFailure, exitCode, parseOrUsage, printable, UsageError, type Command, type Io } from './io.js'

const defaultLwaUrl = 'https://api.amazon.com/auth/o2/token'
/** Grantless and open to every SP-API app: a token for it proves the client secret and needs no seller. */
const defaultScope = 'sellingpartnerapi::notifications'
const lwaTimeoutMs = 10_000
/** Few attempts: an operator at a prompt is better served by an error now than by a long backoff. */
const sdkMaxAttempts = 3

interface Options {
  secretId: string
  versionStage: string | undefined
  versionId: string | undefined
  region: string | undefined
  endpoint: string | undefined
  lwaUrl: string
  scope: string
}

/** One version of an app secret; `label` names it for output and never holds a value. */
interface AppVersion extends LwaClientAuth {
  label: string
}

export const checkAppSecretCommand: Command = {
  name: 'check-app-secret',
  usage: `Usage: lwa-broker check-app-secret --secret-id ID [--version-stage STAGE | --version-id V]
                                   [--region R] [--endpoint URL] [--lwa-url URL] [--scope S]

Reads one version of an app secret ({client_id, client_secret}) with GetSecretValue and asks
LWA for a client_credentials token with it: a new client secret staged as AWSPENDING is
proven before it becomes AWSCURRENT. Prints "ok: ID VERSION_ID (STAGES) is accepted by LWA"
or LWA's error code; never the secret, never the token. Exit 0 when LWA issued a token, else 1.
Needs only secretsmanager:GetSecretValue on the secret (and kms:Decrypt if its key is yours).

  --secret-id ID     the app secret's name or ARN
  --version-stage S  the staging label to read, e.g. AWSPENDING (default AWSCURRENT)
  --version-id V     or one version by its id (describe-secret lists them)
  --region R         the AWS region (default: the SDK's, e.g. AWS_REGION)
  --endpoint URL     another Secrets Manager endpoint (LocalStack): https://, or http:// to loopback
  --lwa-url URL      the LWA token endpoint (default ${defaultLwaUrl})
  --scope S          the grantless scope asked for (default ${defaultScope});
                     appstore::apps:readwrite for a Developer Console app`,

  async run(args, io) {
    const options = parseOptions(args)
    const client = createSecretsManagerClient({
      region: options.region, endpoint: options.endpoint, maxAttempts: sdkMaxAttempts,
    })
    try {
      await requireAwsSetup(client)
      return await askLwa(await readVersion(client, options), options, io)
    } finally {
      client.destroy()
    }
  },
}

function parseOptions(args: string[]): Options {
  const { values } = parseOrUsage(() => parseArgs({
    args, strict: true, options: {
      'secret-id': { type: 'string' }, 'version-stage': { type: 'string' }, 'version-id': { type: 'string' },
      region: { type: 'string' }, endpoint: { type: 'string' },
      'lwa-url': { type: 'string', default: defaultLwaUrl }, scope: { type: 'string', default: defaultScope },
    },
  }))
  const secretId = values['secret-id']
  if (!secretId) throw new UsageError('--secret-id is required')
  if (values['version-stage'] !== undefined && values['version-id'] !== undefined) {
    throw new UsageError('give --version-stage or --version-id, not both')
  }
  // Both carry the client secret (Secrets Manager's answer, LWA's request): never in the clear off this host.
  for (const [flag, url] of [['--endpoint', values.endpoint], ['--lwa-url', values['lwa-url']]] as const) {
    if (url !== undefined && !isAcceptableUrl(url, false)) {
      throw new UsageError(`${flag} must be https://, or http:// to a loopback address`)
    }
  }
  return {
    secretId, versionStage: values['version-stage'], versionId: values['version-id'], region: values.region,
    endpoint: values.endpoint, lwaUrl: values['lwa-url'], scope: values.scope,
  }
}

async function readVersion(client: SecretsManagerClient, options: Options): Promise<AppVersion> {
  const { secretId, versionId } = options
  const versionStage = versionId === undefined ? options.versionStage ?? 'AWSCURRENT' : undefined
  const asked = printable(`${secretId} ${versionId === undefined ? versionStage : `version ${versionId}`}`)
  let out
  try {
    out = await client.send(new GetSecretValueCommand({
      SecretId: secretId, VersionStage: versionStage, VersionId: versionId,
    }))
  } catch (err) {
    // By the AWS error's name only: its message can carry ARNs of the caller's role.
    const name = errorName(err)
    if (name === 'ResourceNotFoundException') throw new CliFailure(`${asked}: no such secret or version (${name})`)
    throw new CliFailure(`cannot read ${asked}: ${name} (this check needs secretsmanager:GetSecretValue)`)
  }
  if (out.SecretString === undefined) throw new CliFailure(`${asked} has no SecretString`)
  let fields: Record<string, unknown>
  try {
    fields = parseSecretString(secretId, out.SecretString)
  } catch {
    throw new CliFailure(`${asked} is not a JSON object`)
  }
  const { client_id: clientId, client_secret: clientSecret } = fields
  for (const [name, value] of [['client_id', clientId], ['client_secret', clientSecret]] as const) {
    if (typeof value !== 'string' || value === '') throw new CliFailure(`${asked} lacks the field ${name}`)
  }
  const stages = (out.VersionStages ?? []).join(', ') || 'no staging label'
  const label = printable(`${secretId} ${out.VersionId ?? '(no version id)'} (${stages})`)
  return { label, clientId: clientId as string, clientSecret: clientSecret as string }
}

/**
 * What each kind of LWA failure says about the secret (the kinds are decided once, in src/lwa). Only
 * invalid_client refuses the secret; any other refusal leaves it unproven either way.
 */
const verdicts: Record<LwaError['kind'], { verdict: 'rejected' | 'not proven'; why: string }> = {
  client_rejected: { verdict: 'rejected', why: 'LWA refuses this client secret' },
  grant_rejected: { verdict: 'not proven', why: 'LWA refused the grant' },
  rejected: { verdict: 'not proven', why: 'refused for another reason than the secret (may this app use --scope?)' },
  request_bug: { verdict: 'not proven', why: 'LWA found the request malformed' },
  transient: { verdict: 'not proven', why: 'LWA did not answer; try again' },
}

async function askLwa(version: AppVersion, options: Options, io: Io): Promise<number> {
  const lwa = new LwaClient({ timeoutMs: lwaTimeoutMs, clock: systemClock })
  try {
    // The token is dropped at once: only whether LWA issued one matters.
    await lwa.requestToken(options.lwaUrl, version, { grantType: 'client_credentials', scope: options.scope })
  } catch (err) {
    if (!(err instanceof LwaError)) throw err
    const { verdict, why } = verdicts[err.kind]
    const status = err.status === undefined ? '' : ` (HTTP ${err.status})`
    io.err(`${verdict}: ${version.label}: ${err.code}${status}: ${why}`)
    return exitCode.failed
  }
  io.out(`ok: ${version.label} is accepted by LWA`)
  return exitCode.ok
}
