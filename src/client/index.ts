/**
 * The TypeScript client of ib-provider: typed services over the generated code in gen/ (OrderService as helpers: `client.orders.place(...)`), bearer-token
 * auth, resumable streams that resume exactly (after_sequence + epoch) and report real gaps, and Decimal helpers for the API's decimal strings.
 */
export { createIbProviderClient, type IbProviderClient, type IbProviderClientOptions, type ServiceMethods } from "./ibProviderClient.js";
export type { OrderMethods, NewOrderInput, OrderTarget } from "./orderMethods.js";
export { resumableStream, isResumable, type ResumeOptions, type StreamStart, type CallStart } from "./resumableStream.js";
export type { ResumePoint } from "./sequenceTracker.js";
export type { StreamItem, StreamEventItem, StreamGap, StreamReconnecting } from "./streamItem.js";
export type { UnaryOptions, RequestInput } from "./serviceMethods.js";
export { DEFAULT_BACKOFF, type BackoffPolicy } from "./backoff.js";
export { bearerTokenInterceptor } from "./auth.js";
export { errorInfoOf } from "./errorInfo.js";
export { ApiDecimal, toDecimal, requireDecimal, fromDecimal, withDecimals, spreadOf, type WithDecimals } from "./decimal.js";
