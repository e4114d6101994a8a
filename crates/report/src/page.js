// Sorting and filtering of the tables the page already holds; the page reads the same
// without this script. The errors table's filter lives in the address too:
// report.html#column=Email&rule=platform&source=validation&q=text
(function () {
  'use strict';

  function cellText(row, i) {
    var c = row.cells[i];
    return c ? c.textContent : '';
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, i) {
      th.classList.add('sortable');
      th.setAttribute('tabindex', '0');
      var sort = function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var down = th.getAttribute('aria-sort') === 'ascending';
        var numeric = rows.every(function (r) {
          var t = cellText(r, i).replace(/,/g, '').trim();
          return t === '' || !isNaN(Number(t));
        });
        rows.sort(function (a, b) {
          var x = cellText(a, i), y = cellText(b, i);
          var d = numeric ? (Number(x.replace(/,/g, '')) || 0) - (Number(y.replace(/,/g, '')) || 0)
                          : x.localeCompare(y);
          return down ? -d : d;
        });
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); }
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('table.sortable-table'), makeSortable);

  var table = document.getElementById('errors');
  var form = document.getElementById('errors-filters');
  if (!table || !form) { return; }
  form.hidden = false;
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  var index = {};
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    index[th.getAttribute('data-col')] = i;
  });
  var controls = {
    app: document.getElementById('f-app'),
    column: document.getElementById('f-column'),
    rule: document.getElementById('f-rule'),
    source: document.getElementById('f-source'),
    q: document.getElementById('f-q')
  };
  var shown = document.getElementById('errors-shown');
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);

  function readHash() {
    var out = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (pair) {
      if (!pair) { return; }
      var kv = pair.split('=');
      try { out[decodeURIComponent(kv[0])] = decodeURIComponent(kv.slice(1).join('=')); } catch (e) { /* a bad escape: ignored */ }
    });
    return out;
  }

  function current() {
    var f = {};
    Object.keys(controls).forEach(function (k) {
      if (controls[k] && controls[k].value) { f[k] = controls[k].value; }
    });
    return f;
  }

  function apply(f) {
    var q = (f.q || '').toLowerCase();
    var n = 0;
    rows.forEach(function (r) {
      var ok = true;
      if (f.app && index.app !== undefined) { ok = cellText(r, index.app) === f.app; }
      if (ok && f.column) {
        ok = cellText(r, index.header) === f.column || cellText(r, index.column) === f.column;
      }
      if (ok && f.rule) { ok = cellText(r, index.rule) === f.rule; }
      if (ok && f.source) { ok = cellText(r, index.source) === f.source; }
      if (ok && q) { ok = r.textContent.toLowerCase().indexOf(q) >= 0; }
      r.hidden = !ok;
      if (ok) { n += 1; }
    });
    if (shown) { shown.textContent = String(n); }
  }

  function fromHash() {
    var f = readHash();
    Object.keys(controls).forEach(function (k) {
      var c = controls[k];
      if (!c) { return; }
      var v = f[k] || '';
      if (c.tagName === 'SELECT' && v && !Array.prototype.some.call(c.options, function (o) { return o.value === v; })) {
        var o = document.createElement('option');
        o.value = v;
        o.textContent = v;
        c.appendChild(o);
      }
      c.value = v;
    });
    apply(current());
  }

  function toHash() {
    var f = current();
    var parts = Object.keys(f).map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(f[k]); });
    history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname + location.search);
    apply(f);
  }

  Object.keys(controls).forEach(function (k) {
    if (controls[k]) { controls[k].addEventListener(k === 'q' ? 'input' : 'change', toHash); }
  });
  window.addEventListener('hashchange', fromHash);
  fromHash();
}());
