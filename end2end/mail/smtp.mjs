// A real SMTP server for the tests: MailDev 3 (npm `maildev`) on loopback, with its HTTP
// API to read what arrived (GET /api/email, /api/email/:id/source; DELETE /api/email/all).
//
// Environment: SMTP_PORT (default 2525), SMTP_WEB_PORT (default 2580); SMTP_USER and
// SMTP_PASS make it require SMTP authentication.
// With SMTP_EXIT_WITH_PARENT=1 it exits when its stdin closes (the Rust tests hold it),
// otherwise on SIGTERM/SIGINT. Prints "ready" once both ports listen.
import { MailDev } from 'maildev';

const smtp = Number(process.env.SMTP_PORT || 2525);
const web = Number(process.env.SMTP_WEB_PORT || 2580);

const auth = process.env.SMTP_USER
  ? { incomingUser: process.env.SMTP_USER, incomingPass: process.env.SMTP_PASS || '' }
  : {};
const maildev = new MailDev({ smtp, web, ip: '127.0.0.1', webIp: '127.0.0.1', silent: true, ...auth });
await maildev.start();
console.log(`ready smtp=127.0.0.1:${smtp} web=http://127.0.0.1:${web}`);

async function stop() {
  try {
    await maildev.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.SMTP_EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
