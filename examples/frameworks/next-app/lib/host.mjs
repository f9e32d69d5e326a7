// One host per server process (Next.js may load a route module more than once: keep it on globalThis).
// In your app, build it at server start (instrumentation.js): globalThis.__virtuousSyncHost = createHost({store, partner}).
export function getHost() {
  const host = globalThis.__virtuousSyncHost;
  if (!host) throw new Error("the host is not started: set globalThis.__virtuousSyncHost at server start (instrumentation.js)");
  return host;
}
