// The class of every error the package throws (scripts/build-pkg appends a CommonJS copy of it to each Node glue
// in dist/, so `require` and `import` see the same definition).
//
// The wasm core throws plain `Error` objects named "VirtuousSyncError" carrying a `code`, `field` and `module`;
// `Symbol.hasInstance` makes `err instanceof VirtuousSyncError` true for them from every entry (main, web, edge,
// receive) whichever module instance threw, and never for other errors (a wasm trap is a `RuntimeError`).
export class VirtuousSyncError extends Error {
  /**
   * @param {string} message
   * @param {{ code?: string, field?: string, module?: string }} [details]
   */
  constructor(message, details = {}) {
    super(message);
    this.name = "VirtuousSyncError";
    this.code = details.code ?? "internal";
    this.field = details.field ?? "";
    this.module = details.module ?? "ops";
  }

  static [Symbol.hasInstance](value) {
    return value instanceof Error && value.name === "VirtuousSyncError" && typeof value.code === "string";
  }
}
