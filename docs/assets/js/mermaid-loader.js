// Mermaid, as the mermaid2 plugin adds it, without holding up the page. tools/diagram_hook.py puts
// this script just before the plugin's <script src=".../mermaid.min.js">, which it makes async:
// the 3.5 MB bundle arrives after text and math are painted. Until then this stand-in is the
// `mermaid` that Material talks to; it hands Material's calls on to the real one, with the
// plugin's configuration (window.mermaidConfig), colours for the diagram types Material does not
// theme, and the drawing fitted into the frame the hook reserved (docs/assets/css/diagrams.css).
// A drawing shrunk to fit opens at full size on click; one wider than the screen scrolls.
(function () {
  // Timelines: Material's theme covers flowcharts only; these follow the light/dark toggle.
  // A node given its own colours in the source (style/classDef) keeps its label colour too:
  // Material's label rule would otherwise paint grey text on the node's own fill.
  const extraCss = [
    "g.label[style*='color'] .nodeLabel, g.label[style*='color'] .nodeLabel p { color: inherit !important; }",
    "text[font-size='4ex'], text.titleText { fill: var(--md-default-fg-color) !important; }",
    "[class*='section-'] rect, [class*='section-'] path { fill: var(--md-primary-fg-color) !important; stroke: none; }",
    "[class*='section-'] text, [class*='section-'] .nodeLabel, [class*='section-'] tspan { fill: var(--md-primary-bg-color) !important; color: var(--md-primary-bg-color) !important; }",
    ".lineWrapper line, line { stroke: var(--md-default-fg-color--light); }",
  ].join("\n");
  let options = null;
  let real = null;
  let arrived;
  let failed;
  const arrival = new Promise((resolve, reject) => { arrived = resolve; failed = reject; });
  arrival.catch(() => {}); // a page whose diagrams never render is marked, not an error

  // The bundle ends with `globalThis.mermaid = ...`: catch it, and keep answering as the stand-in.
  const standIn = {
    initialize(given) {
      const plugin = (window.mermaidConfig && window.mermaidConfig.default) || {};
      options = { ...plugin, ...given, themeCSS: `${given.themeCSS || ""}\n${extraCss}` };
      if (real !== null) real.initialize(options);
    },
    async render(id, text, container) {
      const mermaid = await arrival;
      const frame = claim(text);
      const result = await mermaid.render(id, text, container);
      if (frame !== null) {
        frame.diagramSvg = result.svg;
        requestAnimationFrame(() => measure(frame));
      }
      return { ...result, svg: fitted(result.svg) };
    },
    async parse(text, parseOptions) {
      return (await arrival).parse(text, parseOptions);
    },
  };
  Object.defineProperty(window, "mermaid", {
    configurable: true,
    get: () => standIn,
    set: (value) => {
      real = value;
      if (options !== null) real.initialize(options);
      arrived(value);
    },
  });
  document.addEventListener("error", (event) => {
    const script = event.target;
    if (!(script instanceof HTMLScriptElement) || !/mermaid\.min\.js$/.test(script.src)) return;
    document.querySelectorAll(".diagram__frame").forEach((f) => { f.dataset.state = "failed"; });
    failed(new Error(`Mermaid could not be loaded from ${script.src}`));
  }, true);

  // The frame (tools/diagram_hook.py) whose source this is, the first one not drawn yet.
  function claim(text) {
    for (const frame of document.querySelectorAll(".diagram__frame:not([data-state])")) {
      const pre = frame.querySelector("pre");
      if (pre !== null && pre.textContent === text) {
        frame.dataset.state = "drawing";
        return frame;
      }
    }
    return null;
  }

  // The drawing keeps its natural size where the frame allows, and shrinks, in proportion, where not.
  function fitted(svg) {
    return svg.replace(/<svg\b[^>]*>/, (tag) => {
      const sizing = "display:block;width:auto;height:auto;max-width:100%;max-height:100%;";
      return /\sstyle="/.test(tag) ? tag.replace(/\sstyle="/, ` style="${sizing}`) : tag.replace(/^<svg/, `<svg style="${sizing}"`);
    });
  }

  function naturalSize(svg) {
    const box = svg.match(/<svg\b[^>]*\sviewBox="([^"]+)"/);
    const [, , width, height] = box ? box[1].trim().split(/[\s,]+/).map(Number) : [0, 0, 0, 0];
    return { width, height };
  }

  // Whether the drawing is shown smaller than its natural size (then a click opens it at full
  // size) and whether the frame is wider than the column (then it scrolls, and says so).
  function measure(frame) {
    const { width, height } = naturalSize(frame.diagramSvg);
    const box = frame.getBoundingClientRect();
    const scale = Math.min(1, box.width / width, box.height / height);
    frame.dataset.state = "drawn";
    frame.dataset.scale = scale.toFixed(3);
    const zoom = scale < 0.97;
    frame.toggleAttribute("data-zoom", zoom);
    if (zoom) {
      frame.setAttribute("role", "button");
      frame.setAttribute("tabindex", "0");
      frame.setAttribute("aria-label", "Open the diagram at full size");
    } else {
      ["role", "tabindex", "aria-label"].forEach((a) => frame.removeAttribute(a));
    }
    const scroller = frame.parentElement;
    scroller.toggleAttribute("data-scrolls", scroller.scrollWidth > scroller.clientWidth + 1);
  }

  function zoom(frame) {
    let dialog = document.querySelector("dialog.diagram-zoom");
    if (dialog === null) {
      dialog = document.createElement("dialog");
      dialog.className = "diagram-zoom";
      dialog.innerHTML = '<button type="button" class="diagram-zoom__close" aria-label="Close">×</button>' +
                         '<div class="diagram-zoom__body"></div>';
      dialog.querySelector("button").addEventListener("click", () => dialog.close());
      dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
      document.body.appendChild(dialog);
    }
    const body = dialog.querySelector(".diagram-zoom__body");
    const host = document.createElement("div");
    host.className = "diagram-zoom__drawing";
    host.attachShadow({ mode: "open" }).innerHTML = frame.diagramSvg;
    body.replaceChildren(host);
    dialog.showModal();
  }

  document.addEventListener("click", (event) => {
    const frame = event.target.closest && event.target.closest(".diagram__frame[data-zoom]");
    if (frame) zoom(frame);
  });
  document.addEventListener("keydown", (event) => {
    const frame = event.target.closest && event.target.closest(".diagram__frame[data-zoom]");
    if (frame && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      zoom(frame);
    }
  });
  window.addEventListener("resize", () => {
    document.querySelectorAll(".diagram__frame[data-state=drawn]").forEach(measure);
  });
})();
