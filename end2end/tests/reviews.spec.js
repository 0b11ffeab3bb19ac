// An access review from definition to removal downstream, in the browser, with and without
// JavaScript. An administrator connects a tenant of the real SCIM test server, adds one of
// its groups as the resource of a new package and gives the package to three people with
// the same manager (provisioned into the group); then defines a quarterly manager review
// of the package starting at the next whole minute. The instance starts at its time, the
// manager's message arrives at MailDev, the manager opens its link, signs in, removes one
// item with a reason and accepts the recommendations for the rest. The administrator ends
// the stage; the removal is applied, the person leaves the SCIM group and the report shows
// it verified; the CSV lists every item with its decision. axe checks the review pages.
import { test, expect, expectNoErrors, devSignIn, axeSeriousViolations, formatViolations, submitAndWait } from './fixtures.js';
import { readState } from '../state.js';

const state = () => readState() || {};
const mailApi = () => process.env.GATEHOUSE_E2E_MAIL_API || state().mailApi;

// ---- The SCIM server's own API (only for what Gatehouse's pages do not do) ------------------

/** One tenant of the SCIM test server (started with --dynamic-tenants by global-setup.js). */
function scimTenant(name) {
  const { scimUrl, scimToken } = state();
  if (!scimUrl) throw new Error('the SCIM test server is not running: global-setup.js did not start it');
  const base = `${scimUrl}/${name}/v2`;
  const call = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' },
      body: body && JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`SCIM ${method} ${path} answered ${res.status}: ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  return {
    base,
    async createGroup(displayName) {
      const group = await call('POST', '/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName,
      });
      return group.id;
    },
    /** The userNames of the group's members, sorted (the server never fills User.groups). */
    async memberNames(groupId) {
      const group = await call('GET', `/Groups/${groupId}`);
      const names = [];
      for (const member of group.members || []) {
        const user = await call('GET', `/Users/${member.value}`);
        names.push(user.userName);
      }
      return names.sort();
    },
  };
}

// ---- Mail ----------------------------------------------------------------------------------

/** Waits until a message to `to` whose subject is `subject` arrives; returns it. */
async function waitForMail(to, subject, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await (await fetch(`${mailApi()}/api/email`)).json();
    const found = list.filter((m) => (m.to || []).some((t) => t.address === to) && m.subject === subject);
    if (found.length) {
      expect(found, `one message "${subject}" to ${to}`).toHaveLength(1);
      return found[0];
    }
    if (Date.now() > deadline) {
      throw new Error(`no message "${subject}" to ${to}; arrived: ${list.map((m) => m.subject).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function actionLink(text) {
  const match = text.match(/https?:\/\/\S+\/act\/[0-9a-f]{64}/);
  expect(match, `an action link in:\n${text}`).toBeTruthy();
  return match[0];
}

// ---- CSV -----------------------------------------------------------------------------------

/** RFC 4180 rows (quoted cells, doubled quotes, CRLF). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else {
      cell += c;
    }
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

// ---- Pages ---------------------------------------------------------------------------------

async function expectNoSeriousAxe(page, what) {
  const found = await axeSeriousViolations(page);
  expect(found, `axe on ${what} (${page.url()}):\n${formatViolations(found)}`).toEqual([]);
}

/** `YYYY-MM-DDTHH:MM` (a datetime-local value, UTC) and `YYYY-MM-DD HH:MM UTC` (as shown). */
function utcMinute(date) {
  const iso = date.toISOString();
  return { input: iso.slice(0, 16), shown: `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` };
}

/** The next whole minute in UTC, at least 20 seconds away (the form must be saved before it). */
function nextWholeMinute() {
  const now = Date.now();
  let start = Math.ceil(now / 60_000) * 60_000;
  if (start - now < 20_000) start += 60_000;
  return new Date(start);
}

const RUNS = [
  {
    javaScriptEnabled: true,
    // A secret goes to one connector only: each run has its own (see global-setup.js).
    secret: 'SCIM_E2E_1',
    manager: { name: 'Alice Anders', email: 'alice.anders@example.com' },
    holders: [
      { name: 'Ben Brooks', email: 'ben.brooks@example.com' },
      { name: 'Chloe Chen', email: 'chloe.chen@example.com' },
      { name: 'Dev Patel', email: 'dev.patel@example.com' },
    ],
  },
  {
    javaScriptEnabled: false,
    secret: 'SCIM_E2E_2',
    manager: { name: 'Sam Sutton', email: 'sam.sutton@example.com' },
    holders: [
      { name: 'Sofia Silva', email: 'sofia.silva@example.com' },
      { name: 'Tom Turner', email: 'tom.turner@example.com' },
      { name: 'Xavier Xu', email: 'xavier.xu@example.com' },
    ],
  },
];

for (const { javaScriptEnabled, secret, manager, holders } of RUNS) {
  const mode = javaScriptEnabled ? 'with' : 'without';
  test(`a manager review removes denied access downstream (${mode} JavaScript)`, async ({ browser, baseURL, errors }) => {
    // The instance starts at the next whole minute: up to ~80 s of waiting, then the rest.
    test.setTimeout(240_000);
    const suffix = `${javaScriptEnabled ? 'js' : 'nojs'}-${Date.now().toString(36)}`;
    const connectorName = `Cloud SCIM ${suffix}`;
    const catalog = `Cloud ${suffix}`;
    const pkg = `Cloud admins ${suffix}`;
    const reviewName = `Quarterly review ${suffix}`;
    const denied = holders[1];
    const kept = holders.filter((h) => h !== denied);
    const reason = `Moved to another team (${suffix})`;

    const scim = scimTenant(`t${suffix.replace(/[^a-z0-9]/g, '')}`);
    const groupId = await scim.createGroup(`cloud-admins-${suffix}`);

    // axe runs where the page runs scripts: axe.run is asynchronous, and with JavaScript
    // disabled its promise never settles. The run with JavaScript checks the same pages.
    const axe = async (page, what) => {
      if (javaScriptEnabled) await expectNoSeriousAxe(page, what);
    };

    const adminContext = await browser.newContext({ baseURL, javaScriptEnabled });
    const admin = errors.track(await adminContext.newPage());
    const hydrated = async () => {
      if (javaScriptEnabled) {
        await admin.waitForFunction(() => document.querySelector('.nav-toggle')?.getAttribute('data-hydrated') === 'true');
      }
    };
    await devSignIn(admin, 'Ada Admin');

    // A connector to this test's tenant; its token comes from GATEHOUSE_SECRET_<secret>.
    expect(state().scimSecrets, 'global-setup.js passes the secret').toContain(secret);
    await admin.goto('/manage/connectors');
    await hydrated();
    await admin.locator('#connector-kind').selectOption('scim');
    await admin.locator('#connector-name').fill(connectorName);
    await admin.locator('#connector-url').fill(scim.base);
    await admin.locator('#connector-auth').selectOption('bearer');
    await admin.locator('#connector-secret_name').fill(secret);
    await admin.getByRole('button', { name: 'Add connector' }).click();
    const card = admin.getByRole('listitem').filter({ has: admin.getByRole('heading', { level: 2, name: connectorName }) });
    await expect(card).toContainText(`Secret from GATEHOUSE_SECRET_${secret} (set).`);

    // A catalog that may use the group, with the group as a resource of a new package.
    await admin.goto('/manage/catalogs');
    await hydrated();
    await admin.getByLabel('Name').fill(catalog);
    await admin.getByRole('button', { name: 'Create catalog' }).click();
    await expect(admin.getByRole('heading', { level: 1, name: catalog })).toBeVisible();
    await hydrated();
    await admin.locator('#allowance-connector_id').selectOption({ label: `${connectorName} (scim)` });
    await admin.locator('#allowance-groups').fill(groupId);
    await admin.getByRole('button', { name: 'Allow', exact: true }).click();
    await expect(admin.locator('.table-wrap[aria-label="Connectors this catalog may use"]')).toContainText(groupId);
    await admin.locator('#resource-name').fill(`cloud-admins-${suffix}`);
    await admin.locator('#resource-kind').selectOption('group');
    await admin.locator('#resource-connector_id').selectOption({ label: `${connectorName} (scim)` });
    await admin.locator('#resource-external_id').fill(groupId);
    await admin.getByRole('button', { name: 'Add resource' }).click();
    await expect(admin.locator('.table-wrap[aria-label="Resources"]')).toContainText(groupId);
    await admin.locator('#package-name').fill(pkg);
    await admin.locator('#package-description').fill('Administer the cloud accounts.');
    await admin.getByRole('button', { name: 'Create package' }).click();
    await expect(admin.getByRole('heading', { level: 1, name: pkg })).toBeVisible();
    await admin.waitForURL((u) => /^\/manage\/packages\/\d+$/.test(u.pathname));
    await hydrated();
    const resources = admin.getByRole('group', { name: 'Resources it grants, and the role in each' });
    await expect(resources.getByRole('combobox')).toHaveCount(1);
    await resources.getByRole('combobox').selectOption('member');
    // Without JavaScript the form posts and is redirected back; the reload below must come
    // after the save is answered, or it can read the package before the save committed.
    const saved = await submitAndWait(admin, admin.getByRole('button', { name: 'Save package' }), javaScriptEnabled);
    expect(saved.status(), 'the package is saved').toBeLessThan(400);
    if (javaScriptEnabled) await expect(admin.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
    await admin.reload();
    await expect(admin.getByRole('group', { name: 'Resources it grants, and the role in each' }).getByRole('combobox')).toHaveValue('member');

    // Direct assignments, provisioned into the SCIM group.
    await hydrated();
    for (const holder of holders) {
      await admin.locator('#person_id').selectOption({ label: holder.name });
      await admin.locator('#reason').fill('Cloud on-call rota');
      await admin.getByRole('button', { name: 'Assign', exact: true }).click();
      await expect(admin.locator('.table-wrap[aria-label="Holders"]')).toContainText(holder.name);
    }
    const everyone = holders.map((h) => h.email).sort();
    await expect
      .poll(() => scim.memberNames(groupId), { message: 'the holders are members of the SCIM group', timeout: 30_000 })
      .toEqual(everyone);

    // The review: the holders' managers, quarterly, from the next whole minute, applied automatically.
    await admin.goto('/manage/reviews');
    await hydrated();
    await axe(admin, 'the review list');
    await admin.getByRole('link', { name: 'New review' }).click();
    await admin.waitForURL((u) => u.pathname === '/manage/reviews/new');
    await expect(admin.getByRole('heading', { level: 1, name: 'New access review' })).toBeVisible();
    await hydrated();
    await axe(admin, 'the new review form');
    const start = nextWholeMinute();
    await admin.locator('#name').fill(reviewName);
    await admin.locator('#scope_kind').selectOption({ label: 'Chosen packages' });
    await admin.locator('#packages').fill(pkg);
    await admin.locator('[id="stages[0][reviewer_kind]"]').selectOption({ label: "The holder's manager" });
    await admin.locator('[id="stages[0][duration_days]"]').fill('14');
    await admin.locator('#start_at').fill(utcMinute(start).input);
    await admin.locator('#duration_days').fill('14');
    await admin.locator('#recurrence').selectOption('quarterly');
    await admin.locator('#apply_mode').selectOption('auto');
    await admin.getByRole('button', { name: 'Create review' }).click();
    await admin.waitForURL((u) => /^\/manage\/reviews\/\d+$/.test(u.pathname));
    await expect(admin.getByRole('heading', { level: 1, name: reviewName })).toBeVisible();
    const summary = admin.getByRole('region', { name: 'Summary' });
    await expect(summary).toContainText(utcMinute(start).shown);
    // Saved before its time: it has not run yet.
    expect(Date.now(), 'the review was saved before its start').toBeLessThan(start.getTime());
    await expect(admin.getByRole('region', { name: 'Runs' })).toContainText('This review has not run yet.');
    await hydrated();
    await axe(admin, 'the review definition');

    // It starts at its time: the manager's message arrives then.
    const message = await waitForMail(manager.email, `Access review: ${reviewName}`, start.getTime() - Date.now() + 60_000);
    const seen = Date.now();
    // MailDev's `time` is when the message was sent (its Date, to the second).
    expect(new Date(message.time).getTime(), 'the message was sent at the start or after').toBeGreaterThanOrEqual(start.getTime());
    expect(seen - start.getTime(), 'the instance started at its time (the message arrived seconds later)').toBeLessThan(20_000);
    expect(message.text).toContain(`You are asked to review 3 access assignments in "${reviewName}"`);
    const link = actionLink(message.text);

    // The manager opens the link in a browser that is not signed in, signs in, reviews.
    const managerContext = await browser.newContext({ baseURL, javaScriptEnabled });
    const reviewer = errors.track(await managerContext.newPage());
    await reviewer.goto(link);
    await expect(reviewer.getByRole('heading', { level: 1, name: 'Sign in to continue' })).toBeVisible();
    await expect(reviewer.getByText(reviewName)).toHaveCount(0);
    await reviewer.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
    const person = reviewer.getByLabel('Person');
    const labels = (await person.locator('option').allTextContents()).map((s) => s.trim());
    await person.selectOption({ label: labels.find((l) => l.includes(manager.name)) });
    await reviewer.getByRole('button', { name: 'Sign in', exact: true }).click();
    await reviewer.waitForURL((u) => u.pathname.startsWith('/act/'));
    await expect(reviewer.getByRole('heading', { level: 1, name: `Access review: ${reviewName}` })).toBeVisible();
    await reviewer.getByRole('link', { name: 'Start reviewing' }).click();
    await reviewer.waitForURL((u) => /^\/reviews\/\d+$/.test(u.pathname) && u.searchParams.has('link'));
    const instanceId = new URL(reviewer.url()).pathname.split('/')[2];
    await expect(reviewer.getByRole('heading', { level: 1, name: reviewName })).toBeVisible();
    if (javaScriptEnabled) {
      await reviewer.waitForFunction(() => document.querySelector('.nav-toggle')?.getAttribute('data-hydrated') === 'true');
    }
    await expect(reviewer.locator('li.review-item')).toHaveCount(3);
    for (const holder of holders) {
      await expect(reviewer.getByRole('heading', { level: 2, name: holder.name })).toBeVisible();
    }
    await axe(reviewer, "the reviewer's items");

    const item = (holder) =>
      reviewer.locator('li.review-item').filter({ has: reviewer.getByRole('group', { name: `Decision on ${pkg} for ${holder.name}` }) });
    const deniedItem = item(denied);
    await expect(deniedItem).toContainText('Recommended: keep');
    await deniedItem.getByRole('radio', { name: 'Remove' }).check();
    await deniedItem.getByLabel('Reason', { exact: true }).fill(reason);
    await deniedItem.getByRole('button', { name: `Save decision on ${pkg} for ${denied.name}` }).click();
    await expect(deniedItem).toContainText(`Decided: Remove by ${manager.name}`);
    await expect(deniedItem).toContainText(`“${reason}”`);
    if (javaScriptEnabled) await expect(reviewer.getByRole('status').filter({ hasText: 'Your decision is saved.' })).toBeVisible();

    await reviewer.getByRole('button', { name: 'Accept all recommendations (2)' }).click();
    for (const holder of kept) await expect(item(holder)).toContainText(`Decided: Keep by ${manager.name}`);
    await expect(deniedItem).toContainText(`Decided: Remove by ${manager.name}`);
    await expect(reviewer.locator('.review-progress').filter({ hasText: 'Your items' })).toContainText('3 of 3 decided');
    await expect(reviewer.getByRole('button', { name: /Accept all recommendations/ })).toHaveCount(0);
    await axe(reviewer, "the reviewer's decided items");

    await reviewer.goto('/reviews');
    const row = reviewer.getByRole('row').filter({ hasText: reviewName });
    await expect(row).toContainText('3 of 3 decided');
    await axe(reviewer, "the reviewer's reviews");
    await managerContext.close();

    // The administrator ends the stage: the results are applied at once.
    await admin.goto(`/manage/reviews/instances/${instanceId}`);
    await expect(admin.getByRole('heading', { level: 1, name: `Report: ${reviewName}` })).toBeVisible();
    await expect(admin.locator('.page-header')).toContainText(`${utcMinute(start).shown} to`);
    const status = admin.getByRole('region', { name: 'Status' });
    await expect(status).toContainText('In progress');
    await hydrated();
    await axe(admin, 'the report of a running review');
    const [ended] = await Promise.all([
      admin.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/api/end_review_stage_now')),
      status.getByRole('button', { name: 'End stage now' }).click(),
    ]);
    expect(ended.status(), 'End stage now is accepted').toBeLessThan(400);
    await admin.waitForURL((u) => u.pathname === `/manage/reviews/instances/${instanceId}`);
    const stat = (label) => admin.locator('.stat').filter({ has: admin.getByText(label, { exact: true }) }).locator('dd');
    await expect(stat('Kept')).toHaveText('2');
    await expect(stat('Removed')).toHaveText('1');

    // The denied person leaves the SCIM group; the others stay.
    await expect
      .poll(() => scim.memberNames(groupId), { message: 'only the denied person left the SCIM group', timeout: 30_000 })
      .toEqual(kept.map((h) => h.email).sort());
    // The report shows the removal applied and verified downstream (the worker ends the
    // stage and applies the results after the button; the page is read again until then).
    await expect(async () => {
      await admin.reload();
      await expect(status).toContainText('Ended and applied', { timeout: 1_000 });
      await expect(stat('Removals applied')).toHaveText('1', { timeout: 1_000 });
      await expect(stat('Verified removed downstream')).toHaveText('1', { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await expect(status.getByRole('button', { name: 'End stage now' })).toHaveCount(0);
    await hydrated();
    await axe(admin, 'the report of an applied review');

    // The CSV: one line per item with its decision, the denied one with its reason.
    const csvLink = status.getByRole('link', { name: 'Download CSV' });
    const href = await csvLink.getAttribute('href');
    expect(href).toBe(`/manage/reviews/instances/${instanceId}/items.csv`);
    const response = await admin.request.get(href);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toContain('text/csv');
    const [header, ...rows] = parseCsv(await response.text());
    expect(header).toEqual([
      'item', 'stage', 'person', 'email', 'access', 'reviewers', 'recommendation', 'decision',
      'reason', 'decided_by', 'decided_at', 'applied_at', 'applied', 'verified_removed_at',
    ]);
    expect(rows).toHaveLength(holders.length);
    const byEmail = Object.fromEntries(rows.map((r) => [r[header.indexOf('email')], Object.fromEntries(header.map((h, i) => [h, r[i]]))]));
    expect(Object.keys(byEmail).sort()).toEqual(everyone);
    for (const holder of holders) {
      const line = byEmail[holder.email];
      expect(line.person).toBe(holder.name);
      expect(line.access).toBe(pkg);
      expect(line.reviewers).toContain(manager.name);
      expect(line.recommendation).toBe('keep');
      expect(line.decided_by).toBe(manager.name);
      expect(line.decided_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      if (holder === denied) {
        expect(line.decision).toBe('remove');
        expect(line.reason).toBe(reason);
        expect(line.applied).toBe('ended');
        expect(line.verified_removed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      } else {
        expect(line.decision).toBe('keep');
        expect(line.applied).toBe('kept');
        expect(line.verified_removed_at).toBe('');
      }
    }

    await adminContext.close();
    expectNoErrors(errors);
  });
}
