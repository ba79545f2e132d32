import { status, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { HealthClient } from "../../gen/grpc/health/v1/health.js";
import { until } from "../testing/until.js";
import { firstOutcome } from "../testing/firstOutcome.js";
import { useOpenServers } from "./testing/openServers.js";
import { DEFAULT_HEALTH_WATCH_LIMITS, type HealthWatchLimits } from "./services/healthChecks.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 13, item 4: Health/Watch stays open without a token, but bounded per connection and in total
// (15,000 unauthenticated Watch streams on one connection once took 542 MB).

const openServer = useOpenServers(HealthClient);
const startServer = (healthWatchLimits?: HealthWatchLimits) => openServer(healthWatchLimits === undefined ? {} : { healthWatchLimits });

function expectWatchLimit(outcome: "open" | ServiceError, scope: "connection" | "server", limit: number): void {
  expect(outcome).not.toBe("open");
  const err = outcome as ServiceError;
  expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
  expect(readRichStatus(err)?.errorInfo).toMatchObject({ reason: "HEALTH_WATCH_LIMIT", metadata: { scope, limit: String(limit) } });
}

describe("Health/Watch without a token", () => {
  it("admits 16 Watch streams per connection and refuses the 17th with RESOURCE_EXHAUSTED HEALTH_WATCH_LIMIT, while another connection still watches", async () => {
    const { server, connection } = await startServer();
    const perConnection = DEFAULT_HEALTH_WATCH_LIMITS.perConnection;
    const client = connection();
    const streams = Array.from({ length: perConnection }, () => client.watch({ service: "" }));
    expect(await Promise.all(streams.map((s) => firstOutcome(s)))).toEqual(streams.map(() => "open"));

    const started = performance.now();
    expectWatchLimit(await firstOutcome(client.watch({ service: "" })), "connection", perConnection);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await firstOutcome(connection().watch({ service: "" }))).toBe("open");

    // A closed Watch gives its place back.
    streams[0]!.cancel();
    await until(() => server.health.openWatches.maxPerConnection === perConnection - 1, { what: "the cancelled Watch to be released" });
    expect(await firstOutcome(client.watch({ service: "" }))).toBe("open");
  });

  it("refuses Watch streams beyond the server's total across connections, and counts back to zero when they close", async () => {
    const { server, connection } = await startServer({ perConnection: 4, total: 6 });
    const first = connection();
    const second = connection();
    const streams = [...Array.from({ length: 4 }, () => first.watch({ service: "" })), ...Array.from({ length: 2 }, () => second.watch({ service: "" }))];
    expect(await Promise.all(streams.map((s) => firstOutcome(s)))).toEqual(streams.map(() => "open"));
    expectWatchLimit(await firstOutcome(second.watch({ service: "" })), "server", 6);
    expectWatchLimit(await firstOutcome(connection().watch({ service: "" })), "server", 6);

    for (const stream of streams) stream.cancel();
    await until(() => server.health.openWatches.total === 0, { what: "every cancelled Watch to be released" });
    expect(await firstOutcome(connection().watch({ service: "" }))).toBe("open");
  });
});
