import { Type } from 'typebox'
import { closed } from './common.js'

export const Listen = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8787 }),
}, { ...closed, default: {} })

/** Limits on every HTTP connection, on the caller listener and the ops listener alike. */
export const Http = Type.Object({
  /** The whole request (headers and body) must arrive within this; a stalled body is cut off. */
  requestTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 30 }),
  /** The request headers must arrive within this (at most requestTimeoutSeconds). */
  headersTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 10 }),
  /** An idle keep-alive connection is closed after this; above a load balancer's idle timeout (ALB: 60 s). */
  keepAliveTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 72 }),
  /** Open connections per listener; keep well below the process's file-descriptor limit. */
  maxConnections: Type.Integer({ minimum: 1, maximum: 1000000, default: 2048 }),
}, { ...closed, default: {} })

/** The listener for /metrics and the health endpoints: for Prometheus and the kubelet, never for callers. */
export const Ops = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8788 }),
  /**
   * A scrape within this long of the last one gets the same text: scrapers cannot cost more than one render per
   * period.
   */
  metricsCacheSeconds: Type.Integer({ minimum: 0, maximum: 60, default: 5 }),
}, { ...closed, default: {} })

/** Readiness is evaluated on a timer; /readyz answers the last result, so probes cost nothing upstream. */
export const Readiness = Type.Object({
  intervalSeconds: Type.Integer({ minimum: 1, maximum: 300, default: 5 }),
}, { ...closed, default: {} })
