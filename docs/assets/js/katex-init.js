// Render the math that pymdownx.arithmatex marks (generic mode) with the local KaTeX.
// Material's instant loading swaps page bodies, so render on every document$ emission.
function renderMath(root) {
  root.querySelectorAll(".arithmatex").forEach((element) => {
    if (element.querySelector(".katex")) return;
    const display = element.tagName === "DIV";
    const source = element.textContent.trim().replace(/^\\[([]/, "").replace(/\\[)\]]$/, "");
    try {
      katex.render(source, element, { displayMode: display, throwOnError: true });
    } catch (error) {
      console.error(`KaTeX could not render "${source}": ${error.message}`);
    }
  });
  // Lab notebooks keep TeX delimiters in their rendered Markdown cells.
  root.querySelectorAll(".jupyter-wrapper .jp-RenderedMarkdown").forEach((element) => {
    renderMathInElement(element, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
      ],
      throwOnError: true,
    });
  });
}

if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => renderMath(body));
} else {
  document.addEventListener("DOMContentLoaded", () => renderMath(document.body));
}
