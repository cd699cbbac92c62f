/**
 * A string as the text between its quotes in JSON: the string itself when it needs no escaping
 * (LWA tokens, credential names, ISO times never do), so text kept per token holds no copy of it.
 */
export function jsonText(value: string): string {
  const escaped = JSON.stringify(value).slice(1, -1)
  return escaped === value ? value : escaped
}

/**
 * One flat string from pieces, for text kept per caller or per token. `a + b` is a tree of
 * concatenated pieces (an object each) and `slice` keeps its whole parent alive; 10,000 callers
 * held ~6 MB of such trees. Of two or more pieces, `join` makes a new sequential string.
 */
export const flat = (pieces: string[]): string => pieces.join('')

/** A flat copy of one string (a parser's rope or slice), for text kept as long as the config. */
export const flatCopy = (value: string): string => JSON.parse(JSON.stringify(value)) as string
