import { Type, type Static } from 'typebox'
import { adminForbidden, adminInvalid, adminRoute, checks } from './admin.js'
import { internalError, rateLimited, unauthenticated } from './common.js'
import { errorReplies, jsonReply, type ErrorSpec } from './replies.js'

const AppStatus = Type.Object({
  app: Type.String({ description: 'The app secret\'s id, as the credentials name it.' }),
  api: Type.Enum(['ads', 'sp-api', 'appstore']),
  client_id: Type.Union([Type.String(), Type.Null()], { description: 'The LWA client id (never the secret).' }),
  client_secret_expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When the client secret expires (`client_secret_expires_at` in the secret); null when unknown.',
  }),
  rotation: Type.Union([Type.Object({
    state: Type.Enum(['idle', 'rotation_pending', 'throttled', 'not_enrolled', 'failed']),
    at: Type.String({ format: 'date-time' }),
  }, { additionalProperties: false }), Type.Null()], { description: 'The last rotation this replica asked for.' }),
}, { additionalProperties: false, title: 'AppStatus' })
export type AppStatusBody = Static<typeof AppStatus>

export const AppParams = Type.Object({
  app: Type.String({ minLength: 1, maxLength: 512, description: 'The app secret\'s id, URL-encoded.' }),
})
export type AppParams = Static<typeof AppParams>

const RotationAnswer = Type.Object({
  app: Type.String(),
  outcome: Type.Enum(['requested', 'already_pending', 'throttled', 'not_enrolled', 'failed'], {
    description: '`requested`: Amazon is sending the new secret to the queue; `already_pending`: one was requested '
      + 'within `apps.rotation.pendingWaitMinutes` (each call mints a secret, so none is asked again); `throttled`: '
      + 'Amazon\'s 429 (one call a minute); `not_enrolled`: no queue is registered for the app\'s new-secret '
      + 'notification; `failed`: LWA or SP-API failed otherwise.',
  }),
}, { additionalProperties: false, title: 'RotationAnswer' })

export const listAppsSchema = adminRoute({
  operationId: 'listApps',
  summary: 'Each app secret: its client id, when its client secret expires, its rotation.',
  description: `${checks('')} Audited as \`admin.apps.list\`. Never a secret.`,
  response: {
    200: jsonReply(Type.Object({ apps: Type.Array(AppStatus) }, { additionalProperties: false }),
      'The app secrets the credentials use.', {
        examples: {
          one: {
            value: {
              apps: [{
                app: 'prod/lwa/apps/sp-main', api: 'sp-api', client_id: 'amzn1.application-oa2-client.example',
                client_secret_expires_at: '2027-03-18T10:00:00.000Z', rotation: null,
              }],
            },
          },
        },
      }),
    ...errorReplies([adminInvalid, unauthenticated, adminForbidden, rateLimited, internalError]),
  },
})

const unknownApp: ErrorSpec = {
  codes: ['not_found'],
  description: '`not_found`: no credential uses an app secret of that id.',
}

export const rotateAppSchema = adminRoute({
  operationId: 'rotateApp',
  summary: 'Ask Amazon for a new client secret for an SP-API app now.',
  description: 'Served only with `apps.notifications` (the new secret arrives on that queue and is staged, checked '
    + 'and promoted like any other). Calls `rotateApplicationClientSecret` once unless a rotation is pending on any '
    + `replica. ${checks('; the app is an SP-API one (400)')} Send no body. Audited as \`admin.apps.rotate\`.`,
  params: AppParams,
  response: {
    200: jsonReply(RotationAnswer, 'What Amazon answered.', {
      examples: { requested: { value: { app: 'prod/lwa/apps/sp-main', outcome: 'requested' } } },
    }),
    ...errorReplies([
      { ...adminInvalid, description: `${adminInvalid.description} Also an app that is not an SP-API one.` },
      unauthenticated, adminForbidden, unknownApp, rateLimited, internalError,
    ]),
  },
})
