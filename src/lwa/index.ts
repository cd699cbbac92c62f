export { LwaClient, type LwaGrant, type LwaToken, type LwaClientAuth, type LwaClientOptions } from './client.js'
export { LwaError, terminalLwaCodes, requestBugLwaCodes, parseRetryAfter } from './lwa-error.js'
export { tokenUrlFor, defaultTokenUrls } from './endpoints.js'
