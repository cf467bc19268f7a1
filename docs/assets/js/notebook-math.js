// nbconvert asks for MathJax from a CDN; the site typesets lab math at build time instead
// (tools/katex_hook.py), so this file deliberately defines nothing.
