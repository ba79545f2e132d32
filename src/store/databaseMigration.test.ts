import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, schemaVersion, StoreVersionError } from "./database.js";
import { MIGRATIONS } from "./migrations.js";

describe("the store's migration", () => {
  const dirs: string[] = [];
  const fileIn = () => {
    const dir = mkdtempSync(join(tmpdir(), "ibp-migrate-"));
    dirs.push(dir);
    return join(dir, "store.db");
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("opens a store already at the current version while another connection (the operator's CLI) writes", () => {
    const path = fileIn();
    openDatabase(path).close();
    const cli = new Database(path);
    try {
      cli.exec("BEGIN IMMEDIATE");
      // The service opens with busy_timeout 0 (MarketStore): nothing to migrate must need no write lock.
      const db = openDatabase(path, 0);
      expect(schemaVersion(db)).toBe(MIGRATIONS.length);
      db.close();
    } finally {
      cli.exec("ROLLBACK");
      cli.close();
    }
  });

  it("refuses a store written by a newer version, leaving it as it was", () => {
    const path = fileIn();
    openDatabase(path).close();
    const newer = new Database(path);
    newer.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    newer.close();
    expect(() => openDatabase(path)).toThrow(StoreVersionError);
    const check = new Database(path);
    expect(check.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length + 1);
    check.close();
  });

  it("migrates a fresh file to the current version", () => {
    const db = openDatabase(fileIn());
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    db.close();
  });
});
