/** The run engine's pure core: run state as frames and steps, and the one interpreter that moves it. */
export * from './state';
export * from './transitions';
export { retryDelayMs, type RetryPolicy } from './retry';
