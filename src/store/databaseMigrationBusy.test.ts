import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, schemaVersion } from "./database.js";
import { MIGRATIONS } from "./migrations.js";

// Review: the service opens its store with busy_timeout 0. A store that needs migrating while another process
// holds the write lock for a moment (the operator's CLI migrating the same fresh or older file, or writing)
// failed the service's start with 'database is locked' instead of waiting for the lock as the migration must.
describe("the store's migration under another process's write lock", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("waits for the lock (busy_timeout 0 is the service's writes', not its start's)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ibp-migrate-busy-"));
    dirs.push(dir);
    const path = join(dir, "store.db");
    // Another process: the file in WAL at version 0, its write lock held for 300 ms.
    const script = `const D = require("better-sqlite3"); const db = new D(${JSON.stringify(path)}); db.pragma("journal_mode = WAL"); db.exec("BEGIN IMMEDIATE"); console.log("locked"); setTimeout(() => { db.exec("COMMIT"); db.close(); }, 300);`;
    const other = spawn(process.execPath, ["-e", script], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((resolve) => other.on("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      other.stdout.on("data", (d: Buffer) => d.toString().includes("locked") && resolve());
      other.on("exit", (code) => reject(new Error(`the locking process exited (${code})`)));
    });
    try {
      const db = openDatabase(path, 0);
      expect(schemaVersion(db)).toBe(MIGRATIONS.length);
      db.close();
    } finally {
      await exited;
    }
  }, 10_000);
});
