/**
 * What other modules derive from an object once and keep with it, each under a symbol of its
 * own (a token's answer JSON, its audit text, its counter): a field of the object a request
 * already holds, not one more map of every token to look it up in, which at 10,000
 * credentials is a cache miss per request.
 */
export type Memo = Record<symbol, unknown>

/**
 * `value` with an empty memo, not enumerable: a copy or a JSON text of it never carries the memo.
 * `value` names `memo: undefined` among its fields so the memo is one of the object's own slots:
 * added afterwards it went to a separate property array (≈40 bytes per token and per caller).
 */
export function withMemo<T extends { memo: undefined }>(value: T): Omit<T, 'memo'> & { readonly memo: Memo } {
  // Every attribute named: redefining a field keeps those left out (it would stay enumerable).
  const memo = { value: {}, enumerable: false, writable: false, configurable: false }
  return Object.defineProperty(value, 'memo', memo) as unknown as Omit<T, 'memo'> & { readonly memo: Memo }
}
