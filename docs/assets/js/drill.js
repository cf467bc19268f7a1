// Interview drill: filters, shuffle, one-question-at-a-time drill, known/unknown marks.
// Progressive enhancement of the generated page (tools/drill_hook.py): without JavaScript the
// page is a list of collapsible questions. Marks live in localStorage only; no request is made.
(() => {
  "use strict";
  // In a chapter: a link to a question (from the drill page) opens it.
  const openTarget = () => {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") target.open = true;
  };
  openTarget();
  window.addEventListener("hashchange", openTarget);

  const STORE = "modern-nlp-drill-v1";
  const controls = document.getElementById("drill-controls");
  const panel = document.getElementById("drill-panel");
  if (!controls || !panel || controls.dataset.ready) return;
  controls.dataset.ready = "1";
  const cards = Array.from(document.querySelectorAll(".drill-card"));
  const filters = Array.from(controls.querySelectorAll("select[data-filter]"));
  const shown = document.getElementById("drill-shown");

  let marks = {};
  try { marks = JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { marks = {}; }
  const save = () => { try { localStorage.setItem(STORE, JSON.stringify(marks)); } catch (e) { /* private mode */ } };

  const button = (text, cls, onClick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "md-button " + (cls || "");
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  };

  // Each card in the list gets its own mark buttons and a badge.
  const badge = (card) => {
    const mark = marks[card.dataset.key] || "";
    card.dataset.mark = mark;
    const label = card.querySelector(".drill-mark");
    if (label) label.textContent = mark ? (mark === "known" ? "known" : "unknown") : "";
  };
  const setMark = (key, mark) => {
    if (mark) marks[key] = mark; else delete marks[key];
    save();
    cards.filter((c) => c.dataset.key === key).forEach(badge);
  };
  cards.forEach((card) => {
    const label = document.createElement("span");
    label.className = "drill-mark";
    card.querySelector("summary").appendChild(label);
    const bar = document.createElement("p");
    bar.className = "drill-actions";
    bar.append(button("Known", "", () => setMark(card.dataset.key, "known")),
               button("Unknown", "", () => setMark(card.dataset.key, "unknown")),
               button("Clear mark", "", () => setMark(card.dataset.key, "")));
    card.appendChild(bar);
    badge(card);
  });

  // Filters hide cards, and the heading of a chapter with none left.
  const matches = (card) => filters.every((select) => {
    const want = select.value;
    if (!want) return true;
    if (select.dataset.filter === "status") {
      const mark = card.dataset.mark || "";
      return want === "unmarked" ? !mark : mark === want;
    }
    return card.dataset[select.dataset.filter] === want;
  });
  const visible = () => cards.filter((c) => !c.hidden);
  const applyFilters = () => {
    cards.forEach((card) => { card.hidden = !matches(card); });
    document.querySelectorAll(".drill-list").forEach((list) => {
      const any = Array.from(list.querySelectorAll(".drill-card")).some((c) => !c.hidden);
      list.hidden = !any;
      const heading = list.previousElementSibling;
      if (heading && /^H[1-6]$/.test(heading.tagName)) heading.hidden = !any;
    });
    shown.textContent = `${visible().length} of ${cards.length} questions shown`;
    if (deck) startDrill(false);
  };
  filters.forEach((select) => select.addEventListener("change", applyFilters));

  // Drill mode: one question at a time from the filtered cards, in page or shuffled order.
  let deck = null;
  let position = 0;
  const shuffled = (items) => {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  const clone = (element) => {
    const copy = element.cloneNode(true);
    copy.querySelectorAll("[id]").forEach((e) => e.removeAttribute("id"));
    copy.querySelectorAll(".drill-mark, .drill-tag").forEach((e) => e.remove());
    return copy;
  };
  const render = () => {
    panel.replaceChildren();
    if (!deck || !deck.length) {
      panel.append(Object.assign(document.createElement("p"), { textContent: "No question matches these filters." }),
                   button("Leave drill", "", stopDrill));
      panel.dataset.order = "";
      return;
    }
    const card = deck[position];
    panel.dataset.order = deck.map((c) => c.dataset.key).join(" ");
    panel.dataset.key = card.dataset.key;
    const head = document.createElement("p");
    head.className = "drill-progress";
    const tag = card.querySelector(".drill-tag");
    head.textContent = `Question ${position + 1} of ${deck.length} · ${tag ? tag.textContent : ""}`
      + (card.dataset.mark ? ` · marked ${card.dataset.mark}` : "");
    const title = document.createElement("div");
    title.className = "drill-question";
    title.append(...clone(card.querySelector("summary")).childNodes);
    const answer = document.createElement("div");
    answer.className = "drill-answer";
    answer.hidden = true;
    answer.append(...clone(card.querySelector(".drill-answer")).childNodes);
    const source = card.querySelector(".drill-source");
    if (source) answer.append(clone(source));
    const reveal = button("Reveal answer (Space)", "md-button--primary drill-reveal", () => toggle());
    const bar = document.createElement("p");
    bar.className = "drill-actions";
    bar.append(reveal,
      button("Known (K)", "", () => markAndNext("known")),
      button("Unknown (U)", "", () => markAndNext("unknown")),
      button("Previous (P)", "", () => move(-1)),
      button("Next (N)", "", () => move(1)),
      button("Shuffle (S)", "", () => startDrill(true)),
      button("Leave (Esc)", "", stopDrill));
    panel.append(head, title, bar, answer);
  };
  const toggle = () => {
    const answer = panel.querySelector(".drill-answer");
    if (!answer) return;
    answer.hidden = !answer.hidden;
    panel.dataset.revealed = answer.hidden ? "" : "1";
  };
  const move = (step) => {
    if (!deck || !deck.length) return;
    position = (position + step + deck.length) % deck.length;
    panel.dataset.revealed = "";
    render();
    panel.focus({ preventScroll: true });
  };
  const markAndNext = (mark) => {
    if (!deck || !deck.length) return;
    setMark(deck[position].dataset.key, mark);
    move(1);
  };
  function startDrill(shuffle) {
    deck = shuffle ? shuffled(visible()) : visible();
    position = 0;
    panel.hidden = false;
    panel.dataset.revealed = "";
    render();
    panel.focus({ preventScroll: true });
    panel.scrollIntoView({ block: "nearest" });
  }
  function stopDrill() {
    deck = null;
    panel.hidden = true;
    panel.replaceChildren();
    document.getElementById("drill-start").focus();
  }
  document.getElementById("drill-start").addEventListener("click", () => startDrill(false));
  document.getElementById("drill-shuffle").addEventListener("click", () => startDrill(true));

  document.addEventListener("keydown", (event) => {
    if (!deck || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) return;
    if (target && target.tagName === "BUTTON" && (event.key === " " || event.key === "Enter")) return;
    const actions = {
      " ": toggle, Enter: toggle, k: () => markAndNext("known"), u: () => markAndNext("unknown"),
      n: () => move(1), ArrowRight: () => move(1), p: () => move(-1), ArrowLeft: () => move(-1),
      s: () => startDrill(true), Escape: stopDrill,
    };
    const action = actions[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (action) {
      event.preventDefault();
      event.stopPropagation();
      action();
    }
  }, true);

  controls.hidden = false;
  applyFilters();
})();
