// Signs an ID token with the test provider's key, for tests of what Gatehouse refuses
// (another audience, another issuer, expired...). Prints the JWT.
// Usage: node mint.mjs <jwks-file> '<claims as JSON>' [--other-key]
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT, generateKeyPair } from 'jose';

const [jwksFile, claimsJson, flag] = process.argv.slice(2);
const jwk = JSON.parse(readFileSync(jwksFile, 'utf8')).keys[0];
const claims = JSON.parse(claimsJson);
let key = await importJWK(jwk, 'RS256');
let kid = jwk.kid;
if (flag === '--other-key') {
  // A key the provider never published: the signature cannot be checked.
  key = (await generateKeyPair('RS256')).privateKey;
  kid = 'not-a-published-key';
}
const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
process.stdout.write(token);
