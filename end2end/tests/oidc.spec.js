// Sign-in through the company identity provider: the test OpenID provider's own login page
// (panva oidc-provider, started by global-setup.js), back to the page asked for, and
// sign-out that ends both sessions so the back button shows nothing private.
import { test, expect, expectNoErrors } from './fixtures.js';

test('sign in through the identity provider, land where you asked, sign out for good', async ({ page, errors }) => {
  await page.goto('/sign-in?next=/approvals');
  await page.getByRole('button', { name: 'Sign in with your company account' }).click();

  // The provider's login page (another origin).
  await page.waitForURL((url) => url.origin === 'http://127.0.0.1:9400');
  await expect(page.getByRole('heading', { name: 'Sign-in' })).toBeVisible();
  await page.locator('input[name="login"]').fill('ada');
  await page.locator('input[name="password"]').fill('ada-password');
  await page.getByRole('button', { name: 'Sign-in' }).click();

  await page.waitForURL((url) => url.pathname === '/approvals');
  await expect(page.getByRole('heading', { level: 1, name: 'Approvals' })).toBeVisible();
  await expect(page.getByText('Signed in as')).toContainText('Ada Admin');
  await page.waitForFunction(() => document.querySelector('.nav-toggle')?.getAttribute('data-hydrated') === 'true');

  // Sign out: Gatehouse's session ends, then the provider asks to confirm its own.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.origin === 'http://127.0.0.1:9400');
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL((url) => url.pathname === '/sign-in');

  // Back to the page seen while signed in: the browser asks the server again (no-store),
  // which now answers signed out.
  await page.goBack();
  await page.goBack();
  await page.waitForURL((url) => url.pathname === '/approvals');
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByText('Signed in as')).toHaveCount(0);
  // The provider's own pages try to load a web font and a favicon it does not have
  // (no network here); only Gatehouse's pages must be free of errors.
  errors.consoleErrors = errors.consoleErrors.filter((line) => !line.startsWith('http://127.0.0.1:9400/'));
  expectNoErrors(errors);
});
