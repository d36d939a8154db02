export {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  HAS_CHROMIUM,
  launchChromium,
  NO_CHROMIUM_MESSAGE,
} from './chromium.ts';
export { freePort } from './ports.ts';
export {
  killLeftoverProcesses,
  type ServiceProcess,
  type StartProcessOptions,
  startProcess,
  startService,
  stopAllProcesses,
  type WaitForHttpOptions,
  waitForHttp,
} from './processes.ts';
export { sendSlowRequest } from './slow-client.ts';
export {
  openRawSseStream,
  openUpdatesStream,
  type ReceivedMessage,
  type SseMessage,
  type UpdatesStream,
} from './sse.ts';
export { eventually, sleep } from './wait.ts';
