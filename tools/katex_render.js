// Typesets TeX for tools/katex_hook.py with the KaTeX build the site serves.
// Usage: node katex_render.js PATH/TO/katex.min.js
// Reads one JSON array per line, [[tex, displayMode], ...], and answers each line with one JSON
// array, [[true, html] | [false, message], ...], in the same order. One process serves a build.
"use strict";
const readline = require("readline");
const katex = require(process.argv[2]);

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  const answers = JSON.parse(line).map(([tex, displayMode]) => {
    try {
      return [true, katex.renderToString(tex, { displayMode, throwOnError: true })];
    } catch (error) {
      return [false, String(error.message || error)];
    }
  });
  process.stdout.write(JSON.stringify(answers) + "\n");
});
