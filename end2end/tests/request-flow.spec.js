// The request -> approval -> assignment flow through the pages: a two-stage policy
// (manager, then package owner) with JavaScript, and a one-stage one without it.
import { test, expect, expectNoErrors, devSignIn } from './fixtures.js';

async function openPackage(page, name) {
  await page.goto('/catalog');
  await page.getByLabel('Search packages').fill(name.split(' ')[0]);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
}

async function decide(page, requester, pkg, button) {
  await page.goto('/approvals');
  const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: `${requester} requests ${pkg}` }) });
  await expect(card).toBeVisible();
  await card.getByRole('button', { name: button }).click();
  await expect(page.getByRole('heading', { name: `${requester} requests ${pkg}` })).toHaveCount(0);
}

test('a two-stage request is approved by the manager, then the owner', async ({ browser, baseURL, errors }) => {
  const pkg = 'Production database (read-only)';
  const as = async (who, steps) => {
    const context = await browser.newContext({ baseURL });
    const page = errors.track(await context.newPage());
    await devSignIn(page, who);
    await page.waitForFunction(() => document.querySelector('.nav-toggle')?.getAttribute('data-hydrated') === 'true');
    await steps(page);
    await context.close();
  };

  await as('Fatima', async (page) => {
    await openPackage(page, pkg);
    // The refused submit below must go through the hydrated form (it logs the 400).
    await page.waitForFunction(() => document.querySelector('.nav-toggle')?.getAttribute('data-hydrated') === 'true');
    // A justification is required: submitting without one is refused next to the field.
    await page.getByRole('button', { name: 'Submit request' }).click();
    await expect(page.locator('.error-summary')).toContainText('Say why you need this.');
    await expect(page.locator('#justification-error')).toHaveText('Say why you need this.');
    await page.getByLabel('Why do you need it?').fill('Investigating incident INC-31');
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    const row = page.getByRole('row').filter({ hasText: pkg });
    await expect(row).toContainText('Pending approval');
    await expect(row).toContainText('Stage 1 of 2');
  });
  await as('Alice', (page) => decide(page, 'Fatima Farouk', pkg, 'Approve'));
  await as('Ada Admin', (page) => decide(page, 'Fatima Farouk', pkg, 'Approve'));
  await as('Fatima', async (page) => {
    const access = page.getByRole('region', { name: 'My access' });
    await expect(access.getByRole('row').filter({ hasText: pkg })).toContainText('Active');
  });
  // The refused first submit answered 400, which Chromium logs; nothing else may appear.
  expectNoErrors(errors, [/status of 400 \(Bad Request\).*\/api\/submit_request/]);
});

test('the flow works without JavaScript', async ({ browser, baseURL, errors }) => {
  const pkg = 'GitHub organisation';
  const as = async (who, steps) => {
    const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
    const page = errors.track(await context.newPage());
    await devSignIn(page, who);
    await steps(page);
    await context.close();
  };
  await as('George', async (page) => {
    await openPackage(page, pkg);
    await page.getByLabel('Why do you need it? (optional)').fill('Data pipelines live there');
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await expect(page.getByRole('row').filter({ hasText: pkg })).toContainText('Pending approval');
  });
  await as('Alice', (page) => decide(page, 'George Gray', pkg, 'Approve'));
  await as('George', async (page) => {
    const access = page.getByRole('region', { name: 'My access' });
    await expect(access.getByRole('row').filter({ hasText: pkg })).toContainText('Active');
  });
  expectNoErrors(errors);
});
