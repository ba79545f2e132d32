/**
 * Barfinex's market types: where a symbol trades as the platform sees it. "spot" covers stocks, crypto
 * and forex; "futures" IB futures; "margin" spot seen through the margin account.
 */
export const MARKET_TYPES = ["spot", "futures", "margin"] as const;
export type MarketType = (typeof MARKET_TYPES)[number];

/** connectorType values this service serves (a Barfinex deployment runs one connector per exchange). */
export const CONNECTOR_TYPES = ["ib"] as const;
