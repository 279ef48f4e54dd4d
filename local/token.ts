/**
 * npm run token -- --sub <user id> --scope "<scopes>" [--expires <seconds>]
 * Prints an access token of the local tenant `dev` (the one `npm start` serves).
 */
import { parseArgs } from 'node:util';
import { devToken } from './dev-tenant';

async function main() {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string', default: 'auth0|dev-user' },
      scope: { type: 'string', default: 'listen:events' },
      expires: { type: 'string', default: '3600' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: npm run token -- --sub <user id> --scope "listen:events | listen:events:self" [--expires <seconds>]');
    return;
  }
  const expires = Number(values.expires);
  if (!Number.isInteger(expires) || expires <= 0) throw new Error('--expires must be a positive number of seconds');
  process.stdout.write(`${await devToken({ sub: values.sub!, scope: values.scope!, expiresInSeconds: expires })}\n`);
}

main().catch((e) => {
  console.error(`token: ${(e as Error).message}`);
  process.exit(1);
});
