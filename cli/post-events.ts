/**
 * One POST /events, retried the way the API asks producers to: with the same Idempotency-Key, so a retry of a
 * request whose answer was lost is not counted twice. Retried: network failures, 409 (the same key is being
 * handled), 429, and 5xx (503 after its retry-after). Not retried: 2xx and the 4xx that name what is wrong.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reply } from './api-client.ts';
import { type Api, UnreachableError } from './connection.ts';

export interface Rejection {
  /** Position of the event in the request. */
  readonly index: number;
  readonly error: string;
}

export interface PostOutcome {
  /** The last answer's status; null when the API could not be reached. */
  readonly status: number | null;
  readonly accepted: number;
  /** Every event not accepted: by index as the API listed them, or all of them when the request was refused. */
  readonly rejected: readonly Rejection[];
  /** A request refused as a whole (or never answered): the status and the body as the API wrote them. */
  readonly refused: string | null;
  readonly attempts: number;
  /** Time of the last attempt, sent to answered. */
  readonly ms: number;
  /** performance.now() when the last attempt was answered. */
  readonly answeredAt: number;
}

export interface PostRequest {
  readonly body: string;
  readonly contentType: 'application/json' | 'application/x-ndjson';
  /** Events in the body, to reject them all when the request is refused as a whole. */
  readonly events: number;
  readonly idempotencyKey: string;
}

const MAX_ATTEMPTS = 6;
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

function retryable(status: number): boolean {
  return status === 409 || status === 429 || status >= 500;
}

export async function postEvents(api: Api, request: PostRequest): Promise<PostOutcome> {
  let attempt = 0;
  for (;;) {
    attempt++;
    let reply: Reply | null = null;
    let failure = '';
    try {
      reply = await api.call('POST', '/events', {
        body: request.body,
        contentType: request.contentType,
        headers: { 'idempotency-key': request.idempotencyKey },
      });
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      failure = err.message;
    }
    const answeredAt = performance.now();
    if (reply !== null && !retryable(reply.status)) return outcome(reply, request, attempt, answeredAt);
    if (attempt >= MAX_ATTEMPTS) {
      if (reply !== null) return outcome(reply, request, attempt, answeredAt);
      return refused(request, null, failure, attempt, 0, answeredAt);
    }
    const after = Number(reply?.headers.get('retry-after'));
    const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
    await sleep(Number.isFinite(after) && after > 0 ? Math.max(backoff, after * 1_000) : backoff);
  }
}

function outcome(reply: Reply, request: PostRequest, attempts: number, answeredAt: number): PostOutcome {
  const body = reply.body as { accepted?: unknown; rejected?: unknown } | null;
  // 202, 207, and the 400 of a request whose every event was invalid list the rejected events by index.
  if (typeof body?.accepted === 'number' && Array.isArray(body.rejected)) {
    return {
      status: reply.status,
      accepted: body.accepted,
      rejected: (body.rejected as Rejection[]).map((r) => ({ index: r.index, error: r.error })),
      refused: reply.status >= 200 && reply.status <= 299 ? null : `${reply.status} ${reply.text}`,
      attempts,
      ms: reply.ms,
      answeredAt,
    };
  }
  return refused(request, reply.status, `${reply.status} ${reply.text}`, attempts, reply.ms, answeredAt);
}

function refused(
  request: PostRequest,
  status: number | null,
  error: string,
  attempts: number,
  ms: number,
  answeredAt: number,
): PostOutcome {
  const rejected = Array.from({ length: request.events }, (_, index) => ({ index, error }));
  return { status, accepted: 0, rejected, refused: error, attempts, ms, answeredAt };
}
