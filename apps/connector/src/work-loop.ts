import type { Clock } from '@tuvens/server';
import type { FastifyBaseLogger } from 'fastify';

/** A background loop over work queued in the database: it claims what is due, then waits for more. */
export interface WorkLoop {
  /** Keeps working in the background until `stop`. */
  start(): void;
  /** Ends the loop once the round under way, and then `drain`, have ended. */
  stop(): Promise<void>;
  /** Ends the current wait at once (work was queued, or room was freed); else the next wait is skipped. */
  wake(): void;
  /**
   * Ends the current wait if it would last past `at`, and only then: a burst of work due later wakes
   * nothing. Outside a wait it does nothing, so `nextDueAt` must itself count `at` in when next asked.
   */
  wakeBefore(at: Date): void;
}

export interface WorkLoopOptions {
  /** Names the loop in its log lines. */
  name: string;
  clock: Clock;
  log: FastifyBaseLogger;
  /** The longest wait between rounds, and the wait after a round that failed. */
  pollIntervalMs: number;
  /** Claims and runs what is due; answers whether more may be due already, to go again without waiting. */
  runRound(): Promise<boolean>;
  /** When the next work falls due, if that is known (and worth waking for). */
  nextDueAt(): Promise<Date | undefined>;
  /** Awaited once the loop has left its last round, before `stop` resolves. */
  drain?(): Promise<void>;
}

/**
 * Runs rounds until stopped, waiting between them until the next work falls due, `wake` is called or
 * `pollIntervalMs` passes. A round that throws (the database is out of reach) is logged and tried again
 * after `pollIntervalMs`: everything needed to resume lives in the database.
 */
export function createWorkLoop(options: WorkLoopOptions): WorkLoop {
  const { name, clock, log, pollIntervalMs } = options;
  let running: Promise<void> | undefined;
  let stopping = false;
  let signal: (() => void) | undefined;
  let signalled = false;
  /** While the loop waits: when it will look again. */
  let sleepingUntil: number | undefined;

  function wake(): void {
    if (signal) signal();
    else signalled = true;
  }

  function wakeBefore(at: Date): void {
    if (sleepingUntil !== undefined && at.getTime() < sleepingUntil) wake();
  }

  async function waitForWork(): Promise<void> {
    if (signalled) {
      signalled = false;
      return;
    }
    const due = await options.nextDueAt();
    const now = clock().getTime();
    const waitMs = Math.max(0, Math.min(pollIntervalMs, (due?.getTime() ?? Number.POSITIVE_INFINITY) - now));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      sleepingUntil = now + waitMs;
      signal = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    sleepingUntil = undefined;
    signal = undefined;
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      try {
        if (await options.runRound()) continue;
        await waitForWork();
      } catch (error) {
        if (stopping) break;
        log.error({ err: error }, `${name} could not reach its database; trying again`);
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    }
    await options.drain?.();
  }

  return {
    start() {
      if (running) return;
      stopping = false;
      running = loop().finally(() => {
        running = undefined;
      });
    },
    async stop() {
      stopping = true;
      wake();
      await running;
    },
    wake,
    wakeBefore,
  };
}
