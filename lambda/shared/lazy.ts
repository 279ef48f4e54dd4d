/**
 * How a handler builds its dependencies (one convention for every handler, issue 22): a function
 * `depsFromEnv()` reads the environment and builds them (clients, table names); the handler module keeps
 *
 *   const defaultDeps = lazy(depsFromEnv);
 *
 * and its entry point uses `defaultDeps()`, while tests and the local runtime pass their own through
 * the handler's seam (`createHandler(deps)` or `handleX(event, deps)`). Loading the module reads no
 * environment and builds no client; the first invocation builds them once per container.
 */

/**
 * `build`, called on the first call only; later calls return what it returned. A build that throws
 * is not kept: the next call builds again (a missing variable fails every invocation, clearly).
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
