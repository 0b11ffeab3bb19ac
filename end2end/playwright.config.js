// Playwright configuration for Gatehouse browser tests.
//
// Uses Debian's Chromium (never `npx playwright install`). The global setup
// migrates a fresh SQLite database, seeds demo data and starts the built
// binary itself; see global-setup.js for the environment variables it reads.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: 'list',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  forbidOnly: !!process.env.CI,
  globalSetup: './global-setup.js',
  globalTeardown: './global-teardown.js',
  outputDir: './test-results',
  use: {
    // Set by global-setup.js before the workers start; tests/fixtures.js falls back to the state file.
    baseURL: process.env.GATEHOUSE_E2E_URL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
});
