import type { CommissionReport, Execution, JoinedExecution } from "./execution.js";

/**
 * Joins executions with their commission reports by execId, in whichever order they arrive (IB sends
 * execDetails first, but after a reconnect or a reqExecutions the reports can come first, and each may come
 * again). Each half waits for the other up to `maxWaiting` per side (oldest dropped first, counted); a pair
 * already joined is not joined again (a repeat of either half returns undefined), remembered for the last
 * `rememberJoined` pairs.
 */
export class ExecutionJoiner {
  private readonly executions = new Map<string, Execution>();
  private readonly commissions = new Map<string, CommissionReport>();
  private readonly joined = new Set<string>();
  /** Halves dropped because too many were waiting for their other half. */
  dropped = 0;

  constructor(
    private readonly maxWaiting = 10_000,
    private readonly rememberJoined = 10_000,
  ) {}

  /** The joined pair when its commission report came already; undefined while it waits (or when a repeat). */
  addExecution(execution: Execution): JoinedExecution | undefined {
    if (this.joined.has(execution.execId)) return undefined;
    const commission = this.commissions.get(execution.execId);
    if (commission === undefined) {
      this.wait(this.executions, execution.execId, execution);
      return undefined;
    }
    return this.join(execution, commission);
  }

  /** The joined pair when its execution came already; undefined while it waits (or when a repeat). */
  addCommission(commission: CommissionReport): JoinedExecution | undefined {
    if (this.joined.has(commission.execId)) return undefined;
    const execution = this.executions.get(commission.execId);
    if (execution === undefined) {
      this.wait(this.commissions, commission.execId, commission);
      return undefined;
    }
    return this.join(execution, commission);
  }

  /** Executions still waiting for their commission report, oldest first. */
  waitingExecutions(): Execution[] {
    return [...this.executions.values()];
  }

  get waitingCommissions(): number {
    return this.commissions.size;
  }

  private join(execution: Execution, commission: CommissionReport): JoinedExecution {
    this.executions.delete(execution.execId);
    this.commissions.delete(execution.execId);
    this.joined.add(execution.execId);
    if (this.joined.size > this.rememberJoined) this.joined.delete(this.joined.values().next().value!);
    return { execution, commission };
  }

  private wait<T>(waiting: Map<string, T>, execId: string, half: T): void {
    // Re-inserted: a repeat replaces the half (a later one is no less true) and counts as newest.
    waiting.delete(execId);
    waiting.set(execId, half);
    if (waiting.size > this.maxWaiting) {
      waiting.delete(waiting.keys().next().value!);
      this.dropped++;
    }
  }
}
