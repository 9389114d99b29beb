import { defineConfig } from 'vitest/config'
import react from '@vitejs/plugin-react'

// base './': the built page works from any folder (file URLs and data paths are relative).
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.{ts,tsx}'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
  },
})
