/**
 * Final window results → EventBridge. PutEvents can accept a call and still refuse some of its entries
 * (`FailedEntryCount`): that is thrown, never logged and dropped, so the caller's batch is retried.
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { Permission } from './permissions.ts';

/** The bus's only call. */
export const RESULTS_BUS_PERMISSIONS: readonly Permission[] = [
  { resource: 'resultsBus', actions: ['events:PutEvents'] },
];

/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_LIMIT = 10;

export class ResultsBus {
  constructor(private readonly client: EventBridgeClient) {}

  /** Puts every entry, 10 per call; throws if EventBridge refused any. */
  async put(entries: readonly PutEventsRequestEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += PUT_EVENTS_LIMIT) {
      const chunk = entries.slice(i, i + PUT_EVENTS_LIMIT);
      const out = await this.client.send(new PutEventsCommand({ Entries: chunk }));
      if (out.FailedEntryCount) {
        const first = out.Entries?.find((e) => e.ErrorCode);
        throw new Error(
          `EventBridge refused ${out.FailedEntryCount} of ${chunk.length} results: ${first?.ErrorCode} ${first?.ErrorMessage}`,
        );
      }
    }
  }
}
