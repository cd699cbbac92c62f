import { mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { pino, type DestinationStream } from 'pino'
import type { BrokerConfig } from '../config/index.js'

export type LogSettings = BrokerConfig['logs']

/** A buffered destination writes once this much is pending, without waiting for its timer. */
const bufferBytes = 4096

/** What a log line is written to; `flush` resolves once every line written so far is out. */
export interface LogSink extends DestinationStream {
  flush?(): Promise<void>
}

type Destination = ReturnType<typeof pino.destination>

/**
 * The process's log destinations, one writer per target (`stdout`, `stderr` or a file path,
 * appended), so the operational log and the audit log that share stdout never interleave
 * within a line. Buffered writers are flushed on a timer and by `flush` (shutdown).
 */
export class LogOutputs {
  private readonly writers = new Map<string, { destination: Destination; dirty: boolean }>()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly settings: LogSettings) {}

  sink(target: string): LogSink {
    const writer = this.writerOf(target)
    if (this.settings.mode === 'buffered') {
      this.timer ??= setInterval(() => this.flushDirty(), this.settings.flushMs).unref()
    }
    return {
      write(line: string) {
        writer.dirty = true
        return writer.destination.write(line)
      },
      flush: () => this.flush(),
    }
  }

  /**
   * Writes every pending line and resolves once all are out, a write already in progress
   * included, in the order they were logged (SIGTERM, close). A synchronous flush could not
   * wait for that write: it would put the lines after it first, and exit could lose it.
   */
  async flush(): Promise<void> {
    await Promise.all([...this.writers.values()].map(({ destination }) => new Promise<void>((resolve) => {
      // A destination whose reader went away has nothing left to write.
      unlessGone(() => destination.flush(() => resolve()), resolve)
    })))
  }

  private flushDirty(): void {
    for (const writer of this.writers.values()) {
      if (!writer.dirty) continue
      writer.dirty = false
      unlessGone(() => writer.destination.flush())
    }
  }

  private writerOf(target: string): { destination: Destination; dirty: boolean } {
    let writer = this.writers.get(target)
    if (!writer) {
      const sync = this.settings.mode === 'sync'
      writer = {
        destination: pino.destination({ dest: descriptorOf(target), sync, minLength: sync ? 0 : bufferBytes }),
        dirty: false,
      }
      this.writers.set(target, writer)
    }
    return writer
  }
}

/**
 * A file is opened here, synchronously, so a flush at shutdown never finds it still opening
 * (and a path that cannot be written to fails start-up rather than the first line).
 */
function descriptorOf(target: string): number {
  if (target === 'stdout') return 1
  if (target === 'stderr') return 2
  mkdirSync(dirname(target), { recursive: true })
  return openSync(target, 'a')
}

/** A destination whose reader went away (EPIPE) is destroyed: logging must not take the broker down with it. */
function unlessGone(flush: () => void, gone: () => void = () => {}): void {
  try {
    flush()
  } catch (err) {
    if ((err as Error).message !== 'SonicBoom destroyed') throw err
    gone()
  }
}
