import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Apps, AppStatus } from '../../apps/apps.js'
import { listAppsSchema, rotateAppSchema, type AppParams, type AppStatusBody } from '../contract/apps.js'

type Admin = (action: string, run: (request: FastifyRequest) => Promise<unknown>) =>
  (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** The apps' client secrets for operators: status (never a secret), and a rotation on demand. */
export function registerAppRoutes(app: FastifyInstance, apps: Apps, admin: Admin): void {
  app.get('/admin/apps', { schema: listAppsSchema },
    admin('apps.list', async () => ({ apps: apps.list().map(toBody) })))
  app.post<{ Params: AppParams }>('/admin/apps/:app/rotate', { schema: rotateAppSchema },
    admin('apps.rotate', async (request) => {
      const { app: secretId } = request.params as AppParams
      return { app: secretId, outcome: await apps.rotate(secretId) }
    }))
}

function toBody(s: AppStatus): AppStatusBody {
  return {
    app: s.app, api: s.api, client_id: s.clientId ?? null,
    client_secret_expires_at: s.expiresAtMs === undefined ? null : new Date(s.expiresAtMs).toISOString(),
    rotation: s.rotation ? { state: s.rotation.state, at: new Date(s.rotation.atMs).toISOString() } : null,
  }
}
