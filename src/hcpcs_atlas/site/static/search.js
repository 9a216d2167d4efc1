// hcpcs-atlas static site search: loads search-index.json once, ranks like the web application
// (code > drug name > short > long descriptor; whole word x2 over a prefix; every term must match;
// NDC in any hyphenation). No inline script, no innerHTML: every string goes in as text.
(function () {
  "use strict";
  var WEIGHTS = { code: 100, drug: 40, short: 25, long: 20 };
  var FIELDS = ["code", "long", "short", "drug"];
  var LABELS = { code: "code", ndc: "NDC", drug: "drug name", short: "short descriptor", long: "descriptor" };
  var docs = null;

  function words(text) { return (text || "").toLowerCase().match(/[a-z0-9]+/g) || []; }

  function ndcKeys(q) {
    q = q.trim();
    if (!/^\d[\d\s-]{8,12}\d$/.test(q)) return [];
    var parts = q.split(/[\s-]+/).filter(Boolean);
    var widths = [5, 4, 2];
    if (parts.length === 3 && parts.every(function (p, i) { return p.length <= widths[i]; })) {
      return [parts.map(function (p, i) { return ("00000" + p).slice(-widths[i]); }).join("")];
    }
    var d = parts.join("");
    if (d.length === 11) return [d];
    if (d.length === 10) return ["0" + d, d.slice(0, 5) + "0" + d.slice(5), d.slice(0, 9) + "0" + d.slice(9)];
    return [];
  }

  function prepare(index) {
    return index.docs.map(function (row) {
      var doc = { code: row[0], long: row[1], short: row[2] || row[1], drug: row[3], ndcs: row[4] ? row[4].split(" ") : [],
                  terminated: row[5] || null, words: {} };
      FIELDS.forEach(function (f) { doc.words[f] = words(doc[f]); });
      return doc;
    });
  }

  function termScore(doc, term) {
    var best = null;
    FIELDS.forEach(function (f) {
      doc.words[f].forEach(function (w) {
        if (w.lastIndexOf(term, 0) !== 0) return;
        var s = WEIGHTS[f] * (w === term ? 2 : 1);
        if (!best || s > best.score) best = { score: s, field: f };
      });
    });
    return best;
  }

  function search(q) {
    var keys = ndcKeys(q), digits = q.trim().replace(/-/g, ""), hits = [];
    if (keys.length || (/^\d+$/.test(digits) && digits.length >= 5 && digits.length < 11)) {
      docs.forEach(function (doc) {
        var plain = doc.ndcs.map(function (n) { return n.replace(/-/g, ""); });
        var ok = plain.some(function (n) { return keys.length ? keys.indexOf(n) >= 0 : n.lastIndexOf(digits, 0) === 0; });
        if (ok) hits.push({ doc: doc, score: 180, field: "ndc" });
      });
      if (hits.length) return hits;
    }
    var terms = words(q).filter(function (t, i, all) { return all.indexOf(t) === i; });
    if (!terms.length) return [];
    docs.forEach(function (doc) {
      var total = 0, field = null, top = -1;
      for (var i = 0; i < terms.length; i++) {
        var best = termScore(doc, terms[i]);
        if (!best) return;
        total += best.score;
        if (best.score > top) { top = best.score; field = best.field; }
      }
      hits.push({ doc: doc, score: total, field: field });
    });
    hits.sort(function (a, b) {
      return b.score - a.score || (a.doc.terminated ? 1 : 0) - (b.doc.terminated ? 1 : 0) ||
        (a.doc.code < b.doc.code ? -1 : a.doc.code > b.doc.code ? 1 : 0);
    });
    return hits;
  }

  function marked(parent, text, terms) {
    var re = /[A-Za-z0-9]+/g, pos = 0, m;
    while ((m = re.exec(text)) !== null) {
      var w = m[0].toLowerCase(), hit = null;
      for (var i = 0; i < terms.length; i++) if (w.lastIndexOf(terms[i], 0) === 0) { hit = terms[i]; break; }
      if (!hit) continue;
      parent.appendChild(document.createTextNode(text.slice(pos, m.index)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(m.index, m.index + hit.length);
      parent.appendChild(mark);
      pos = m.index + hit.length;
    }
    parent.appendChild(document.createTextNode(text.slice(pos)));
  }

  function render(q, hits, list, status) {
    list.textContent = "";
    var terms = words(q);
    status.textContent = !q ? "" : hits.length === 1 ? "1 code matches" : hits.length.toLocaleString("en-US") + " codes match";
    hits.slice(0, 50).forEach(function (h) {
      var li = document.createElement("li"), a = document.createElement("a"), strong = document.createElement("strong");
      a.href = encodeURIComponent(h.doc.code) + ".html";
      if (h.field === "code") marked(strong, h.doc.code, terms); else strong.textContent = h.doc.code;
      a.appendChild(strong);
      li.appendChild(a);
      li.appendChild(document.createTextNode(" "));
      if (h.field === "long") marked(li, h.doc.long, terms); else li.appendChild(document.createTextNode(h.doc.long));
      if (h.doc.terminated) {
        var t = document.createElement("span");
        t.className = "terminated";
        t.textContent = " terminated " + h.doc.terminated;
        li.appendChild(t);
      }
      if (h.field === "drug" || h.field === "short" || h.field === "ndc") {
        li.appendChild(document.createElement("br"));
        var text = h.field === "ndc" ? h.doc.ndcs.join(", ") : h.doc[h.field];
        marked(li, text, h.field === "ndc" ? [] : terms);
      }
      var f = document.createElement("span");
      f.className = "field";
      f.textContent = " matched: " + LABELS[h.field];
      li.appendChild(f);
      list.appendChild(li);
    });
  }

  function start() {
    var form = document.getElementById("search-form"), input = document.getElementById("q");
    var list = document.getElementById("results"), status = document.getElementById("search-status");
    if (!form || !input || !list || !status) return;
    function run() {
      var q = input.value;
      if (!docs) { status.textContent = "Loading the index…"; return; }
      render(q, q.trim() ? search(q) : [], list, status);
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
      run();
    });
    input.addEventListener("input", run);
    var initial = new URLSearchParams(location.search).get("q");
    if (initial) input.value = initial;
    // A script, not fetch(): it loads from file:// too, so the folder works opened from disk.
    var loader = document.createElement("script");
    loader.src = "search-index.js";
    loader.onload = function () {
      docs = prepare(window.HCPCS_ATLAS_INDEX);
      form.setAttribute("data-ready", "true");
      status.textContent = "";
      if (input.value) run();
    };
    loader.onerror = function () { status.textContent = "The search index could not be loaded; browse codes.html."; };
    document.head.appendChild(loader);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
