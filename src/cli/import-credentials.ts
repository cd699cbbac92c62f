import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { parseEntries, type ImportEntry, type ParsedEntry } from './import-entries.js'
import { appSecretProblem, importEntry, type ImportOptions } from './import-run.js'
import { isAcceptableUrl } from '../config/secure-url.js'
import { createSecretsManagerClient } from '../secrets/aws-store.js'
import { requireAwsSetup } from './aws-setup.js'
import { ImportReport } from './import-report.js'
import { CliFailure, exitCode, parseOrUsage, printable, UsageError, type Command, type Io } from './io.js'

const defaultNamePrefix = 'lwa-broker/'
/** Characters Secrets Manager allows in a secret name; 384 leaves room for a 128-character credential name in 512. */
const namePrefixPattern = /^[A-Za-z0-9/_+=.@-]{0,384}$/
/** Secrets in flight at once: enough to keep the run short, few enough that throttling stays the exception. */
const importConcurrency = 8
/**
 * SDK attempts per call. The adaptive retry mode backs off exponentially with jitter on throttling and also slows
 * the client's own sending rate, so a 1,000-secret import settles at what the account's quota allows.
 */
const sdkMaxAttempts = 8

export const importCredentialsCommand: Command = {
  name: 'import-credentials',
  usage: `Usage: lwa-broker import-credentials FILE|- [--name-prefix PREFIX] [--region REGION] [--endpoint URL]
                                     [--kms-key-id KEY] [--dry-run] [--update] [--strict]

Creates one tagged Secrets Manager secret per credential in FILE (JSON Lines: one JSON object
per line; - reads stdin), named PREFIX + the credential's name. Its tags declare the credential
(see README "Bulk import"); its value is {refresh_token}, or {client_id, client_secret,
refresh_token} without "app"; for client_credentials {client_id, client_secret}, or {} with "app".
Each line: name, api, region, and as the credential needs: grant, scope, app, profileId,
sellingPartnerId, onboarding {applicationId, draft}, labels {…}, refresh_token, client_id,
client_secret. Re-running is safe: a secret with the same value and tags is unchanged; one
with another value or other lwa-broker tags is a conflict and is left alone.

  --name-prefix P  default ${defaultNamePrefix}
  --region R       the AWS region (default: the SDK's, e.g. AWS_REGION)
  --endpoint URL   another Secrets Manager endpoint (LocalStack): https://, or http:// to loopback
  --kms-key-id K   the KMS key of the secrets it creates (default: aws/secretsmanager)
  --dry-run        check every entry and say what would happen; reads, writes nothing
  --update         overwrite conflicting secrets (PutSecretValue, TagResource, UntagResource)
  --strict         write nothing if any entry is invalid
Prints names and actions, never a value; exit 1 when any entry was invalid, conflicting or failed.`,

  async run(args, io) {
    const { values, positionals } = parseOrUsage(() => parseArgs({
      args, allowPositionals: true, strict: true, options: {
        'name-prefix': { type: 'string', default: defaultNamePrefix }, region: { type: 'string' },
        endpoint: { type: 'string' }, 'kms-key-id': { type: 'string' }, 'dry-run': { type: 'boolean', default: false },
        update: { type: 'boolean', default: false }, strict: { type: 'boolean', default: false },
      },
    }))
    const [path, ...extra] = positionals
    if (path === undefined || extra.length > 0) throw new UsageError('expects one FILE (or - for stdin)')
    const prefix = values['name-prefix']
    if (!namePrefixPattern.test(prefix)) {
      throw new UsageError('--name-prefix may use letters, digits and /_+=.@- (up to 384 characters)')
    }
    if (values.endpoint !== undefined && !isAcceptableUrl(values.endpoint, false)) {
      throw new UsageError('--endpoint must be https://, or http:// to a loopback address')
    }
    const parsed = parseEntries(await readInput(path, io), prefix)
    const options = { dryRun: values['dry-run'], update: values.update, kmsKeyId: values['kms-key-id'] }
    const client = createSecretsManagerClient({
      region: values.region, endpoint: values.endpoint, maxAttempts: sdkMaxAttempts, retryMode: 'adaptive',
    })
    try {
      await requireAwsSetup(client)
      return await runImport(client, parsed, { ...options, strict: values.strict }, io)
    } finally {
      client.destroy()
    }
  },
}

async function runImport(
  client: SecretsManagerClient,
  parsed: ParsedEntry[],
  options: ImportOptions & { strict: boolean },
  io: Io,
): Promise<number> {
  const report = new ImportReport(io, options.dryRun)
  const checked = await withAppsChecked(client, parsed)
  const entries: ImportEntry[] = []
  for (const result of checked) {
    if (result.ok) entries.push(result.entry)
    else report.invalid(result.invalid)
  }
  if (options.strict && entries.length < checked.length) {
    io.err('--strict: an entry is invalid, so nothing was written')
  } else {
    await eachConcurrently(entries, async (entry) => report.outcome(await importEntry(client, entry, options)))
  }
  report.summary()
  return report.clean ? exitCode.ok : exitCode.failed
}

/** A shared app secret that is not there would leave every credential naming it broken: checked once per app. */
async function withAppsChecked(client: SecretsManagerClient, parsed: ParsedEntry[]): Promise<ParsedEntry[]> {
  const apps = [...new Set(parsed.flatMap((result) => (result.ok && result.entry.app ? [result.entry.app] : [])))]
  const problems = new Map<string, string>()
  await eachConcurrently(apps, async (app) => {
    const problem = await appSecretProblem(client, app)
    if (problem) problems.set(app, problem)
  })
  return parsed.map((result) => {
    const problem = result.ok && result.entry.app ? problems.get(result.entry.app) : undefined
    if (!result.ok || problem === undefined) return result
    const { line, name } = result.entry
    return { ok: false, invalid: { line, name, field: 'app', message: problem } }
  })
}

async function readInput(path: string, io: Io): Promise<string> {
  if (path === '-') return io.readStdin()
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new CliFailure(`cannot read ${printable(path)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

async function eachConcurrently<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(importConcurrency, items.length) }, worker))
}
