import type { DestinationStream } from 'pino'

/** Token and JWT shapes that must never appear in a log line, whoever wrote it. */
const leakPatterns: Array<[string, RegExp]> = [
  ['LWA access token', /Atza\||Atc\|/],
  ['LWA refresh token', /Atzr\|/],
  ['JWT', /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}/],
]

/** A pino destination that keeps every line, so tests can read and scan what was logged. */
export class LogCapture implements DestinationStream {
  readonly lines: string[] = []
  /** Extra literal values (client secrets) that must not appear either. */
  readonly secrets = new Set<string>()

  write(line: string): void {
    this.lines.push(line)
  }

  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  }

  find(predicate: (record: Record<string, unknown>) => boolean): Array<Record<string, unknown>> {
    return this.records().filter(predicate)
  }

  /** What leaked, by kind only: the report must not repeat the secret. */
  leaks(): string[] {
    const found = new Set<string>()
    for (const line of this.lines) {
      for (const [kind, pattern] of leakPatterns) if (pattern.test(line)) found.add(kind)
      for (const secret of this.secrets) if (line.includes(secret)) found.add('configured secret value')
    }
    return [...found]
  }
}
