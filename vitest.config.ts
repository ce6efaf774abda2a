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
      // The SDK warns that releases after January 2027 need Node 22; the pinned versions run on 20.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
