// Stops the Gatehouse process and the peers (OpenID provider, MailDev, SCIM server)
// started by global-setup.js (each by its pid only),
// copies its log to test-results/gatehouse.log and removes the temp dir.
import fs from 'node:fs';
import path from 'node:path';
import { E2E_DIR, readState, removeState } from './state.js';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopPid(pid, graceMs = 5_000) {
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export default async function globalTeardown() {
  if (process.env.E2E_LIST_ONLY === '1') return;
  const state = readState();
  if (!state) return;
  await stopPid(state.pid);
  await stopPid(state.opPid);
  await stopPid(state.smtpPid);
  await stopPid(state.scimPid);
  if (state.logFile && fs.existsSync(state.logFile)) {
    const dest = path.join(E2E_DIR, 'test-results', 'gatehouse.log');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(state.logFile, dest);
    console.log(`[e2e] app log copied to ${dest}`);
  }
  if (state.tmp && process.env.E2E_KEEP_TMP !== '1') {
    fs.rmSync(state.tmp, { recursive: true, force: true });
  } else if (state.tmp) {
    console.log(`[e2e] kept temp dir ${state.tmp}`);
  }
  removeState();
}
