// Mark code blocks that are wider than the column, so that CSS can move their first line out
// from under the copy button (docs/assets/css/extra.css). Measuring a block lays it out, so this
// waits until the browser is idle: it must not hold back the first paint of text and math.
// Runs on every instant-loaded page; sets data-code-fit="done" on <html> when it has run.
function markScrollingCode(root) {
  root.querySelectorAll(".md-typeset pre > code").forEach((code) => {
    code.parentElement.classList.toggle("code-scrolls", code.scrollWidth > code.clientWidth + 1);
  });
  document.documentElement.dataset.codeFit = "done";
}

function whenIdle(callback) {
  if ("requestIdleCallback" in window) requestIdleCallback(callback, { timeout: 3000 });
  else setTimeout(callback, 200);
}

if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => whenIdle(() => markScrollingCode(body)));
} else {
  document.addEventListener("DOMContentLoaded", () => whenIdle(() => markScrollingCode(document.body)));
}
