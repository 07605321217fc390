/* Test harness: evaluates expression trees with frontend/static/frontend/expressions.js.

   Usage: node expressions_harness.js PATH/TO/expressions.js
   Reads one JSON array of cases per line ({tree, values, current}) on stdin and writes one JSON
   array of results per line on stdout, so a whole batch costs one round trip to one process.
   Numbers are tagged so that NaN and the infinities survive JSON. */
"use strict";
const SuyangExpr = require(process.argv[2]).SuyangExpr;
const readline = require("readline");

function tag(value) {
  if (typeof value === "number") {
    if (Number.isNaN(value)) return ["n", "NaN"];
    if (value === Infinity) return ["n", "Infinity"];
    if (value === -Infinity) return ["n", "-Infinity"];
    return ["n", value];
  }
  if (typeof value === "boolean") return ["b", value];
  if (typeof value === "string") return ["s", value];
  if (Array.isArray(value)) return ["l", value.map(String)];
  return ["?", String(value)];
}

function run(one) {
  try {
    const value = SuyangExpr.evaluate(one.tree, one.values, one.current);
    return { value: tag(value), holds: SuyangExpr.holds(one.tree, one.values, one.current) };
  } catch (err) {
    return { value: ["error", String(err)], holds: null };
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  process.stdout.write(JSON.stringify(JSON.parse(line).map(run)) + "\n");
});
