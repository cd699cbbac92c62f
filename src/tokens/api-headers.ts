import type { CredentialConfig } from '../config/index.js'

/**
 * Exactly the headers the target API wants with the token (LWA.md, "Using the token").
 * Callers copy them onto their request and need to know nothing else.
 */
export function apiHeaders(
  credential: CredentialConfig,
  accessToken: string,
  clientId: string,
): Record<string, string> {
  switch (credential.api) {
    case 'ads':
      return {
        Authorization: `Bearer ${accessToken}`,
        'Amazon-Advertising-API-ClientId': clientId,
        ...(credential.profileId ? { 'Amazon-Advertising-API-Scope': credential.profileId } : {}),
      }
    case 'sp-api':
      return { 'x-amz-access-token': accessToken }
    case 'appstore':
      return { Authorization: `Bearer ${accessToken}` }
  }
}
