import { defineConfig } from 'vitest/config'

// End-to-end tests: the built page (dist/) served on 127.0.0.1, driven in Chromium (e2e/browser.ts).
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
})
