/** The local Lambda runtime refuses and fails what Lambda does: payload limits and the function timeout. */
import { describe, expect, it } from 'vitest';
import {
  InvocationTimeoutError,
  invokeFunction,
  MAX_REQUEST_PAYLOAD_BYTES,
  RequestTooLargeError,
} from '../../local/lambda-runtime.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('local Lambda runtime', () => {
  it('fails an invocation that runs past its timeout, with Lambda’s message', async () => {
    const slow = invokeFunction({ name: 'slow', timeoutSeconds: 0.05, handler: () => sleep(1_000) }, {});

    await expect(slow).rejects.toThrow(new InvocationTimeoutError('Task timed out after 0.05 seconds'));
  });

  it('returns the result of an invocation that ends within its timeout', async () => {
    const fast = await invokeFunction({ name: 'fast', timeoutSeconds: 1, handler: async () => 'ok' }, {});

    expect(fast.result).toBe('ok');
  });

  it('refuses an event over 6 MB without running the handler', async () => {
    let ran = false;
    const big = { body: 'x'.repeat(MAX_REQUEST_PAYLOAD_BYTES) };

    const invocation = invokeFunction({ name: 'big', handler: async () => (ran = true) }, big);

    await expect(invocation).rejects.toBeInstanceOf(RequestTooLargeError);
    expect(ran).toBe(false);
  });

  it('fails an invocation whose result is over Lambda’s 6 MB response limit', async () => {
    const invocation = invokeFunction({ name: 'chatty', handler: async () => 'x'.repeat(6_300_000) }, {});

    await expect(invocation).rejects.toThrow(/Response payload size exceeded maximum allowed payload size/);
  });
});
