// nbconvert asks for MathJax from a CDN; the site renders lab math with its local KaTeX
// instead (see katex-init.js), so this file deliberately defines nothing.
