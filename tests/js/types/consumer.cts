// The same package through require() typings (module node16, CommonJS). Never run.
import vs = require("virtuous-sync");

const core = new vs.SyncCore({ secrets: ["s"], platformName: "p" });
const r: vs.Receipt = core.receive(new TextEncoder().encode("{}"), { "x-virtuous-signature": "abc" });
const ok: boolean = r.authentic && vs.verifySignature("{}", "sig", ["s"]).ok;
void ok;
