// Type-directed translation between the vectors' JSON (the npm package's shapes) and jco's rendering
// of the component's WIT types, read from the WIT itself (`wasm-tools component wit wit/ --json`,
// written to build/component/wit.json by scripts/build-component). The one convention, shared with
// tests/component/test_wasmtime.py:
//   record            <-> object, kebab-case field `foo-bar` as key `fooBar` (jco renders camelCase)
//   variant           <-> {tag, val} (a unit case: {tag})
//   enum              <-> its case name
//   option            <-> absent / null, or the value
//   list<tuple<K, T>>  <-> object (a map), K a string or an enum
//   `json` (type alias of string) <-> any JSON value (stringified / parsed)
//   s64, u64          <-> number (jco: BigInt)
// A vector value the WIT type cannot hold (an unknown key, a missing required field, a string where
// an enum has no such case) is reported as unrepresentable: WIT's types rule that mistake out. A
// missing list is the empty list (the core's serde defaults every list it does not require).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../js/support/vectors.mjs";

export const WIT_JSON = join(ROOT, "build", "component", "wit.json");

export class Unrepresentable extends Error {}
const nope = (path, why) => {
  throw new Unrepresentable(`${path}: ${why}`);
};
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const absent = (v) => v === undefined || v === null;
const camel = (s) => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

export function loadWit(path = WIT_JSON) {
  return new Wit(JSON.parse(readFileSync(path, "utf8")));
}

export class Wit {
  constructor(doc) {
    this.doc = doc;
  }

  /** A function of an interface (`sync`, `decide-inbound`) or a resource method (`[method]core.resolve`). */
  func(iface, name) {
    const i = this.doc.interfaces.find((x) => x.name === iface);
    const f = i?.functions[name];
    if (!f) throw new Error(`WIT: ${iface} has no function ${name}`);
    return f;
  }

  /** A named type of an interface (`types`, `preset`). */
  named(iface, name) {
    const i = this.doc.interfaces.find((x) => x.name === iface);
    const t = i?.types[name];
    if (t === undefined) throw new Error(`WIT: ${iface} has no type ${name}`);
    return t;
  }

  /** `{json: true}` for the `json` alias, else the type's kind with aliases followed. */
  resolve(t) {
    while (typeof t === "number") {
      const d = this.doc.types[t];
      if (d.name === "json") return { json: true };
      if (d.kind.type === undefined) return d.kind;
      t = d.kind.type;
    }
    return { prim: t };
  }

  /** The ok type of a `result<T, error>` (or the type itself). */
  okType(t) {
    const k = this.resolve(t);
    return k.result ? k.result.ok : t;
  }

  /** The value type of a list of tuple<string | enum, T>, a map; undefined for any other list. */
  mapValue(elem) {
    const k = this.resolve(elem);
    if (!k.tuple || k.tuple.types.length !== 2) return undefined;
    const key = this.resolve(k.tuple.types[0]);
    return key.prim === "string" || key.enum ? k.tuple.types[1] : undefined;
  }

  /** Vector JSON -> jco value of WIT type `t`. */
  toWit(t, v, path) {
    const k = this.resolve(t);
    if (k.json) return JSON.stringify(v === undefined ? null : v);
    if (k.prim) return prim(k.prim, v, path);
    if (k.option !== undefined) return absent(v) ? undefined : this.toWit(k.option, v, path);
    if (k.enum) {
      if (typeof v !== "string" || !k.enum.cases.some((c) => c.name === v)) nope(path, `${JSON.stringify(v)} is not a case of the WIT enum`);
      return v;
    }
    if (k.record) {
      if (!isObject(v)) nope(path, "not an object (WIT record)");
      const names = k.record.fields.map((f) => camel(f.name));
      for (const key of Object.keys(v)) if (!names.includes(key)) nope(`${path}.${key}`, "no such field in the WIT record");
      const out = {};
      for (const f of k.record.fields) {
        const key = camel(f.name);
        const fk = this.resolve(f.type);
        if (absent(v[key]) && fk.option === undefined && !fk.list) nope(`${path}.${key}`, "required by the WIT record");
        out[key] = absent(v[key]) && fk.list ? [] : this.toWit(f.type, v[key], `${path}.${key}`);
      }
      return out;
    }
    if (k.variant) {
      if (!isObject(v) || typeof v.tag !== "string") nope(path, "a WIT variant is {tag, val}");
      const c = k.variant.cases.find((x) => x.name === v.tag);
      if (!c) nope(`${path}.tag`, `${JSON.stringify(v.tag)} is not a case of the WIT variant`);
      return c.type === null ? { tag: c.name } : { tag: c.name, val: this.toWit(c.type, v.val, `${path}.val`) };
    }
    if (k.list !== undefined) {
      const mv = this.mapValue(k.list);
      if (mv !== undefined) {
        if (!isObject(v)) nope(path, "not an object (a WIT list of pairs)");
        const kt = this.resolve(k.list).tuple.types[0];
        return Object.entries(v).map(([key, x]) => [this.toWit(kt, key, `${path}.${key}`), this.toWit(mv, x, `${path}.${key}`)]);
      }
      if (!Array.isArray(v)) nope(path, "not a list");
      return v.map((x, i) => this.toWit(k.list, x, `${path}[${i}]`));
    }
    if (k.tuple) {
      if (!Array.isArray(v) || v.length !== k.tuple.types.length) nope(path, "not a tuple");
      return k.tuple.types.map((tt, i) => this.toWit(tt, v[i], `${path}[${i}]`));
    }
    throw new Error(`WIT: cannot translate ${JSON.stringify(k)} at ${path}`);
  }

  /** jco value of WIT type `t` -> the npm package's JSON shape. */
  fromWit(t, v) {
    const k = this.resolve(t);
    if (k.json) return JSON.parse(v);
    if (k.prim) return typeof v === "bigint" ? Number(v) : v;
    if (k.option !== undefined) return v === undefined || v === null ? undefined : this.fromWit(k.option, v);
    if (k.enum) return v;
    if (k.record) {
      const out = {};
      for (const f of k.record.fields) {
        const key = camel(f.name);
        const x = this.fromWit(f.type, v[key]);
        if (x !== undefined) out[key] = x;
      }
      return out;
    }
    if (k.variant) {
      const c = k.variant.cases.find((x) => x.name === v.tag);
      return c.type === null ? { tag: c.name } : { tag: c.name, val: this.fromWit(c.type, v.val) };
    }
    if (k.list !== undefined) {
      const mv = this.mapValue(k.list);
      if (mv !== undefined) return Object.fromEntries(v.map(([key, x]) => [key, this.fromWit(mv, x)]));
      return Array.from(v, (x) => this.fromWit(k.list, x));
    }
    if (k.tuple) return k.tuple.types.map((tt, i) => this.fromWit(tt, v[i]));
    throw new Error(`WIT: cannot translate ${JSON.stringify(k)}`);
  }

  /**
   * A vector case's input object -> the function's arguments, by parameter name (`now-ms` <-
   * `nowMs`); `skip` names leading parameters supplied by the caller (a resource's `self`).
   */
  args(f, input, skip = 0) {
    if (!isObject(input)) nope("input", "not an object");
    const params = f.params.slice(skip);
    const names = params.map((p) => camel(p.name));
    for (const key of Object.keys(input)) if (!names.includes(key)) nope(`input.${key}`, "no such parameter of the WIT function");
    return params.map((p) => this.toWit(p.type, input[camel(p.name)], camel(p.name)));
  }
}

function prim(kind, v, path) {
  switch (kind) {
    case "string":
      return typeof v === "string" ? v : nope(path, `${JSON.stringify(v)} where WIT has a string`);
    case "bool":
      return typeof v === "boolean" ? v : nope(path, `${JSON.stringify(v)} where WIT has a bool`);
    case "s64":
      return Number.isSafeInteger(v) ? BigInt(v) : nope(path, `${JSON.stringify(v)} where WIT has an s64`);
    case "u64":
      return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : nope(path, `${JSON.stringify(v)} where WIT has a u64`);
    case "f64":
      return typeof v === "number" && Number.isFinite(v) ? v : nope(path, `${JSON.stringify(v)} where WIT has an f64`);
    case "u32":
    case "u16":
    case "u8": {
      const max = { u32: 0xffffffff, u16: 0xffff, u8: 0xff }[kind];
      return Number.isInteger(v) && v >= 0 && v <= max ? v : nope(path, `${JSON.stringify(v)} where WIT has a ${kind}`);
    }
    default:
      throw new Error(`WIT: primitive ${kind} not handled (${path})`);
  }
}
