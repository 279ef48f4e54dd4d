/**
 * `auth0-events/client` (package.json "exports"): the WebSocket client, its types and helpers, and the
 * revocation store and middleware (also alone as `auth0-events/middleware`, client/middleware.ts).
 * Browser-safe: no aws-cdk-lib, no AWS SDK, no Node built-in; `ws` is required only in Node without a
 * global WebSocket, and the package's "browser" field maps it away for bundlers.
 */
export * from './session-events-client';
export * from './middleware';
