export interface Level {
  price: string;
  volume: string;
}
export interface BookUpdate {
  isSnapshot?: boolean;
  isConsistent?: boolean;
  sequence?: string;
  bids?: Level[];
  asks?: Level[];
}
export declare class OrderBookLadder {
  bids: Map<string, string>;
  asks: Map<string, string>;
  sequence: string;
  consistent: boolean;
  updates: number;
  apply(update: BookUpdate): void;
  clear(): void;
  top(depth: number): { asks: Level[]; bids: Level[] };
}
