// The OpenID provider the tests sign in with: panva oidc-provider 9.x + jose 6 (ESM).
// Run: node end2end/oidc/op.mjs   (the Rust tests and the browser tests start it themselves)
// Env: OP_PORT (9400), OP_ISSUER (http://127.0.0.1:9400), OP_USERS (users.json),
//      OP_JWKS (op-jwks.json), OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
//      OIDC_REDIRECT_URIS and OIDC_POST_LOGOUT_REDIRECT_URIS (comma-separated).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK, calculateJwkThumbprint } from 'jose';

const env = (name, def) => process.env[name] ?? def;
const PORT = Number(env('OP_PORT', '9400'));
const ISSUER = env('OP_ISSUER', `http://127.0.0.1:${PORT}`); // no trailing slash
const USERS_FILE = env('OP_USERS', new URL('./users.json', import.meta.url).pathname);
const JWKS_FILE = env('OP_JWKS', join(tmpdir(), 'gatehouse-test-op-jwks.json'));
const list = (v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

// Signing key: persisted so restarts keep the same JWKS (same kid).
async function loadJwks() {
  if (existsSync(JWKS_FILE)) return JSON.parse(readFileSync(JWKS_FILE, 'utf8'));
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  const jwks = { keys: [jwk] };
  writeFileSync(JWKS_FILE, JSON.stringify(jwks, null, 2), { mode: 0o600 });
  return jwks;
}

// users.json: [{ "sub": "alice", "email": "alice@example.test", "name": "Alice", "groups": ["admins"] }]
// Read on every lookup so a test can edit it without restarting the OP.
function findUser(sub) {
  const users = JSON.parse(readFileSync(USERS_FILE, 'utf8'));
  return users.find((u) => u.sub === sub);
}

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: env('OIDC_CLIENT_ID', 'gatehouse'),
    client_secret: env('OIDC_CLIENT_SECRET', 'gatehouse-secret'),
    redirect_uris: list(env('OIDC_REDIRECT_URIS', 'http://127.0.0.1:3000/auth/callback')),
    post_logout_redirect_uris: list(env('OIDC_POST_LOGOUT_REDIRECT_URIS', 'http://127.0.0.1:3000/')),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: await loadJwks(),
  cookies: { keys: [env('OP_COOKIE_KEY', randomBytes(32).toString('hex'))] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false, // put scope-requested claims into the ID token too
  features: {
    devInteractions: { enabled: true }, // login form: any password; "login" = sub
    rpInitiatedLogout: { enabled: true },
    userinfo: { enabled: true },
  },
  pkce: { required: () => true },
  ttl: {
    AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600,
    Interaction: 3600, Session: 86400, Grant: 86400,
  },
  async findAccount(ctx, sub) {
    const user = findUser(sub);
    if (!user) return undefined; // unknown login -> OP shows the login form again
    return {
      accountId: user.sub,
      async claims() {
        return {
          sub: user.sub,
          email: user.email,
          // A user may say the provider has not verified their address.
          email_verified: user.email_verified ?? true,
          name: user.name,
          preferred_username: user.sub,
          groups: user.groups ?? [],
        };
      },
    };
  },
  // Auto-consent: always hand back a grant covering the requested scopes, so the
  // devInteractions consent page never appears (login page only).
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const grant = new oidc.provider.Grant({
      clientId: oidc.client.clientId,
      accountId: oidc.session.accountId,
    });
    grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
    await grant.save();
    return grant;
  },
});

// devInteractions itself accepts ANY password and uses "login" as the sub. This pre-middleware
// makes the dev login form check users.json (login + password) and re-shows the form otherwise,
// so unknown users never reach findAccount (which would make 9.x answer 500).
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    ctx.request.body = raw; // oidc-provider re-parses this string (logs a one-time warning)
    const form = new URLSearchParams(raw);
    if (form.get('prompt') === 'login') {
      const user = findUser(form.get('login'));
      if (!user || (user.password ?? '') !== (form.get('password') ?? '')) {
        ctx.redirect(ctx.path); // back to the login form, same interaction
        return;
      }
    }
  }
  await next();
});

// Started by a test process: exit when it goes away (its end of stdin closes).
if (process.env.OP_EXIT_WITH_PARENT) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(PORT, '127.0.0.1', () => {
  console.log(`oidc-provider ready at ${ISSUER}/.well-known/openid-configuration`);
});
