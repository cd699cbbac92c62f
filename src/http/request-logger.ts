import type { FastifyBaseLogger } from 'fastify'

type Bindings = Record<string, unknown>
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1]
type LogFn = (...args: unknown[]) => void

/**
 * The request's logger (with its `reqId`), made the first time something is logged through it.
 * Most requests log nothing, and a pino child with redaction costs a redaction pass over its
 * bindings per request. A class, so a request costs one small object, not seven closures.
 */
class LazyRequestLogger {
  #child: FastifyBaseLogger | undefined

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  get level(): string {
    return this.#child?.level ?? this.options?.level ?? this.parent.level
  }

  set level(level: string) {
    this.real().level = level
  }

  child(more: Bindings, moreOptions?: ChildOptions): FastifyBaseLogger {
    return this.real().child(more, moreOptions)
  }

  fatal(...args: unknown[]): void { this.log('fatal', args) }
  error(...args: unknown[]): void { this.log('error', args) }
  warn(...args: unknown[]): void { this.log('warn', args) }
  info(...args: unknown[]): void { this.log('info', args) }
  debug(...args: unknown[]): void { this.log('debug', args) }
  trace(...args: unknown[]): void { this.log('trace', args) }
  silent(): void {}

  private log(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    ;(this.real()[level] as LogFn)(...args)
  }

  private real(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bindings, this.options))
  }
}

/** Fastify's `childLoggerFactory`. */
export function lazyRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildOptions,
): FastifyBaseLogger {
  return new LazyRequestLogger(parent, bindings, options) as unknown as FastifyBaseLogger
}
