// Setting up what can be requested, in the browser: an administrator creates a catalog,
// a resource, a package and a two-stage policy with a question; an employee then sees
// the question. Bad input is refused next to its field, with and without JavaScript.
import { test, expect, expectNoErrors, devSignIn } from './fixtures.js';

async function hydrated(page) {
  await page.waitForFunction(() => document.querySelector('.nav-toggle')?.getAttribute('data-hydrated') === 'true');
}

test('an administrator sets up a package and its policy', async ({ page, errors }) => {
  const suffix = Date.now().toString(36);
  const catalog = `IT Operations ${suffix}`;
  const pkg = `Pager duty ${suffix}`;
  await devSignIn(page, 'Ada Admin');
  await page.goto('/manage/catalogs');
  await hydrated(page);

  // An empty name is refused next to the field and creates nothing.
  await page.getByRole('button', { name: 'Create catalog' }).click();
  await expect(page.locator('.error-summary')).toContainText('Enter a name.');
  await expect(page.locator('#name-error')).toHaveText('Enter a name.');

  await page.getByLabel('Name').fill(catalog);
  await page.getByLabel('Owners (optional)').fill('ben.brooks@example.com');
  await page.getByRole('button', { name: 'Create catalog' }).click();
  await expect(page.getByRole('heading', { level: 1, name: catalog })).toBeVisible();

  await page.locator('#resource-name').fill('On-call rota');
  await page.getByRole('button', { name: 'Add resource' }).click();
  await expect(page.locator('.table-wrap[aria-label="Resources"]')).toContainText('On-call rota');

  await page.locator('#package-name').fill(pkg);
  await page.locator('#package-description').fill('Be paged for incidents.');
  await page.getByRole('button', { name: 'Create package' }).click();
  await expect(page.getByRole('heading', { level: 1, name: pkg })).toBeVisible();

  await page.getByRole('link', { name: 'Add a policy' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New assignment policy' })).toBeVisible();
  await page.locator('#name').fill('Engineers on call');
  await page.locator('[id="questions[0][text]"]').fill('Which rota?');
  await page.locator('[id="questions[0][choices]"]').fill('Platform\nPayments');
  await page.locator('[id="questions[0][required]"]').check();
  // Stage 2 by named people, but nobody named and no fallback: refused next to it.
  await page.getByText('Stage 2 (not used)').click();
  await page.locator('[id="stages[1][approver_kind]"]').selectOption('named_people');
  await page.locator('#duration_value').fill('0');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.locator('.error-summary')).toContainText('There are problems with 2 fields.');
  await expect(page.locator('[id="stages[1][approvers]-error"]')).toContainText('no approvers and no fallback');
  await expect(page.locator('#duration_value-error')).toContainText('from 1 to 3650');
  await page.locator('[id="stages[1][approver_kind]"]').selectOption('package_owners');
  await page.locator('#duration_value').fill('30');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByRole('heading', { level: 1, name: pkg })).toBeVisible();
  const policies = page.locator('.table-wrap[aria-label="Assignment policies"]');
  await expect(policies).toContainText('Engineers on call');
  await expect(policies).toContainText('2 stages');

  // A requester sees the question; the package is in the new catalog's filter.
  await page.goto(`/catalog?catalog=${encodeURIComponent(catalog)}`);
  await page.getByRole('link', { name: pkg }).click();
  await expect(page.getByLabel('Which rota?')).toBeVisible();

  expectNoErrors(errors, [/status of 400 \(Bad Request\).*\/api\/save_(catalog|policy)/]);
});

test('settings forms work without JavaScript', async ({ browser, baseURL, errors }) => {
  const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
  try {
    const page = errors.track(await context.newPage());
    await devSignIn(page, 'Ada Admin');
    await page.goto('/manage/packages/1/policies/new');
    await page.locator('#name').fill('');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect(page.locator('.error-summary')).toContainText('Enter a name.');
    await page.locator('#name').fill('Contractors');
    await page.locator('#requestor_scope-attribute_rule').check();
    await page.locator('#requestor_rule').fill('employee_type = contractor');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.waitForURL((url) => url.pathname === '/manage/packages/1');
    await expect(page.locator('.table-wrap[aria-label="Assignment policies"]')).toContainText('Contractors');
    await expect(page.locator('.table-wrap[aria-label="Assignment policies"]')).toContainText('People matching an attribute rule');
  } finally {
    await context.close();
  }
  expectNoErrors(errors);
});
