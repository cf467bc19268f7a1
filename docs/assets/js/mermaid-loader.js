// Mermaid on demand. Material draws diagrams with the global `mermaid`; this stand-in loads the
// local bundle (about 3.5 MB) only on a page that has a diagram, asynchronously, so that text and
// math are painted first. It also adds colours for the diagram types Material does not theme.
(function () {
  const source = new URL("../vendor/mermaid.min.js", document.currentScript.src).href;
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
  let loading = null;

  function load() {
    if (loading === null) {
      loading = new Promise((resolve, reject) => {
        const standIn = window.mermaid;
        const script = document.createElement("script");
        script.src = source;
        script.async = true;
        script.onload = () => {
          const real = window.mermaid;
          window.mermaid = standIn; // Material keeps calling the stand-in
          if (options !== null) real.initialize(options);
          resolve(real);
        };
        script.onerror = () => reject(new Error(`Mermaid could not be loaded from ${source}`));
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  window.mermaid = {
    initialize(given) {
      options = { ...given, themeCSS: `${given.themeCSS || ""}\n${extraCss}` };
      if (loading !== null) loading.then((real) => real.initialize(options));
    },
    async render(id, text, container) {
      return (await load()).render(id, text, container);
    },
    async parse(text, parseOptions) {
      return (await load()).parse(text, parseOptions);
    },
  };
})();
