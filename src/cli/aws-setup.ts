import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { errorName } from '../secrets/aws-store.js'
import { CliFailure } from './io.js'

/** Fails once, clearly, before the first call: the SDK resolves region and credentials lazily. */
export async function requireAwsSetup(client: SecretsManagerClient): Promise<void> {
  try {
    await client.config.region()
  } catch {
    throw new CliFailure('no AWS region: give --region or set AWS_REGION')
  }
  try {
    await client.config.credentials()
  } catch (err) {
    throw new CliFailure(`no AWS credentials: the SDK's default chain found none (${errorName(err)})`)
  }
}
