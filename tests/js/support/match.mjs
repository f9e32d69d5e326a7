// The vectors' deep-subset matcher (see tests/vectors and the contract):
//  - objects: every expected key must match; extra actual keys are fine;
//  - a key whose expected value is null must be ABSENT (or undefined) in the actual result;
//  - arrays: same length, compared element by element with these same rules;
//  - everything else: strict equality.
// Returns a list of mismatch descriptions (empty when it matches).
export function subsetMismatches(actual, expected, path = "$") {
  if (expected === null) {
    return actual === undefined ? [] : [`${path}: expected absent, got ${show(actual)}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${show(actual)}`];
    if (actual.length !== expected.length) {
      return [`${path}: expected ${expected.length} elements, got ${actual.length}: ${show(actual)}`];
    }
    return expected.flatMap((e, i) => subsetMismatches(actual[i], e, `${path}[${i}]`));
  }
  if (typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
      return [`${path}: expected an object, got ${show(actual)}`];
    }
    return Object.keys(expected).flatMap((k) => subsetMismatches(actual[k], expected[k], `${path}.${k}`));
  }
  return Object.is(actual, expected) ? [] : [`${path}: expected ${show(expected)}, got ${show(actual)}`];
}

/** Checks a runCase() outcome against a case's expect / expectError; returns mismatch descriptions. */
export function checkOutcome(c, outcome) {
  if (c.expectError) {
    if (!outcome.error) return [`expected a thrown ${JSON.stringify(c.expectError)}, got ${show(outcome.value)}`];
    const problems = [];
    if (!outcome.error.isError) problems.push("thrown value is not an instanceof Error");
    if (outcome.error.name !== "VirtuousSyncError") problems.push(`error name ${show(outcome.error.name)}`);
    if (outcome.error.isVirtuousSyncError === false) problems.push("thrown value is not an instanceof VirtuousSyncError");
    for (const key of Object.keys(c.expectError)) {
      problems.push(...subsetMismatches(outcome.error[key], c.expectError[key], `error.${key}`));
    }
    if (problems.length) problems.push(`(message: ${outcome.error.message})`);
    return problems;
  }
  if (outcome.error) {
    return [`unexpected throw: ${outcome.error.name} ${outcome.error.code}/${outcome.error.field}: ${outcome.error.message}`];
  }
  return subsetMismatches(outcome.value, c.expect ?? {});
}

function show(v) {
  if (v === undefined) return "undefined";
  const s = JSON.stringify(v);
  return s && s.length > 300 ? `${s.slice(0, 300)}...` : s;
}
