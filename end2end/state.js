// Shared between global setup, global teardown and the test fixtures: where the
// running app's details (URL, pid, temp dir, log file) are written.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = path.dirname(fileURLToPath(import.meta.url));
export const STATE_FILE = path.join(E2E_DIR, '.e2e-state.json');

export function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return null;
  }
}

export function writeState(state) {
  fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

export function removeState() {
  fs.rmSync(STATE_FILE, { force: true });
}
