// HR inbound: an administrator makes a SCIM token in the browser (shown once), an HR
// system (Node's own HTTP client) pushes a person with it, the page shows its last use,
// and a revoked token is refused. With and without JavaScript; axe on the page.
import { test, expect, expectNoErrors, devSignIn, axeSeriousViolations, formatViolations } from './fixtures.js';

async function hydrated(page) {
  await page.waitForFunction(() => document.querySelector('.nav-toggle')?.getAttribute('data-hydrated') === 'true');
}

async function scim(baseURL, token, method, path, body) {
  const response = await fetch(`${baseURL}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? 'with' : 'without';
  test(`an administrator makes, uses and revokes an HR token ${mode} JavaScript`, async ({ browser, baseURL, errors }) => {
    const context = await browser.newContext({ baseURL, javaScriptEnabled });
    const suffix = `${mode}-${Date.now().toString(36)}`;
    try {
      const page = errors.track(await context.newPage());
      await devSignIn(page, 'Ada Admin');
      await page.goto('/manage/scim');
      if (javaScriptEnabled) await hydrated(page);
      await expect(page.getByRole('heading', { name: 'HR inbound', level: 1 })).toBeVisible();
      await expect(page.locator('code')).toContainText('/scim/v2');

      // A token needs a name: refused next to the field, nothing made.
      await page.getByRole('button', { name: 'Make token' }).click();
      await expect(page.locator('.error-summary')).toContainText('Name the token');
      await expect(page.locator('#new-token')).toHaveCount(0);

      await page.getByLabel('Name of the system that will use it').fill(`Workday ${suffix}`);
      await page.getByRole('button', { name: 'Make token' }).click();
      const shown = page.locator('#new-token');
      await expect(shown).toBeVisible();
      const token = await shown.inputValue();
      expect(token).toMatch(/^[0-9a-f]{64}$/);

      if (javaScriptEnabled) {
        const found = await axeSeriousViolations(page);
        expect(found, `axe on the HR inbound page:\n${formatViolations(found)}`).toEqual([]);
      }

      // The HR system pushes a person with it, and finds them by a filter.
      const userName = `hr-${suffix}@example.com`;
      const created = await scim(baseURL, token, 'POST', '/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
        userName,
        name: { givenName: 'Hedy', familyName: 'Lamarr' },
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Research' },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const listed = await scim(baseURL, token, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
      expect(listed.body.totalResults).toBe(1);
      expect(listed.body.Resources[0].displayName).toBe('Hedy Lamarr');

      // Shown once: a reload shows the token's name and use, not the token.
      await page.goto('/manage/scim');
      if (javaScriptEnabled) await hydrated(page);
      await expect(page.locator('#new-token')).toHaveCount(0);
      const row = page.locator('tr', { hasText: `Workday ${suffix}` });
      await expect(row).toBeVisible();
      await expect(row.locator('td').nth(3)).not.toHaveText('never');
      expect(await page.content()).not.toContain(token);

      await row.getByRole('button', { name: /Revoke/ }).click();
      await expect(page.locator('tr', { hasText: `Workday ${suffix}` })).toContainText('revoked');
      const refused = await scim(baseURL, token, 'GET', '/Users');
      expect(refused.status).toBe(401);
      expect(refused.body.status).toBe('401');
    } finally {
      await context.close();
    }
    // With JavaScript the refused empty name is a 400 from the server function.
    expectNoErrors(errors, javaScriptEnabled ? [/status of 400 \(Bad Request\).*\/api\/create_scim_token/] : []);
  });
}
