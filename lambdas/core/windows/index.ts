/** The window assigner of each window kind; see window-assigner.ts. */
import type { WindowSpec } from '../config.ts';
import { SessionAssigner } from './session.ts';
import { SlidingAssigner } from './sliding.ts';
import type { WindowAssigner } from './window-assigner.ts';

export * from './window-assigner.ts';

export function windowAssigner(spec: WindowSpec): WindowAssigner {
  return spec.type === 'session' ? new SessionAssigner(spec) : new SlidingAssigner(spec);
}
