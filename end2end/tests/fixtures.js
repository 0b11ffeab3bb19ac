// Test fixtures: the running app's base URL, page error/console error
// collectors that every test checks, and helpers (dev sign-in, axe scan).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { test as base, expect } from '@playwright/test';
import { readState } from '../state.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const test = base.extend({
  // The URL comes from global-setup.js (env for workers, state file as fallback).
  baseURL: async ({}, use) => {
    const url = process.env.GATEHOUSE_E2E_URL || readState()?.url;
    if (!url) throw new Error('Gatehouse URL unknown: global-setup.js did not run (is E2E_LIST_ONLY set?)');
    await use(url);
  },

  // Errors seen by any page of any context the test opens through `track`.
  // `page` is tracked automatically; contexts made by hand call track(page).
  errors: async ({}, use) => {
    const errors = { pageErrors: [], consoleErrors: [] };
    errors.track = (page) => {
      page.on('pageerror', (err) => errors.pageErrors.push(`${page.url()}: ${err.stack || err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') {
          const loc = msg.location();
          errors.consoleErrors.push(`${page.url()}: ${msg.text()} (${loc.url}:${loc.lineNumber})`);
        }
      });
      return page;
    };
    await use(errors);
  },

  page: async ({ page, errors }, use) => {
    errors.track(page);
    await use(page);
  },
});

/**
 * Every test ends with this: no uncaught page error and no console error. A test that
 * provokes an error on purpose (a refused form submits with a 400, which Chromium logs)
 * names it in `expected`; each expected pattern must then have been seen, and nothing else.
 */
export function expectNoErrors(errors, expected = []) {
  expect(errors.pageErrors, 'uncaught page errors').toEqual([]);
  for (const pattern of expected) {
    expect(errors.consoleErrors.some((line) => pattern.test(line)), `expected console error ${pattern}`).toBe(true);
  }
  const unexpected = errors.consoleErrors.filter((line) => !expected.some((pattern) => pattern.test(line)));
  expect(unexpected, 'console errors').toEqual([]);
}

/** Development sign-in as the first demo person whose option label contains `who`. */
export async function devSignIn(page, who = 'Alice') {
  await page.goto('/sign-in');
  const person = page.getByLabel('Person');
  await expect(person).toBeVisible();
  const labels = (await person.locator('option').allTextContents()).map((s) => s.trim());
  const label = labels.find((l) => l.includes(who));
  expect(label, `a demo person containing "${who}" among: ${labels.join(' | ')}`).toBeTruthy();
  await person.selectOption({ label });
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/');
  return label;
}

/**
 * Runs axe-core on the current page and returns its serious and critical violations.
 * The source goes in through page.evaluate (the DevTools protocol), which a strict
 * CSP without 'unsafe-inline' does not block, unlike addScriptTag({ content }).
 */
export async function axeSeriousViolations(page) {
  const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!hasAxe) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function formatViolations(violations) {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.targets.join('\n    ')}`).join('\n');
}

/**
 * Clicks a form's submit button and waits for the server's answer to the POST it sends:
 * the server function's JSON with JavaScript; without, its redirect and the page it
 * leads back to. The change is committed when this returns, so a reload sees it.
 */
export async function submitAndWait(page, button, javaScriptEnabled) {
  const posted = page.waitForResponse((response) => response.request().method() === 'POST');
  const back = javaScriptEnabled
    ? null
    : page.waitForRequest((request) => request.isNavigationRequest() && request.redirectedFrom()?.method() === 'POST');
  await button.click();
  const response = await posted;
  if (back) {
    await (await back).response();
    await page.waitForLoadState('load');
  }
  return response;
}

export { expect };
