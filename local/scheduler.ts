/**
 * The EventBridge schedule that invokes the aggregate function to publish windows made final while no batch
 * came along (every shard idle). On AWS it runs every minute; locally every few seconds, so that a window
 * turns up in /emitted soon after it is final.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './aws-clients.ts';
import { invokeFunction, type LocalFunction } from './lambda-runtime.ts';

export interface Schedule {
  stop(): Promise<void>;
}

export function startSchedule(
  fn: LocalFunction<ScheduledEvent, unknown>,
  everyMs: number,
  log: (line: string) => void,
): Schedule {
  let running: Promise<void> | undefined;
  const tick = () => {
    // A run still going (a large backlog of windows) is not overlapped, as EventBridge-triggered runs could be.
    if (running) return;
    const time = new Date().toISOString();
    const event: ScheduledEvent = {
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: LOCAL_ACCOUNT_ID,
      time,
      region: LOCAL_REGION,
      resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/eddy-emit-final-windows`],
      detail: {},
    };
    running = invokeFunction(fn, event)
      .then(
        () => undefined,
        (err: unknown) => log(`[schedule] ${fn.name} failed: ${(err as Error).message}`),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
