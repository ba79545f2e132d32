/** The adapter's view of its Gateway connection, as reported by the runtime status (no TWS ids here). */

export type GatewayMode = "real" | "simulator";

/**
 * How ib-provider's simulated Gateway names itself on the wire (src/simulator/errors.ts, SIMULATOR_IDENTITY):
 * a farm-status message (code 2104, id -1) for a farm no real Gateway has, sent before nextValidId. The
 * adapter cannot import the simulator (architecture test), so the text is written in both places.
 */
const SIMULATOR_FARM_STATUS = { code: 2104, message: "Market data farm connection is OK:ib-provider-simulator" } as const;

/** True for the informational message by which a simulated Gateway identifies itself. */
export function isSimulatorIdentity(code: number, message: string): boolean {
  return code === SIMULATOR_FARM_STATUS.code && message === SIMULATOR_FARM_STATUS.message;
}

export type ConnectionState = "connecting" | "connected" | "lost" | "reconnecting" | "disconnected";

export interface GatewayStatus {
  /** "simulator" for the embedded simulator, and for any Gateway that identifies itself as one. */
  mode: GatewayMode;
  host: string;
  port: number;
  clientId: number;
  state: ConnectionState;
  /** Negotiated TWS API server version, 0 before the first connection. */
  serverVersion: number;
  /** The Gateway's own connection-time text. */
  connectionTime: string;
  managedAccounts: string[];
  /** IB_ACCOUNT_ID, or the only managed account. */
  activeAccount: string | undefined;
  /** Paper account (DU…) or a paper port (4002/7497). */
  isPaper: boolean;
  connectedSince: Date | undefined;
  reconnectCount: number;
  lastError: string | undefined;
  /** IB's own link to its servers (codes 1100/1101/1102): false between 1100 and the restore. */
  ibConnectivity: boolean;
}
