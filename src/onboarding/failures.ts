/** Why an onboarding attempt ended without storing anything; each has its own page. */
export type OnboardingFailure =
  | 'link_invalid' | 'state_invalid' | 'state_expired' | 'state_reused' | 'other_browser'
  | 'declined' | 'code_missing' | 'code_rejected' | 'lwa_unavailable' | 'secret_unavailable' | 'secret_missing'
  | 'account_unknown' | 'account_unavailable' | 'account_mismatch' | 'already_connected' | 'too_many_requests'
  | 'store_unavailable' | 'name_unusable' | 'callback_forbidden' | 'region_mismatch' | 'seller_unknown'

/** Failures on the broker's side or upstream: the person did nothing wrong, so the link works again. */
export const ourFailures: ReadonlySet<OnboardingFailure> = new Set([
  'lwa_unavailable', 'secret_unavailable', 'account_unavailable', 'store_unavailable',
])

/** The message is for the person in the browser: plain words, never a token or a secret id. */
export class OnboardingError extends Error {
  constructor(
    readonly code: OnboardingFailure,
    message: string,
    readonly credential?: string,
    readonly account?: string,
  ) {
    super(message)
    this.name = 'OnboardingError'
  }
}

export const linkUnknown = (): OnboardingError => new OnboardingError('link_invalid',
  'This link is not valid here: it has expired, was already used, or was issued by another broker replica '
  + '(without a shared Redis, onboarding needs a single replica or sticky sessions). Ask for a new one.')

export function stateFailure(problem: 'invalid' | 'expired' | 'other_browser' | 'reused'): OnboardingError {
  switch (problem) {
    case 'expired':
      return new OnboardingError('state_expired',
        'This authorization took too long and has expired. Nothing was stored; ask for a new link.')
    case 'reused':
      return new OnboardingError('state_reused',
        'This authorization was already completed or used. Nothing more was stored.')
    case 'other_browser':
      return new OnboardingError('other_browser',
        'This authorization must be finished in the browser that started it. Nothing was stored.')
    case 'invalid':
      return new OnboardingError('state_invalid', 'This authorization response is not valid. Nothing was stored.')
  }
}

export const nameUnusable = (name: string): OnboardingError => new OnboardingError('name_unusable',
  `The new credential's name ${name} is taken by a secret or credential that is not this account's, or is not a `
  + 'valid name. Nothing was stored; ask an admin for a link with another name.', name)

/** The store (Redis) failing is ours too: nothing was stored, and the same step works again later. */
export async function stored<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation
  } catch {
    throw new OnboardingError('store_unavailable',
      'Onboarding is unavailable right now (its shared store cannot be reached). Nothing was stored; try again later.')
  }
}
