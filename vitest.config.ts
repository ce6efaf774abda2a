import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end suites each start their own emulators on free ports; two cores run two files at once.
    pool: 'forks',
    env: {
      // Handlers log one INFO line per batch; tests read results through the API instead.
      POWERTOOLS_LOG_LEVEL: 'WARN',
      // Handlers write their metrics as EMF JSON lines on stdout, for CloudWatch; here they would be noise.
      POWERTOOLS_METRICS_DISABLED: 'true',
      // No X-Ray daemon outside Lambda (the tracer also turns itself off when AWS_EXECUTION_ENV is unset).
      POWERTOOLS_TRACE_ENABLED: 'false',
      // The SDK warns that releases after January 2027 need Node 22; the pinned versions run on 20.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
