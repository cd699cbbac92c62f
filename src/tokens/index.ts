export { TokenService, type IssuedToken, type BrokerToken, type TokenServiceDeps } from './token-service.js'
export { TokenCache, TokenTooShortError, type Expiring, type TokenCacheOptions } from './token-cache.js'
export { apiHeaders } from './api-headers.js'
