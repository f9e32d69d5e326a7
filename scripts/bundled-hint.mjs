// What the Node glue (scripts/post-glue.mjs) and the Node ESM entries (scripts/gen-entries.mjs) say when the
// package's files are not beside them: a bundler took in its JavaScript and left the rest behind (Next.js,
// webpack, esbuild). One sentence for both, so the advice cannot drift.
export const BUNDLED =
  "the package was bundled without its files. Leave it out of the bundle and install it beside it " +
  '(esbuild --external:virtuous-sync, webpack externals, Next.js serverExternalPackages: ["virtuous-sync"], ' +
  'AWS CDK bundling.nodeModules: ["virtuous-sync"])';
