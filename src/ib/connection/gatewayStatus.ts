/** The adapter's view of its Gateway connection, as reported by the runtime status (no TWS ids here). */

export type GatewayMode = "real" | "simulator";

export type ConnectionState = "connecting" | "connected" | "lost" | "reconnecting" | "disconnected";

export interface GatewayStatus {
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
