/**
 * The names Barfinex uses in config files, REST paths and requests: the connector, market types and
 * intervals. Re-exported here from the domain for the layers that describe them (the REST bridge's
 * OpenAPI document may read config, not the domain): one list each, the one the checks use.
 */
export { MARKET_TYPES } from "../domain/marketType.js";
export { INTERVAL_NAMES, describeAcceptedIntervals } from "../domain/intervals.js";

/** connectorType values this service serves (a Barfinex deployment runs one connector per exchange). */
export const CONNECTOR_TYPES = ["ib"] as const;
