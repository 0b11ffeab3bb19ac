// Home page, development sign-in, hydration, accessibility and no-JS checks.
// Every test fails on an uncaught page error or a console error.
import { test, expect, expectNoErrors, devSignIn, axeSeriousViolations, formatViolations } from './fixtures.js';

test('home page is server-rendered', async ({ request, errors }) => {
  const res = await request.get('/');
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toContain('text/html');
  const html = await res.text();
  expect(html).toContain('<h1');
  expect(html).toContain('Development mode');
  expectNoErrors(errors);
});

test('sign in with development sign-in', async ({ page, errors }) => {
  const label = await devSignIn(page, 'Alice');
  expect(new URL(page.url()).pathname).toBe('/');
  const welcome = page.getByRole('heading', { name: /Welcome/ });
  await expect(welcome).toBeVisible();
  await expect(welcome).toContainText('Alice');
  expect(label).toContain('Alice');
  for (const name of ['My access', 'My requests', 'Waiting for me']) {
    await expect(page.getByRole('heading', { name })).toBeVisible();
  }
  expectNoErrors(errors);
});

test('hydration: the menu button toggles the navigation on a phone', async ({ page, errors }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/', { waitUntil: 'load' });
  await page.waitForFunction(
    () => document.querySelector('.nav-toggle')?.getAttribute('data-hydrated') === 'true',
    null,
    { timeout: 20_000 },
  );
  const toggle = page.getByRole('button', { name: 'Menu' });
  await expect(toggle).toHaveClass(/nav-toggle/);
  await expect(toggle).toHaveAttribute('aria-controls', 'site-nav');
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(page.locator('#site-nav')).toBeHidden();

  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(page.locator('#site-nav')).toBeVisible();

  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(page.locator('#site-nav')).toBeHidden();
  expectNoErrors(errors);
});

test('my access opens its timeline and its state in connected systems', async ({ page, errors }) => {
  await devSignIn(page, 'Alice');
  const access = page.getByRole('region', { name: 'My access' }).first().getByRole('link').first();
  const name = (await access.textContent()).trim();
  await access.click();
  await page.waitForURL((u) => /^\/access\/\d+$/.test(u.pathname));
  await expect(page.getByRole('heading', { level: 1 })).toContainText(name);
  await expect(page.getByRole('heading', { name: 'Timeline' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'In connected systems' })).toBeVisible();
  await expect(page.locator('ol.timeline li').first()).toContainText(/Granted|Starts/);
  expectNoErrors(errors);
});

test('accessibility: no serious or critical axe violations', async ({ page, errors }) => {
  const scan = async (what) => {
    const found = await axeSeriousViolations(page);
    expect(found, `axe on ${what} (${page.url()}):\n${formatViolations(found)}`).toEqual([]);
  };
  await page.goto('/', { waitUntil: 'load' });
  await scan('home, signed out');
  await page.goto('/sign-in', { waitUntil: 'load' });
  await scan('sign-in');
  await devSignIn(page, 'Alice');
  await expect(page.getByRole('heading', { name: /Welcome/ })).toBeVisible();
  await scan('home, signed in');
  for (const [path, what] of [['/catalog', 'request catalog'], ['/catalog/2', 'request form'], ['/approvals', 'approvals inbox'], ['/requests/1', 'request timeline'], ['/access/2', 'access timeline'], ['/access/2/extend', 'extension form'], ['/manage', 'managed packages'], ['/manage/packages/1', 'package holders'], ['/manage/catalogs', 'catalogs'], ['/manage/catalogs/1', 'catalog'], ['/manage/packages/1/policies/1', 'policy editor'], ['/manage/packages/1/policies/new', 'new policy'], ['/manage/conflicts', 'separation of duties report'], ['/manage/mail', 'mail queue'], ['/manage/connectors', 'connectors'], ['/settings', 'mail settings'], ['/dev/mail', 'development mail']]) {
    await page.goto(path, { waitUntil: 'load' });
    await scan(what);
  }
  // The administrators' pages, as an administrator.
  await devSignIn(page, 'Ada Admin');
  for (const [path, what] of [['/manage/mail', 'mail queue (administrator)'], ['/manage/connectors', 'connectors (administrator)'], ['/manage/scim', 'HR inbound (administrator)']]) {
    await page.goto(path, { waitUntil: 'load' });
    await scan(what);
  }
  expectNoErrors(errors);
});

test('sign in works without JavaScript', async ({ browser, baseURL, errors }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  try {
    const page = errors.track(await context.newPage());
    await devSignIn(page, 'Alice');
    const welcome = page.getByRole('heading', { name: /Welcome/ });
    await expect(welcome).toBeVisible();
    await expect(welcome).toContainText('Alice');
  } finally {
    await context.close();
  }
  expectNoErrors(errors);
});
