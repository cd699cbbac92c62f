export { TokenService, type IssuedToken, type TokenServiceDeps } from './token-service.js'
export { TokenSource, type BrokerToken } from './token-source.js'
export { TokenCache, TokenTooShortError, type Expiring, type TokenCacheOptions } from './token-cache.js'
export { apiHeaders } from './api-headers.js'
