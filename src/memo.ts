/**
 * What other modules derive from an object once and keep with it, each under a symbol of its
 * own (a token's answer JSON, its audit text, its counter): a field of the object a request
 * already holds, not one more map of every token to look it up in, which at 10,000
 * credentials is a cache miss per request.
 */
export type Memo = Record<symbol, unknown>

/** `value` with an empty memo, not enumerable: a copy or a JSON text of it never carries the memo. */
export function withMemo<T extends object>(value: T): T & { readonly memo: Memo } {
  return Object.defineProperty(value, 'memo', { value: {} }) as T & { readonly memo: Memo }
}
