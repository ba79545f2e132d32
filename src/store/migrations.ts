/**
 * The store's schema, one entry per version (SQLite's `user_version`). A migration is applied once, in a
 * transaction with the version bump; a file written by a newer version is refused rather than guessed at.
 * Never edit a released entry: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: candles by series; the settled ranges asked of IB (empty ones too, so they are not asked again) and the
  // last recent range per series (valid briefly: IB may still revise it); resolved contracts.
  `
  CREATE TABLE candle_series (
    id INTEGER PRIMARY KEY,
    con_id INTEGER NOT NULL,
    interval TEXT NOT NULL,
    what_to_show TEXT NOT NULL,
    rth INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    UNIQUE (con_id, interval, what_to_show, rth)
  );
  CREATE TABLE candles (
    series INTEGER NOT NULL REFERENCES candle_series(id),
    start_ms INTEGER NOT NULL,
    open TEXT NOT NULL,
    high TEXT NOT NULL,
    low TEXT NOT NULL,
    close TEXT NOT NULL,
    volume TEXT NOT NULL,
    vwap TEXT,
    trades INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    PRIMARY KEY (series, start_ms)
  ) WITHOUT ROWID;
  CREATE TABLE coverage (
    series INTEGER NOT NULL REFERENCES candle_series(id),
    from_ms INTEGER NOT NULL,
    to_ms INTEGER NOT NULL,
    fetched_at_ms INTEGER NOT NULL,
    PRIMARY KEY (series, from_ms)
  ) WITHOUT ROWID;
  CREATE TABLE recent_coverage (
    series INTEGER PRIMARY KEY REFERENCES candle_series(id),
    from_ms INTEGER NOT NULL,
    to_ms INTEGER NOT NULL,
    fetched_at_ms INTEGER NOT NULL,
    forming_end_ms INTEGER NOT NULL
  );
  -- Rows of candles kept up to date by triggers: counting a large table would hold the event loop on
  -- every metrics scrape. (Candles are upserted ON CONFLICT DO UPDATE, never REPLACE, whose implicit
  -- delete fires no trigger.)
  CREATE TABLE row_counts (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO row_counts (tbl, n) VALUES ('candles', 0);
  CREATE TRIGGER candles_counted_insert AFTER INSERT ON candles BEGIN UPDATE row_counts SET n = n + 1 WHERE tbl = 'candles'; END;
  CREATE TRIGGER candles_counted_delete AFTER DELETE ON candles BEGIN UPDATE row_counts SET n = n - 1 WHERE tbl = 'candles'; END;
  CREATE TABLE contracts (
    key TEXT PRIMARY KEY,
    con_id INTEGER NOT NULL,
    details TEXT NOT NULL,
    fetched_at_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: the recorded events of every shared feed (issue 15, eventStore.ts). A feed row per feed key: its current
  // epoch, the last position committed, and whether an instance is recording (open: a row still open when the
  // next instance starts means the last one never closed, so its numbering is not trusted: a new epoch) or a
  // write of it failed (broken). Events by position; the time index finds where a replay from a time starts,
  // and the partial index on snapshot rows (a few per minute) where the newest snapshot before it is.
  `
  CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    key TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL,
    symbol TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    last_sub INTEGER NOT NULL,
    open INTEGER NOT NULL,
    broken INTEGER NOT NULL
  );
  CREATE TABLE feed_epochs (
    feed_id INTEGER NOT NULL REFERENCES feeds(id),
    epoch INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    PRIMARY KEY (feed_id, epoch)
  ) WITHOUT ROWID;
  CREATE TABLE events (
    feed_id INTEGER NOT NULL REFERENCES feeds(id),
    seq INTEGER NOT NULL,
    sub INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    kind INTEGER NOT NULL, -- 0 data, 1 status, 2 snapshot
    bytes BLOB NOT NULL,
    PRIMARY KEY (feed_id, seq, sub)
  ) WITHOUT ROWID;
  CREATE INDEX events_by_time ON events (feed_id, time_ms);
  CREATE INDEX events_snapshots ON events (feed_id, time_ms) WHERE kind = 2;
  -- Counted by the writes themselves, one update per transaction (EventStore: + the rows inserted, - the rows
  -- pruned), not by a trigger per row as candles are: a trigger cost about a third of the insert rate here.
  -- Whatever else deletes events must update it in the same transaction.
  INSERT INTO row_counts (tbl, n) VALUES ('events', 0);
  `,
  // 3: orders (issue 17, orderStore.ts), written synchronously before IB is told. An order per row, a bracket's
  // legs each their own row naming their parent and carrying the whole request as placed (canonical text,
  // domain/orders/canonicalOrderRequest.ts); the client's key (account, client_order_id) is unique, and so is
  // IB's order id within its id space (a connection's ids), allocated above the mark kept in order_id_marks so
  // an id is never reused after a restart. Prices and sizes as wire text. Executions by IB's execId, the
  // commission report joined into the same row whichever came first (the execution's columns are null until it
  // comes). The kill switch outlives a restart (order_switches). Open orders: a partial index on the statuses not done.
  `
  CREATE TABLE orders (
    account TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    id_space TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    perm_id INTEGER,
    role TEXT NOT NULL, -- parent, takeProfit, stopLoss
    parent_client_order_id TEXT,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    filled TEXT NOT NULL,
    remaining TEXT NOT NULL,
    avg_fill_price TEXT,
    error_code INTEGER,
    error_text TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (account, client_order_id),
    UNIQUE (id_space, order_id)
  ) WITHOUT ROWID;
  CREATE INDEX orders_open ON orders (account) WHERE status NOT IN ('Filled', 'Cancelled', 'ApiCancelled');
  CREATE INDEX orders_by_update ON orders (updated_ms);
  CREATE INDEX orders_by_perm_id ON orders (perm_id) WHERE perm_id IS NOT NULL;
  CREATE TABLE order_id_marks (
    id_space TEXT PRIMARY KEY,
    last_order_id INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE executions (
    exec_id TEXT PRIMARY KEY,
    account TEXT,
    order_id INTEGER,
    client_order_id TEXT,
    con_id INTEGER,
    time_ms INTEGER,
    side TEXT,
    price TEXT,
    quantity TEXT,
    commission TEXT,
    commission_currency TEXT,
    realized_pnl TEXT
  ) WITHOUT ROWID;
  CREATE INDEX executions_by_time ON executions (time_ms) WHERE time_ms IS NOT NULL;
  CREATE INDEX executions_by_order ON executions (account, client_order_id);
  CREATE TABLE order_switches (
    name TEXT PRIMARY KEY,
    engaged INTEGER NOT NULL,
    reason TEXT NOT NULL,
    changed_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 4: what IB says of an order and a fill beyond migration 3 (issue 17): an order's terms after ModifyOrder
  // (`amended`, JSON of the changed fields; the request as placed stays as it was, for PlaceOrder's
  // idempotency), an execution's exchange, cumulative quantity, average price and liquidity, and who engaged
  // the kill switch.
  `
  ALTER TABLE orders ADD COLUMN amended TEXT;
  ALTER TABLE executions ADD COLUMN exchange TEXT;
  ALTER TABLE executions ADD COLUMN cum_qty TEXT;
  ALTER TABLE executions ADD COLUMN avg_price TEXT;
  ALTER TABLE executions ADD COLUMN liquidity INTEGER;
  ALTER TABLE order_switches ADD COLUMN by_client TEXT;
  `,
];
