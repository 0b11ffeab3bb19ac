// Starts Gatehouse for the browser tests.
//
// Environment:
//   GATEHOUSE_BIN     the built binary (default ../target/debug/gatehouse, relative to end2end/)
//   LEPTOS_SITE_ROOT  the built site (default ../target/site)
//   E2E_LIST_ONLY=1   do nothing (for `playwright test --list`)
//   E2E_KEEP_TMP=1    keep the temp dir (database and log) after the run
//
// It also starts MailDev (mail/smtp.mjs) as the SMTP server Gatehouse sends to, and
// the test OpenID provider (oidc/op.mjs, issuer http://127.0.0.1:9400)
// with Gatehouse's callback registered, and configures Gatehouse to sign in through it.
// And the real SCIM 2.0 server (PyPI scim2-server, installed into .tools/scim by
// scripts/setup.sh; SCIM_SERVER_BIN overrides the path) on a free loopback port with
// --dynamic-tenants, so that each test gets its own base URL
// (http://127.0.0.1:<port>/<tenant>/v2). Gatehouse reads its bearer token from
// GATEHOUSE_SECRET_SCIM_E2E_1 … _4: a secret goes to one connector only, so each test that
// adds a SCIM connector in the pages uses a secret name of its own (SCIM_E2E_1 …). The
// tests find the URL, the token and those names in .e2e-state.json (scimUrl, scimToken,
// scimSecrets).
//
// It makes a temp dir, runs `<bin> migrate` and `<bin> seed-demo` against a fresh
// SQLite database there, spawns `<bin> serve` on a free loopback port, waits for
// GET /readyz to answer 200, and publishes the URL as GATEHOUSE_E2E_URL (and in
// .e2e-state.json). global-teardown.js stops the child by its pid.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { E2E_DIR, writeState } from './state.js';
import { stopPid } from './global-teardown.js';

const READY_TIMEOUT_MS = 60_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tail(file, lines = 60) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function runStep(bin, args, env, logFile) {
  fs.appendFileSync(logFile, `\n$ ${bin} ${args.join(' ')}\n`);
  const r = spawnSync(bin, args, { env, encoding: 'utf8', timeout: 120_000 });
  fs.appendFileSync(logFile, (r.stdout || '') + (r.stderr || ''));
  if (r.error || r.status !== 0) {
    throw new Error(
      `\`${path.basename(bin)} ${args.join(' ')}\` failed ` +
        `(${r.error ? r.error.message : `exit ${r.status}${r.signal ? `, signal ${r.signal}` : ''}`}).\n` +
        `stderr:\n${r.stderr || '(empty)'}\nlog: ${logFile} (copied to test-results/gatehouse.log)`,
    );
  }
}

const OP_ISSUER = 'http://127.0.0.1:9400';
/** The bearer token of the test SCIM server, and the secret names Gatehouse gets it under. */
const SCIM_TOKEN = 'gatehouse-e2e-scim-token';
const SCIM_SECRETS = ['SCIM_E2E_1', 'SCIM_E2E_2', 'SCIM_E2E_3', 'SCIM_E2E_4'];

/** Starts scim2-server (dynamic tenants) on a free loopback port; returns its pid and URL. */
async function startScim(tmp) {
  const bin = path.resolve(E2E_DIR, process.env.SCIM_SERVER_BIN || '../.tools/scim/bin/scim2-server');
  if (!fs.existsSync(bin)) {
    throw new Error(`scim2-server not found at ${bin}: run scripts/setup.sh --for test (or set SCIM_SERVER_BIN).`);
  }
  const port = await freePort();
  const logFd = fs.openSync(path.join(tmp, 'scim.log'), 'a');
  const scim = spawn(
    bin,
    ['--hostname', '127.0.0.1', '--port', String(port), '--bearer-token', SCIM_TOKEN, '--dynamic-tenants'],
    { stdio: ['ignore', logFd, logFd] },
  );
  fs.closeSync(logFd);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/ready/v2/ServiceProviderConfig`, {
        headers: { authorization: `Bearer ${SCIM_TOKEN}` },
        signal: AbortSignal.timeout(2_000),
      });
      if (res.status === 200) return { scimPid: scim.pid, scimUrl: url };
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline || scim.exitCode !== null) {
      await stopPid(scim.pid);
      throw new Error(`scim2-server did not start; see ${path.join(tmp, 'scim.log')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the test OpenID provider with Gatehouse's callback registered; returns its pid. */
async function startProvider(url, tmp, logFile) {
  const logFd = fs.openSync(path.join(tmp, 'op.log'), 'a');
  const op = spawn(process.execPath, [path.join(E2E_DIR, 'oidc', 'op.mjs')], {
    env: {
      ...process.env,
      OP_JWKS: path.join(tmp, 'op-jwks.json'),
      OIDC_CLIENT_ID: 'gatehouse',
      OIDC_CLIENT_SECRET: 'gatehouse-secret',
      OIDC_REDIRECT_URIS: `${url}/auth/callback`,
      OIDC_POST_LOGOUT_REDIRECT_URIS: `${url}/sign-in`,
    },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${OP_ISSUER}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return op.pid;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await stopPid(op.pid);
      throw new Error(`the OpenID provider did not start; see ${path.join(tmp, 'op.log')} (log ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts MailDev (mail/smtp.mjs) on free loopback ports; returns its pid and API URL. */
async function startSmtp(tmp) {
  const smtpPort = await freePort();
  const webPort = await freePort();
  const logFd = fs.openSync(path.join(tmp, 'smtp.log'), 'a');
  const smtp = spawn(process.execPath, [path.join(E2E_DIR, 'mail', 'smtp.mjs')], {
    cwd: E2E_DIR,
    env: { ...process.env, SMTP_PORT: String(smtpPort), SMTP_WEB_PORT: String(webPort) },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  const api = `http://127.0.0.1:${webPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${api}/api/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return { smtpPid: smtp.pid, smtpPort, mailApi: api };
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await stopPid(smtp.pid);
      throw new Error(`MailDev did not start; see ${path.join(tmp, 'smtp.log')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export default async function globalSetup() {
  if (process.env.E2E_LIST_ONLY === '1') return;

  const bin = path.resolve(E2E_DIR, process.env.GATEHOUSE_BIN || '../target/debug/gatehouse');
  const siteRoot = path.resolve(E2E_DIR, process.env.LEPTOS_SITE_ROOT || '../target/site');
  if (!fs.existsSync(bin)) {
    throw new Error(`Gatehouse binary not found at ${bin}: build it first (cargo leptos build) or set GATEHOUSE_BIN.`);
  }
  if (!fs.existsSync(path.join(siteRoot, 'pkg'))) {
    throw new Error(`No built site at ${siteRoot} (missing pkg/): build it first (cargo leptos build) or set LEPTOS_SITE_ROOT.`);
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-'));
  const logFile = path.join(tmp, 'gatehouse.log');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    GATEHOUSE_DATABASE_URL: `sqlite://${tmp}/e2e.db`,
    GATEHOUSE_DATA_DIR: tmp,
    GATEHOUSE_ENV: 'development',
    GATEHOUSE_DEV_SIGN_IN: 'true',
    GATEHOUSE_BIND: `127.0.0.1:${port}`,
    GATEHOUSE_PUBLIC_URL: url,
    LEPTOS_SITE_ROOT: siteRoot,
    RUST_LOG: process.env.RUST_LOG || 'info',
    GATEHOUSE_OIDC_ISSUER: OP_ISSUER,
    GATEHOUSE_OIDC_CLIENT_ID: 'gatehouse',
    GATEHOUSE_OIDC_CLIENT_SECRET: 'gatehouse-secret',
    GATEHOUSE_OIDC_SCOPES: 'email profile groups',
    GATEHOUSE_OIDC_ADMIN_GROUPS: 'gatehouse-admins',
  };
  // Written now so that global-teardown.js cleans up and keeps the log even if a step below fails.
  writeState({ url, pid: null, tmp, logFile });
  console.log(`[e2e] temp dir ${tmp}; app log ${logFile} (copied to test-results/gatehouse.log at the end)`);

  const opPid = await startProvider(url, tmp, logFile);
  writeState({ url, pid: null, opPid, tmp, logFile });
  // A real SMTP server: Gatehouse sends its mail there, the tests read it from MailDev's API.
  const { smtpPid, smtpPort, mailApi } = await startSmtp(tmp);
  writeState({ url, pid: null, opPid, smtpPid, mailApi, tmp, logFile });
  Object.assign(env, {
    GATEHOUSE_SMTP_HOST: '127.0.0.1',
    GATEHOUSE_SMTP_PORT: String(smtpPort),
    GATEHOUSE_SMTP_TLS: 'none',
    GATEHOUSE_MAIL_FROM: 'Gatehouse <gatehouse@example.com>',
  });
  // A real SCIM server downstream: the tests add connectors to tenants of it in the pages.
  const { scimPid, scimUrl } = await startScim(tmp);
  const peers = { opPid, smtpPid, mailApi, scimPid, scimUrl, scimToken: SCIM_TOKEN, scimSecrets: SCIM_SECRETS };
  writeState({ url, pid: null, ...peers, tmp, logFile });
  for (const name of SCIM_SECRETS) env[`GATEHOUSE_SECRET_${name}`] = SCIM_TOKEN;

  runStep(bin, ['migrate'], env, logFile);
  runStep(bin, ['seed-demo'], env, logFile);

  fs.appendFileSync(logFile, `\n$ ${bin} serve\n`);
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(bin, ['serve'], { env, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  writeState({ url, pid: child.pid, ...peers, tmp, logFile });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no answer yet';
  for (;;) {
    if (exited) {
      throw new Error(
        `\`gatehouse serve\` exited early (code ${exited.code}, signal ${exited.signal}).\n` +
          `--- last lines of ${logFile} ---\n${tail(logFile)}`,
      );
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) break;
      lastError = `GET /readyz answered ${res.status}`;
    } catch (e) {
      lastError = String(e && e.cause ? e.cause.code || e.cause : e);
    }
    if (Date.now() > deadline) {
      await stopPid(child.pid);
      throw new Error(
        `Gatehouse did not become ready at ${url}/readyz within ${READY_TIMEOUT_MS / 1000}s (${lastError}).\n` +
          `--- last lines of ${logFile} ---\n${tail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  process.env.GATEHOUSE_E2E_URL = url;
  process.env.GATEHOUSE_E2E_MAIL_API = mailApi;
  console.log(`[e2e] Gatehouse ready at ${url} (pid ${child.pid})`);
}
