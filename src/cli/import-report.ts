import type { InvalidEntry } from './import-entries.js'
import type { Action, Outcome } from './import-run.js'
import { printable, type Io } from './io.js'

type Counted = Action | 'invalid'

/** How each outcome is printed, done and planned (--dry-run); problems go to stderr. */
const verbs: Record<Counted, { done: string; planned: string; problem: boolean }> = {
  created: { done: 'created', planned: 'would create', problem: false },
  unchanged: { done: 'unchanged', planned: 'unchanged', problem: false },
  updated: { done: 'updated', planned: 'would update', problem: false },
  conflict: { done: 'conflict', planned: 'conflict', problem: true },
  invalid: { done: 'invalid', planned: 'invalid', problem: true },
  failed: { done: 'failed', planned: 'failed', problem: true },
}
const summaryOrder: readonly { counted: Counted; plural?: string }[] = [
  { counted: 'created' }, { counted: 'unchanged' }, { counted: 'updated' },
  { counted: 'conflict', plural: 'conflicts' }, { counted: 'invalid' }, { counted: 'failed' },
]
const verbWidth = 13

/**
 * One line per entry and a summary. Only what identifies an entry is printed (its line, name, the fields or
 * tags that differ, AWS error names), never a value: the secret value is not even in the Outcome.
 */
export class ImportReport {
  private readonly counts: Record<Counted, number> = {
    created: 0, unchanged: 0, updated: 0, conflict: 0, invalid: 0, failed: 0,
  }

  constructor(private readonly io: Io, private readonly dryRun: boolean) {}

  invalid(entry: InvalidEntry): void {
    const name = entry.name === undefined ? '' : ` (${entry.name})`
    this.line('invalid', `line ${entry.line}${name}: ${printable(entry.field)}: ${printable(entry.message)}`)
  }

  outcome({ action, entry, detail }: Outcome): void {
    this.line(action, `${printable(entry.secretName)}${detail === undefined ? '' : `: ${printable(detail)}`}`)
  }

  summary(): void {
    const parts = summaryOrder.map(({ counted, plural }) => `${plural ?? this.verb(counted)} ${this.counts[counted]}`)
    this.io.out(`${this.dryRun ? 'dry run, nothing written: ' : ''}${parts.join(', ')}`)
  }

  /** Nothing needs the operator's attention. */
  get clean(): boolean {
    return this.counts.conflict + this.counts.invalid + this.counts.failed === 0
  }

  private line(counted: Counted, text: string): void {
    this.counts[counted] += 1
    const line = `${this.verb(counted).padEnd(verbWidth)} ${text}`
    if (verbs[counted].problem) this.io.err(line)
    else this.io.out(line)
  }

  private verb(counted: Counted): string {
    return this.dryRun ? verbs[counted].planned : verbs[counted].done
  }
}
