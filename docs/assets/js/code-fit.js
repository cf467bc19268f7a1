// Mark code blocks that are wider than the column, so that CSS can move their first line out
// from under the copy button (docs/assets/css/extra.css). Runs on every instant-loaded page.
function markScrollingCode(root) {
  root.querySelectorAll(".md-typeset pre > code").forEach((code) => {
    code.parentElement.classList.toggle("code-scrolls", code.scrollWidth > code.clientWidth + 1);
  });
}

if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => markScrollingCode(body));
} else {
  document.addEventListener("DOMContentLoaded", () => markScrollingCode(document.body));
}
