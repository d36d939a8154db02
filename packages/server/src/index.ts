export { type Clock, createManualClock, createOffsetClock, systemClock } from './clock.ts';
export {
  ConfigError,
  DatabaseEnvironment,
  deepFreeze,
  envFlag,
  HttpTimeoutEnvironment,
  metricsTokenSetting,
  parseEnvironment,
  readSecrets,
  type Secrets,
  type TrustProxy,
  trustProxySetting,
} from './config.ts';
export { registerErrorHandler } from './error-handler.ts';
export { HttpError } from './errors.ts';
export { type App, createServer, perMinute, RATE_LIMIT_WINDOW_MS, type ServerOptions } from './http.ts';
export { guardMetrics } from './metrics-guard.ts';
export { runServer, type ServerConfig, type StartedServer } from './run-server.ts';
