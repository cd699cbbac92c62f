/**
 * What the broker refused, with its stable `code` (branch on it, never on `message`). `status`
 * 0: the broker could not be reached. The message is the broker's own, which never holds a
 * token; this client adds none.
 */
export class BrokerClientError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly requestId?: string,
    /** The broker's `Retry-After`, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
    this.name = 'BrokerClientError'
  }
}

/** Worth asking again: the broker is busy or something behind it is (503), or it asked the caller to slow down. */
export const retryable = (status: number): boolean => status === 0 || status === 429 || status === 503
