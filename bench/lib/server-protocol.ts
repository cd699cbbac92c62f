/** The IPC messages between a benchmark and its server child (bench/lib/server-child.ts). */

export type ServerSpec =
  | { kind: 'bare'; body: unknown }
  /** bench/lib/reference-server.ts: the hot path's work with the suggested fixes applied (an estimate, not the broker). */
  | { kind: 'reference'; config: Record<string, unknown>; configPath: string }
  | {
    kind: 'broker'
    config: Record<string, unknown>
    configPath: string
    /**
     * Obtain this credential's token before the readiness check, so the file secret store has
     * loaded its file once before thousands of concurrent reads (see findings: scale.startup).
     */
    primeWith?: string
    /**
     * Ablation (bench/ablation.ts): the same wiring as createBroker, but with the operational
     * and audit loggers changed, to measure what each costs. Absent: createBroker itself.
     */
    ablate?: Ablation
    /** Traces on, exported by OTLP/HTTP to this endpoint, as the OTEL_* environment would set it. */
    tracing?: { endpoint: string }
  }

export type ChildRequest =
  | { type: 'start'; spec: ServerSpec }
  | { type: 'usage' }
  | { type: 'gc-usage' }
  | { type: 'warm' }
  | { type: 'ops-url' }
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string }
  | { type: 'heap-snapshot'; file: string }
  | { type: 'exit' }

export interface ChildReply {
  id: number
  ok: boolean
  result?: unknown
  error?: string
}

export interface StartupTimings {
  /** From process start to the server module having loaded (imports, through tsx). */
  processToModulesLoadedMs: number
  buildMs: number
  listenMs: number
  /** The readiness check (every secret read, issuer keys loaded); 0 for the bare server. */
  readinessMs: number
  /** From process start to ready. */
  processToReadyMs: number
  /** Resident set size when ready, after a full GC. */
  rss: number
}

export interface Usage {
  cpuUserMs: number
  cpuSystemMs: number
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  uptimeMs: number
}

export interface WarmResult {
  warmMs: number
  credentials: number
  withToken: number
}

/** What a logger in an ablation run does: as production (info, redaction on), no redaction, or nothing. */
export interface Ablation {
  /** `logs.mode` of the config: buffered (the default) or a write per line. */
  logs: 'buffered' | 'sync'
  /** off: audit lines are built but thrown away (the floor without log output). */
  audit: 'on' | 'off'
  /** defaults: without the image's V8 flags (the Dockerfile's NODE_OPTIONS). */
  v8?: 'image' | 'defaults'
}
