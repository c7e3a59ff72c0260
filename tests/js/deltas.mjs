// The official JS client's own code for initialize deltas, run on what Lockgate sends.
// Input on stdin: {merges: [{cache, delta, full}], checksums: [text], texts: [text]}, where
// cache, delta and full are the JSON texts of an answer held, of a delta and of the full answer
// a fresh client would get, and the others JSON documents.
// Output on stdout: {merges: [{failure} or {differences, extra}], checksums: [{djb2, sorted}],
// texts: [text]}: whether js-client's _resolveDeltasResponse accepts each delta and how what it
// makes of the pair differs from the full answer (every map entry and top-level field written
// by JSON.stringify, key order included, and the top-level fields only the merge has);
// client-core's _DJB2Object (and the sorted text it hashes) of each document, two levels deep
// as the delta check runs it; and JSON.stringify of each document as parsed.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { _DJB2Object, _getSortedObject } = require('@statsig/client-core');
const { _resolveDeltasResponse } = require('@statsig/js-client/src/EvaluationResponseDeltas.js');

const DEPTH = 2; // MAX_DELTAS_SORT_DEPTH in EvaluationResponseDeltas.js

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const SECTIONS = ['feature_gates', 'dynamic_configs', 'layer_configs'];

function differences(merged, full) {
  const found = [];
  for (const [key, value] of Object.entries(full)) {
    if (SECTIONS.includes(key)) {
      const held = merged[key] ?? {};
      const names = new Set([...Object.keys(held), ...Object.keys(value)]);
      for (const name of names) {
        if (JSON.stringify(held[name]) !== JSON.stringify(value[name])) found.push(`${key}.${name}`);
      }
    } else if (JSON.stringify(merged[key]) !== JSON.stringify(value)) {
      found.push(key);
    }
  }
  return found;
}

const merges = (input.merges ?? []).map(({ cache, delta, full }) => {
  const result = _resolveDeltasResponse(JSON.parse(cache), delta);
  if (typeof result !== 'string') {
    const { badMergedConfigs, ...failure } = result;
    return { failure };
  }
  const merged = JSON.parse(result);
  const expected = JSON.parse(full);
  return {
    differences: differences(merged, expected),
    extra: Object.keys(merged).filter((key) => !(key in expected)).sort(),
  };
});
const checksums = (input.checksums ?? []).map((text) => {
  const value = JSON.parse(text);
  return {
    djb2: _DJB2Object(value, DEPTH),
    sorted: JSON.stringify(_getSortedObject(value, DEPTH)),
  };
});
const texts = (input.texts ?? []).map((text) => JSON.stringify(JSON.parse(text)));
process.stdout.write(JSON.stringify({ merges, checksums, texts }));
