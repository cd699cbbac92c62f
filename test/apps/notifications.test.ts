import t from 'tap'
import { parseAppNotification } from '../../src/apps/notifications.js'
import {
  newSecretType, notificationBody, secretExpiryType, type NewSecretPayload, type SecretExpiryPayload,
} from '../support/sp-api-notifications.js'

const app = { applicationId: 'amzn1.sp.solution.0123', subscriptionId: 'sub-0123' }
const nowMs = Date.parse('2026-09-19T10:00:00Z')
const secret = 'amzn1.oa2-cs.v1.0123456789abcdef0123456789abcdef0123456789abcdef'
const newSecret: NewSecretPayload = {
  clientId: 'amzn1.application-oa2-client.0123', newClientSecret: secret,
  newClientSecretExpiryTime: '2027-03-18T10:00:00Z', oldClientSecretExpiryTime: '2026-09-26T10:00:00Z',
}
const expiry: SecretExpiryPayload = {
  clientId: 'amzn1.application-oa2-client.0123', clientSecretExpiryTime: '2026-09-26T10:00:00Z',
  clientSecretExpiryReason: 'ROTATION',
}

type Type = typeof newSecretType | typeof secretExpiryType
const body = (payload: object, type: Type = newSecretType, payloadVersion = '2023-11-30'): string =>
  notificationBody({ type, payload: payload as NewSecretPayload, app, payloadVersion, nowMs })
const idOf = (text: string): string => (JSON.parse(text) as { notificationMetadata: { notificationId: string } })
  .notificationMetadata.notificationId
const sns = (message: string): string => JSON.stringify({
  Type: 'Notification', MessageId: '2b4c7a3e-0000-4000-8000-000000000000', TopicArn: 'arn:aws:sns:us-east-1:1:t',
  Message: message, Timestamp: '2026-09-19T10:00:01.000Z', SignatureVersion: '1',
})
/** The body with one change made to its parsed JSON. */
function edited(text: string, change: (json: Record<string, any>) => void): string {
  const json = JSON.parse(text) as Record<string, any>
  change(json)
  return JSON.stringify(json)
}

t.test('a new-secret notification, raw, with either payloadVersion Amazon has published', async (t) => {
  for (const version of ['2023-11-30', '1.0']) {
    const text = body(newSecret, newSecretType, version)
    t.same(parseAppNotification(text), {
      kind: 'new_secret', clientId: newSecret.clientId, newClientSecret: secret,
      newExpiresAtMs: Date.parse('2027-03-18T10:00:00Z'), oldExpiresAtMs: Date.parse('2026-09-26T10:00:00Z'),
      notificationId: idOf(text),
    }, `payloadVersion ${version}`)
  }
  const noVersion = edited(body(newSecret), (j) => { delete j['payloadVersion'] })
  t.equal(parseAppNotification(noVersion).kind, 'new_secret', 'not even needed')
})

t.test('a secret-expiry notification, raw, with its reason or without', async (t) => {
  const text = body(expiry, secretExpiryType)
  t.same(parseAppNotification(text), {
    kind: 'secret_expiry', clientId: expiry.clientId, expiresAtMs: Date.parse('2026-09-26T10:00:00Z'),
    reason: 'ROTATION', notificationId: idOf(text),
  })
  const { clientSecretExpiryReason: _reason, ...noReason } = expiry
  const parsed = parseAppNotification(body(noReason, secretExpiryType))
  t.match(parsed, { kind: 'secret_expiry', clientId: expiry.clientId })
  t.notOk('reason' in parsed, 'no reason key at all')
})

t.test('both kinds wrapped in an SNS envelope parse as they do raw', async (t) => {
  for (const text of [body(newSecret), body(expiry, secretExpiryType)]) {
    t.same(parseAppNotification(sns(text)), parseAppNotification(text))
    t.not(parseAppNotification(text).kind, 'unparseable')
  }
})

t.test('times with milliseconds or an offset; a notification id that is not id-shaped is dropped', async (t) => {
  const fractions = body({
    ...newSecret,
    newClientSecretExpiryTime: '2027-03-18T10:00:00.123Z', oldClientSecretExpiryTime: '2026-09-26T12:00:00+02:00',
  })
  t.match(parseAppNotification(fractions), {
    newExpiresAtMs: Date.parse('2027-03-18T10:00:00Z') + 123, oldExpiresAtMs: Date.parse('2026-09-26T10:00:00Z'),
  })
  const odd = edited(body(newSecret), (j) => { j['notificationMetadata']['notificationId'] = 'a b\n{}' })
  const parsed = parseAppNotification(odd)
  t.equal(parsed.kind, 'new_secret')
  t.notOk('notificationId' in parsed)
  const none = edited(body(newSecret), (j) => { delete j['notificationMetadata'] })
  t.notOk('notificationId' in parseAppNotification(none))
})

t.test('garbage is unparseable, and never throws', async (t) => {
  const garbage = [
    '', 'not json', '[]', 'null', '42', '"text"', '{}', '{"notificationType":7}',
    JSON.stringify({ notificationType: newSecretType }),
    JSON.stringify({ notificationType: newSecretType, payload: [] }),
    sns('not json'), sns('[]'), JSON.stringify({ Type: 'Notification', Message: { notificationType: newSecretType } }),
  ]
  for (const text of garbage) t.same(parseAppNotification(text), { kind: 'unparseable' }, JSON.stringify(text))
})

t.test('every missing or invalid field makes the notification unparseable', async (t) => {
  const badValues: unknown[] = [undefined, '', 7, null, { x: 1 }]
  const badTimes = ['tomorrow', '2027-03-18', '2027-03-18T10:00:00', '2027-02-30T10:00:00Z', '2027-03-18T24:00:00Z',
    '2027-03-18T10:00:60Z', '2027-13-01T10:00:00Z', '2027-03-18T10:00:00+25:00', 1_800_000_000_000]
  const times = [...badValues, ...badTimes]
  const newKey = 'applicationOAuthClientNewSecret'
  const expiryKey = 'applicationOAuthClientSecretExpiry'
  const cases: Array<[string, object, Type, string, unknown[]]> = [
    ['clientId', newSecret, newSecretType, newKey, badValues],
    ['newClientSecret', newSecret, newSecretType, newKey, badValues],
    ['newClientSecretExpiryTime', newSecret, newSecretType, newKey, times],
    ['oldClientSecretExpiryTime', newSecret, newSecretType, newKey, times],
    ['clientId', expiry, secretExpiryType, expiryKey, badValues],
    ['clientSecretExpiryTime', expiry, secretExpiryType, expiryKey, times],
    ['clientSecretExpiryReason', expiry, secretExpiryType, expiryKey, [7, null, {}]],
  ]
  for (const [field, payload, type, key, values] of cases) {
    t.not(parseAppNotification(body(payload, type)).kind, 'unparseable', `${type} parses before ${field} is broken`)
    for (const value of values) {
      const text = edited(body(payload, type), (j) => { j['payload'][key][field] = value })
      t.same(parseAppNotification(text), { kind: 'unparseable' }, `${type} ${field} = ${JSON.stringify(value)}`)
    }
  }
  const swapped = edited(body(newSecret), (j) => {
    j['payload'] = { applicationOAuthClientSecretExpiry: j['payload']['applicationOAuthClientNewSecret'] }
  })
  t.same(parseAppNotification(swapped), { kind: 'unparseable' }, 'the payload key must match the type')
})

t.test('an unknown type is named, as a short identifier only', async (t) => {
  const other = edited(body(newSecret), (j) => { j['notificationType'] = 'ANY_OFFER_CHANGED' })
  t.same(parseAppNotification(other), { kind: 'unknown_type', type: 'ANY_OFFER_CHANGED' })
  const hostile = edited(body(newSecret), (j) => { j['notificationType'] = `A-b c\n{"x":"${'y'.repeat(100)}"}` })
  const refusal = parseAppNotification(hostile)
  t.same(refusal, { kind: 'unknown_type', type: `Abcx${'y'.repeat(60)}` }, 'only [A-Za-z0-9_], at most 64 of them')
  t.same(parseAppNotification(sns(other)), { kind: 'unknown_type', type: 'ANY_OFFER_CHANGED' }, 'in an envelope too')
})

t.test('no cut of a real body, raw or inside a whole envelope, throws or yields any part of the secret', async (t) => {
  const text = body(newSecret)
  const kinds = new Set<string>()
  const leaked: number[] = []
  for (let end = 0; end < text.length; end++) {
    for (const cut of [text.slice(0, end), sns(text.slice(0, end))]) {
      const result = parseAppNotification(cut)
      kinds.add(result.kind)
      if (JSON.stringify(result).includes(secret.slice(0, 16))) leaked.push(end)
    }
  }
  t.same(leaked, [], 'no refusal carries the secret')
  t.same([...kinds], ['unparseable'], 'a cut body is never a notification')
  t.equal(parseAppNotification(sns(text)).kind, 'new_secret', 'the whole body is')
})
