// Figures drawn at build time (tools/figures_hook.py): each <img> sits in a frame that knows the
// figure's natural width and the narrowest width at which its smallest text stays legible
// (docs/assets/css/diagrams.css sizes the frame from them). This script says what the reader
// sees, as the diagrams do: a frame wider than its column scrolls ("scroll sideways"), and a
// figure shown below its natural size opens at full size on click, Enter or Space. A
// ResizeObserver re-measures whenever a frame's box changes: a resize, a rotation, an opened
// <details> or content tab, a block laid out late (content-visibility).
(function () {
  function measure(frame) {
    const image = frame.querySelector("img");
    if (image === null) return;
    const natural = Number(image.getAttribute("width"));
    const shown = image.getBoundingClientRect().width;
    const zoom = shown > 0 && shown < 0.97 * natural;
    frame.toggleAttribute("data-zoom", zoom);
    if (zoom) {
      frame.setAttribute("role", "button");
      frame.setAttribute("tabindex", "0");
      frame.setAttribute("aria-label", "Open the figure at full size");
    } else {
      ["role", "tabindex", "aria-label"].forEach((a) => frame.removeAttribute(a));
    }
    const box = frame.parentElement;
    box.toggleAttribute("data-scrolls", box.scrollWidth > box.clientWidth + 1);
  }

  // The dialog the diagrams use (mermaid-loader.js), made here when this page has none yet.
  function dialog() {
    let found = document.querySelector("dialog.diagram-zoom");
    if (found === null) {
      found = document.createElement("dialog");
      found.className = "diagram-zoom";
      found.innerHTML = '<button type="button" class="diagram-zoom__close" aria-label="Close">×</button>' +
                        '<div class="diagram-zoom__body"></div>';
      found.querySelector("button").addEventListener("click", () => found.close());
      found.addEventListener("click", (event) => { if (event.target === found) found.close(); });
      document.body.appendChild(found);
    }
    return found;
  }

  function zoom(frame) {
    const image = frame.querySelector("img");
    const full = document.createElement("img");
    full.className = "figure-zoom";
    full.src = image.currentSrc || image.src;
    full.alt = image.alt;
    full.width = Number(image.getAttribute("width"));
    full.height = Number(image.getAttribute("height"));
    const shown = dialog();
    shown.querySelector(".diagram-zoom__body").replaceChildren(full);
    shown.showModal();
  }

  document.addEventListener("click", (event) => {
    const frame = event.target.closest && event.target.closest(".figure__frame[data-zoom]");
    if (frame) zoom(frame);
  });
  document.addEventListener("keydown", (event) => {
    const frame = event.target.closest && event.target.closest(".figure__frame[data-zoom]");
    if (frame && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      zoom(frame);
    }
  });

  const observer = new ResizeObserver((entries) => {
    entries.forEach((entry) => measure(entry.target.firstElementChild));
  });
  function watch(root) {
    root.querySelectorAll(".figure").forEach((box) => observer.observe(box));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => watch(document));
  } else {
    watch(document);
  }
})();
