/**
 * Compiles a glob to an anchored RegExp: `*` is any run of characters (including none),
 * `?` is exactly one, everything else is literal. No character classes and no escapes:
 * subjects and credential names never need them, and less syntax is less to get wrong.
 */
export function compileGlob(glob: string): RegExp {
  const body = [...glob]
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('')
  return new RegExp(`^${body}$`, 's')
}

export type GlobMatcher = (value: string) => boolean

export function globMatcher(globs: readonly string[]): GlobMatcher {
  const patterns = globs.map(compileGlob)
  return (value) => patterns.some((p) => p.test(value))
}
