// First: the tick object is kept before any other module's start-up can take a full GC.
import './http/tick-shape.js'
import { createBroker, type Broker } from './http/broker.js'
import { ConfigError, loadConfig } from './config/index.js'
import { watchConfigFile } from './config/watch.js'
import { requestTracing } from './http/request-tracing.js'
import { processLogs } from './observability/logger.js'
import { startTracing } from './observability/tracing.js'

/** Process entry: config -> broker -> listen; SIGTERM/SIGINT close it gracefully. */
async function main(): Promise<void> {
  const configPath = process.env.LWA_BROKER_CONFIG ?? './broker.yaml'
  let config
  try {
    config = loadConfig(configPath, process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`lwa-broker: ${err.message}\n`)
    process.exit(2)
  }
  // Before anything else is built: the SDK instruments undici and owns the tracer provider.
  const tracing = await startTracing()
  const { logger, auditSink, outputs } = processLogs(config, tracing?.spans)
  const broker = await createBroker(
    config,
    { logger, auditSink, ...(tracing ? { spans: tracing.spans } : {}) },
    tracing ? { requestTracing: await requestTracing() } : {},
  )
  await broker.listen()
  const watcher = reloadOnChange(configPath, broker)

  let closing = false
  const shutdown = (signal: string): void => {
    if (closing) return
    closing = true
    watcher.close()
    logger.info({ signal }, 'shutting down')
    // Buffered log lines are written before the process goes: the last audit line included.
    const exit = (code: number): void => {
      void Promise.allSettled([outputs.flush(), tracing?.shutdown()]).finally(() => process.exit(code))
    }
    broker.close().then(() => exit(0), (err: unknown) => {
      logger.error({ err }, 'shutdown failed')
      exit(1)
    })
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

/** SIGHUP or a changed file: the new config is checked whole; a bad one is logged and counted, the old one serves. */
function reloadOnChange(configPath: string, broker: Broker): { close(): void } {
  const reload = (): void => void broker.services.reload(() => loadConfig(configPath, process.env))
  process.on('SIGHUP', reload)
  return watchConfigFile(configPath, reload)
}

main().catch((err: unknown) => {
  process.stderr.write(`lwa-broker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
