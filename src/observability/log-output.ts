import { mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { pino, type DestinationStream } from 'pino'
import type { BrokerConfig } from '../config/index.js'

export type LogSettings = BrokerConfig['logs']

/** A buffered writer writes once this much is pending, without waiting for its timer. */
const bufferBytes = 32 * 1024

/** What a log line is written to; `flush` resolves once every line written so far is out. */
export interface LogSink extends DestinationStream {
  flush?(): Promise<void>
}

type Destination = ReturnType<typeof pino.destination>

/**
 * One target's writer. Buffered lines wait in `lines`, joined into one write when enough are
 * pending or the timer fires: sonic-boom's own buffering measures its whole pending text on
 * every line (Buffer.byteLength), which cost the hot path ≈3 µs per line (the hot-path profile),
 * so it is handed whole chunks and writes each at once.
 */
interface Writer {
  destination: Destination
  lines: string[]
  chars: number
}

/**
 * The process's log destinations, one writer per target (`stdout`, `stderr` or a file path,
 * appended), so the operational log and the audit log that share stdout never interleave
 * within a line. Buffered writers are written out on a timer, by `flush` (shutdown) and
 * synchronously at any exit of the process.
 */
export class LogOutputs {
  private readonly writers = new Map<string, Writer>()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly settings: LogSettings) {}

  sink(target: string): LogSink {
    const writer = this.writerOf(target)
    const flush = (): Promise<void> => this.flush()
    if (this.settings.mode === 'sync') return { write: (line: string) => writer.destination.write(line), flush }
    if (!this.timer) {
      this.timer = setInterval(() => this.writeOutAll(), this.settings.flushMs).unref()
      flushedAtExit.add(this)
    }
    return {
      write(line: string) {
        writer.lines.push(line)
        writer.chars += line.length
        if (writer.chars >= bufferBytes) writeOut(writer)
        return true
      },
      flush,
    }
  }

  /**
   * Writes every pending line and resolves once all are out, a write already in progress
   * included, in the order they were logged (SIGTERM, close). A synchronous flush could not
   * wait for that write: it would put the lines after it first, and exit could lose it.
   */
  async flush(): Promise<void> {
    this.writeOutAll()
    await Promise.all([...this.writers.values()].map(({ destination }) => new Promise<void>((resolve) => {
      // A destination whose reader went away has nothing left to write.
      unlessGone(() => destination.flush(() => resolve()), resolve)
    })))
  }

  private writeOutAll(): void {
    for (const writer of this.writers.values()) writeOut(writer)
  }

  /** At exit nothing asynchronous runs again: the lines still here go to sonic-boom, which writes all it holds now. */
  flushSync(): void {
    for (const writer of this.writers.values()) {
      writeOut(writer)
      unlessGone(() => writer.destination.flushSync())
    }
  }

  private writerOf(target: string): Writer {
    let writer = this.writers.get(target)
    if (!writer) {
      const sync = this.settings.mode === 'sync'
      // minLength 1: each chunk is written at once, and flush waits for the write in progress (at 0 it would not).
      const destination = pino.destination({ dest: descriptorOf(target), sync, minLength: sync ? 0 : 1 })
      writer = { destination, lines: [], chars: 0 }
      this.writers.set(target, writer)
    }
    return writer
  }
}

/** One exit listener for every buffered LogOutputs of the process (tests make many). */
const flushedAtExit = new Set<LogOutputs>()
process.once('exit', () => {
  for (const outputs of flushedAtExit) outputs.flushSync()
})

function take(writer: Writer): string {
  if (writer.lines.length === 0) return ''
  const chunk = writer.lines.join('')
  writer.lines = []
  writer.chars = 0
  return chunk
}

function writeOut(writer: Writer): void {
  const chunk = take(writer)
  if (chunk) unlessGone(() => writer.destination.write(chunk))
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
