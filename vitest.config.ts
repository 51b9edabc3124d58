import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests import the code as Node does (TypeScript stripped by tsx, as `npm run` scripts
    // do), not through Vite's module runner: its transform makes every imported binding a
    // getter, and the fingerprint search, calling imported helpers in its inner loops, ran
    // 3–4× slower under it than in the server (the bounded-work test's maximal check: 59 s
    // against 8.5 s), so tests measured code that never runs in production. No test uses
    // vi.mock, the one thing the runner would be needed for.
    execArgv: ['--import', 'tsx'],
    experimental: { viteModuleRunner: false, nodeLoader: false },
  },
});
