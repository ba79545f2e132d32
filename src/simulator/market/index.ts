/**
 * The deterministic simulated market behind the simulated IB Gateway. See README.md for the model.
 */
export { createMarket } from "./market.js";
export { diffDepth, applyDepthOps } from "./depth.js";
export {
  parseBarSize,
  parseDuration,
  durationStartSec,
  barWindowStartSec,
  isValidDurationForBarSize,
  nominalDurationSec,
  barSizeForQuery,
  type ParsedBarSize,
  type Duration,
  type DurationUnit,
} from "./ibDurations.js";
export type * from "./types.js";
