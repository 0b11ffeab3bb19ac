// Approving from an email: the manager's message arrives at a real SMTP server (MailDev),
// its link opens in Chromium, the manager signs in and approves, the requester's
// "approved" message arrives, and the same link then says it was already used.
import { test, expect, expectNoErrors, devSignIn } from './fixtures.js';
import { readState } from '../state.js';

const mailApi = () => process.env.GATEHOUSE_E2E_MAIL_API || readState()?.mailApi;

/** Waits for messages to `to` whose subject starts with `subject`; returns them. */
async function waitForMail(to, subject) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const list = await (await fetch(`${mailApi()}/api/email`)).json();
    const found = list.filter(
      (m) => (m.to || []).some((t) => t.address === to) && (m.subject || '').startsWith(subject),
    );
    if (found.length) return found;
    if (Date.now() > deadline) {
      throw new Error(`no message to ${to} "${subject}…"; arrived: ${list.map((m) => m.subject).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function actionLink(text) {
  const match = text.match(/https?:\/\/\S+\/act\/[0-9a-f]{64}/);
  expect(match, `an action link in:\n${text}`).toBeTruthy();
  return match[0];
}

async function requestSalesforce(page, who) {
  await devSignIn(page, who);
  await page.goto('/catalog');
  await page.getByLabel('Search packages').fill('Salesforce');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'Salesforce' }).click();
  await page.getByLabel(/Why do you need it/).fill('Covering the northern accounts');
  await page.getByRole('button', { name: 'Submit request' }).click();
  await page.waitForURL((url) => url.pathname === '/');
}

for (const javaScriptEnabled of [true, false]) {
  const requester = javaScriptEnabled ? 'Uma Usman' : 'Wendy Wu';
  const email = javaScriptEnabled ? 'uma.usman@example.com' : 'wendy.wu@example.com';
  test(`a manager approves from the email link (${javaScriptEnabled ? 'with' : 'without'} JavaScript)`, async ({ browser, baseURL, errors }) => {
    const employee = await browser.newContext({ baseURL, javaScriptEnabled });
    await requestSalesforce(errors.track(await employee.newPage()), requester.split(' ')[0]);
    await employee.close();

    const [message] = await waitForMail('sam.sutton@example.com', `Approval needed: ${requester} requests Salesforce`);
    expect(message.text).toContain('Hello Sam Sutton,');
    expect(message.html).toContain('Approve or deny');
    const link = actionLink(message.text);
    expect(message.html).toContain(`href="${link}"`);

    // The manager opens the link in a browser that is not signed in, signs in, comes back.
    const manager = await browser.newContext({ baseURL, javaScriptEnabled });
    const page = errors.track(await manager.newPage());
    await page.goto(link);
    await expect(page.getByRole('heading', { level: 1, name: 'Sign in to continue' })).toBeVisible();
    await expect(page.getByText(requester)).toHaveCount(0);
    await page.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
    const person = page.getByLabel('Person');
    const labels = (await person.locator('option').allTextContents()).map((s) => s.trim());
    await person.selectOption({ label: labels.find((l) => l.includes('Sam Sutton')) });
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/act/'));
    await expect(page.getByRole('heading', { level: 1, name: `${requester} requests Salesforce` })).toBeVisible();
    await page.getByLabel('Comment (optional)').fill('Approved from my inbox');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/requests/'));
    await expect(page.locator('main')).toContainText(/Delivered|Approved/);

    const [outcome] = await waitForMail(email, 'Approved: Salesforce');
    expect(outcome.text).toContain('Sam Sutton approved the request for "Salesforce"');

    // The same link again: already used.
    await page.goto(link);
    await expect(page.getByRole('heading', { level: 1, name: 'This link was already used' })).toBeVisible();
    await manager.close();
    expectNoErrors(errors);
  });
}

test('a link that was altered says so', async ({ page, errors }) => {
  await devSignIn(page, 'Sam Sutton');
  await page.goto(`/act/${'0'.repeat(64)}`);
  await expect(page.getByRole('heading', { level: 1, name: 'This link is not valid' })).toBeVisible();
  expectNoErrors(errors);
});
