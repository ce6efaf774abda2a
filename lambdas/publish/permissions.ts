/**
 * What the publish function may call: the results bus and the Alerts topic. (Its table stream is read by the
 * event source mapping.)
 */
import { ALERTS_TOPIC_PERMISSIONS } from '../adapters/alerts-topic.ts';
import { mergePermissions } from '../adapters/permissions.ts';
import { RESULTS_BUS_PERMISSIONS } from '../adapters/results-bus.ts';

export const PUBLISH_PERMISSIONS = mergePermissions([...RESULTS_BUS_PERMISSIONS, ...ALERTS_TOPIC_PERMISSIONS]);
