// gridsearch dashboard: a single-page app over the coordinator's /api/v1.
// Plain ES2017, no build step, no framework. Text that comes from data reaches
// the DOM only through textContent (el() below), never through innerHTML.
'use strict';
(function () {
  const API = '/api/v1', POLL_MS = 1000, TABLES_MS = 2000, PAGE = 100;
  const METRICS = {
    final_train_loss: {label: 'final train loss', key: 'mean_final_train_loss', digits: 4, lower: true, loss: true},
    log_loss_integral: {label: 'log-loss integral', key: 'mean_log_loss_integral', digits: 4, lower: true},
    test_accuracy: {label: 'test accuracy', key: 'mean_test_accuracy', digits: 3, lower: false},
  };
  const JOB_STATES = ['queued', 'leased', 'done', 'failed', 'diverged', 'cancelled'];
  const SEGMENTS = ['done', 'diverged', 'failed', 'running', 'queued', 'cancelled'];
  const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#393b79', '#637939'];
  const PAL2019 = 'Mutschler and Zell, "PAL: A fast DNN optimization method based on curvature information" (2019)';
  const PAL2020 = 'Mutschler and Zell, "Parabolic Approximation Line Search for DNNs" (NeurIPS 2020)';
  const $ = (id) => document.getElementById(id);
  const app = $('app'), banner = $('error-banner'), lastUpdated = $('last-updated'), logoutLink = $('logout');
  let page = null, loginShown = false;

  // ---------- helpers ----------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k === 'data') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat(2)) if (kid !== null && kid !== undefined && kid !== false) e.append(kid);
    return e;
  }
  const td = (text, cls, title) => el('td', {class: cls, text, title});
  const num = (text, cls) => td(text, 'num' + (cls ? ' ' + cls : ''));
  const ths = (list) => el('tr', null, list.map((t) => Array.isArray(t) ? el('th', {class: t[1], text: t[0]}) : el('th', {text: t})));
  const button = (id, text, cls) => el('button', {type: 'button', id, class: cls}, text);
  const clear = (n) => { n.textContent = ''; return n; };
  const setText = (n, t) => { t = String(t); if (n.textContent !== t) n.textContent = t; };
  const nil = (x) => x === null || x === undefined;
  const isNum = (x) => typeof x === 'number' && isFinite(x);
  const orDash = (x) => nil(x) ? '–' : x;
  const arr = (x) => Array.isArray(x) ? x : [];
  function sig(x, n) {
    if (nil(x)) return '–';
    return typeof x === 'number' && isFinite(x) ? String(Number(x.toPrecision(n))) : String(x);
  }
  const fmtMetric = (m, x) => sig(x, METRICS[m] ? METRICS[m].digits : 4);
  function fmtParams(p) {
    if (!p || typeof p !== 'object') return '';
    return Object.keys(p).map((k) => k + '=' + (typeof p[k] === 'number' ? p[k] : JSON.stringify(p[k]))).join(' ');
  }
  function fmtDuration(s) {
    if (!isNum(s) || s < 0) return '–';
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60, pad = (x) => String(x).padStart(2, '0');
    return h ? h + 'h' + pad(m) + 'm' : m ? m + 'm' + pad(r) + 's' : r + 's';
  }
  const fmtRate = (x) => isNum(x) ? x.toFixed(x >= 100 ? 0 : 1) + ' jobs/min' : '–';
  const fmtTime = (t) => isNum(t) ? new Date(t * 1000).toLocaleString() : '–';
  const note = (n, what) => n ? el('span', {class: 'note note-' + what}, what + ' ' + n) : null;
  const partialMark = () => el('span', {class: 'partial-mark', title: 'some seeds are still queued or running'}, 'partial');
  // Keyed update of a tbody: rows whose data did not change keep their element,
  // so a click that lands during a live refresh is not lost.
  function patchRows(tbody, items, key, build) {
    const old = new Map();
    for (const tr of Array.from(tbody.children)) { if (tr._key !== undefined) old.set(tr._key, tr); else tr.remove(); }
    let prev = null;
    for (const it of items) {
      const k = String(key(it)), sg = JSON.stringify(it);
      let tr = old.get(k);
      if (!tr || tr._sig !== sg) { if (tr) tr.remove(); tr = build(it); tr._key = k; tr._sig = sg; }
      old.delete(k);
      const at = prev ? prev.nextSibling : tbody.firstChild;
      if (at !== tr) tbody.insertBefore(tr, at);
      prev = tr;
    }
    for (const tr of old.values()) tr.remove();
  }
  function unchanged(node, data) { const j = JSON.stringify(data); if (node._last === j) return true; node._last = j; return false; }
  const emptyRow = (tbody, cols, text) => tbody.append(el('tr', {class: 'empty'}, el('td', {colspan: cols, text})));
  const setUpdated = () => setText(lastUpdated, 'updated ' + new Date().toLocaleTimeString());
  function showBanner(msg) { setText(banner, msg); banner.hidden = false; }
  const hideBanner = () => { banner.hidden = true; };
  function outageBanner(e, prefix) {
    const since = lastUpdated.textContent ? ' The data shown is from ' + lastUpdated.textContent.replace(/^updated /, '') + '.' : '';
    showBanner((isOutage(e) ? (e.status ? 'The coordinator answered ' + e.status + ': ' : '') : prefix) + e.message + ' — retrying every second.' + since);
  }

  // ---------- API ----------
  class ApiError extends Error { constructor(status, message) { super(message); this.status = status; } }
  async function api(path, opts) {
    opts = opts || {};
    const init = {credentials: 'same-origin', headers: {Accept: 'application/json'}};
    if (opts.body !== undefined) {
      init.method = 'POST';
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    let res, body = null;
    try { res = await fetch(API + path, init); } catch (e) {
      throw new ApiError(0, 'Cannot reach the coordinator (' + (e && e.message || 'network error') + ')');
    }
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      const msg = body && typeof body.error === 'string' ? body.error : 'HTTP ' + res.status + ' ' + res.statusText;
      if (res.status === 401 && !opts.noLogin) showLogin(msg);
      throw new ApiError(res.status, msg);
    }
    if (body === null) throw new ApiError(res.status, 'the coordinator sent a response that is not JSON');
    return body;
  }
  // "The server is not there", as opposed to a refused request.
  const isOutage = (e) => e instanceof ApiError && [0, 502, 503, 504].includes(e.status);
  // Calls fn every ms, skipping a tick while the previous call is in flight.
  function poller(fn, ms) {
    let busy = false, stopped = false;
    const tick = async () => {
      if (busy || stopped) return;
      busy = true;
      try { await fn(); } catch (e) { /* fn shows its own errors */ } finally { busy = false; }
    };
    const id = setInterval(tick, ms);
    tick();
    return {stop() { stopped = true; clearInterval(id); }, now: tick};
  }

  // ---------- progress bar ----------
  function progressBar() {
    const segs = SEGMENTS.map((s) => el('span', {class: 'seg seg-' + s, data: {state: s}}));
    const bar = el('div', {class: 'progress', role: 'img'}, segs);
    bar.update = (S) => {
      const parts = [];
      SEGMENTS.forEach((s, i) => {
        const n = S[s] || 0;
        segs[i].style.width = (S.total > 0 ? 100 * n / S.total : 0).toFixed(3) + '%';
        segs[i].title = s + ': ' + n;
        segs[i].dataset.count = n;
        if (n) parts.push(s + ' ' + n);
      });
      bar.title = parts.join(', ');
      bar.setAttribute('aria-label', bar.title || 'no jobs');
    };
    return bar;
  }
  const legend = () => el('div', {class: 'legend'},
    SEGMENTS.map((s) => el('span', {class: 'legend-item'}, el('span', {class: 'swatch seg-' + s}), s)));

  // ---------- routing ----------
  function navigate(path) {
    if (path !== location.pathname) history.pushState(null, '', path);
    route();
  }
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    if (a === logoutLink) { ev.preventDefault(); logout(); return; }
    const href = a.getAttribute('href');
    if (!href || a.hasAttribute('download') || a.target || !/^\/(?!api\/|static\/)/.test(href)) return;
    ev.preventDefault();
    navigate(href);
  });
  window.addEventListener('popstate', () => { if (!loginShown) route(); });
  function stopPage() {
    if (page) try { page.stop(); } catch (e) { /* already gone */ }
    page = null;
  }
  function route() {
    stopPage();
    hideBanner();
    loginShown = false;
    const path = location.pathname.replace(/\/+$/, '') || '/';
    const m = /^\/sweeps\/(\d+)$/.exec(path);
    if (path === '/' || path === '/sweeps') page = sweepsPage();
    else if (m) page = sweepPage(Number(m[1]));
    else {
      document.title = 'not found — gridsearch';
      clear(app).append(el('section', {class: 'card'}, el('h1', {text: 'Page not found'}),
        el('p', null, 'Nothing lives at ', el('code', {text: path}), '. ', el('a', {href: '/'}, 'All sweeps'))));
    }
  }

  // ---------- session / login ----------
  async function start() {
    for (;;) {
      try {
        const s = await api('/session', {noLogin: true});
        logoutLink.hidden = !s.auth_required;
        hideBanner();
        if (s.auth_required && !s.authenticated) showLogin(null); else route();
        return;
      } catch (e) {
        if (e.status === 401) { showLogin(null); return; }
        showBanner(e.message + ' — retrying…');
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    }
  }
  function showLogin(message) {
    stopPage();
    hideBanner();
    logoutLink.hidden = true;
    if (loginShown) {
      const e = $('login-error');
      if (e && message) { setText(e, message); e.hidden = false; }
      return;
    }
    loginShown = true;
    document.title = 'log in — gridsearch';
    const input = el('input', {type: 'password', id: 'token', name: 'token', autocomplete: 'current-password', required: true, placeholder: 'access token'});
    const errorP = el('p', {id: 'login-error', class: 'error', role: 'alert', hidden: !message, text: message || ''});
    const btn = el('button', {type: 'submit', id: 'login', class: 'primary'}, 'log in');
    const form = el('form', {id: 'login-form', class: 'card login'}, el('h1', {text: 'Log in'}),
      el('p', {class: 'muted'}, 'This coordinator needs its access token (the contents of its --token-file).'),
      el('input', {type: 'text', name: 'username', autocomplete: 'username', value: 'gridsearch', hidden: true}),
      el('label', {for: 'token'}, 'token'), input, btn, errorP);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      btn.disabled = true;
      try {
        await api('/login', {body: {token: input.value}, noLogin: true});
        logoutLink.hidden = false;
        route();   // continue to the page that was asked for
      } catch (e) {
        setText(errorP, e.message);
        errorP.hidden = false;
        input.select();
      } finally { btn.disabled = false; }
    });
    clear(app).append(form);
    input.focus();
  }
  async function logout() {
    try { await api('/logout', {body: {}, noLogin: true}); } catch (e) { /* the session check tells */ }
    stopPage();
    loginShown = false;
    start();
  }

  // ---------- Sweeps page ----------
  function sweepsPage() {
    document.title = 'sweeps — gridsearch';
    let stopped = false;
    const tbody = el('tbody');
    const empty = el('p', {class: 'muted', id: 'no-sweeps', hidden: true}, 'No sweeps yet. Submit one with ', el('code', {text: 'gridsearch submit SPEC'}), '.');
    const table = el('table', {id: 'sweeps', class: 'data'}, el('thead', null,
      ths([['id', 'num'], 'name', 'state', 'model / data set', 'progress', ['done', 'num'], ['throughput', 'num'], ['ETA', 'num'], ['workers', 'num']])), tbody);
    clear(app).append(el('section', {class: 'card'}, el('div', {class: 'section-head'}, el('h1', {text: 'Sweeps'}), legend()),
      el('div', {class: 'table-wrap'}, table), empty));
    const rows = new Map();
    function makeRow(S) {
      const r = {id: el('a', {href: '/sweeps/' + S.sweep_id}), name: el('a', {href: '/sweeps/' + S.sweep_id}), state: el('span', {class: 'state'}), bar: progressBar()};
      r.c = [num(), td('', 'model'), num(), num(), num(), num()];
      r.tr = el('tr', {data: {sweepId: S.sweep_id}}, el('td', {class: 'num'}, r.id), el('td', {class: 'name'}, r.name),
        el('td', null, r.state), r.c[1], el('td', {class: 'progress-cell'}, r.bar), r.c[2], r.c[3], r.c[4], r.c[5]);
      return r;
    }
    function render(data) {
      const sweeps = arr(data.sweeps);
      empty.hidden = sweeps.length > 0;
      table.hidden = !sweeps.length;
      const seen = new Set();
      let prev = null;
      for (const S of sweeps) {
        seen.add(S.sweep_id);
        let r = rows.get(S.sweep_id);
        if (!r) rows.set(S.sweep_id, r = makeRow(S));
        setText(r.id, S.sweep_id);
        setText(r.name, S.name || '(unnamed)');
        setText(r.state, S.state);
        r.state.className = 'state state-' + S.state;
        setText(r.c[1], (S.model || '?') + ' on ' + (S.dataset || '?'));
        r.bar.update(S);
        setText(r.c[2], (S.done || 0) + '/' + (S.total || 0));
        setText(r.c[3], fmtRate(S.jobs_per_minute));
        setText(r.c[4], S.state === 'running' ? fmtDuration(S.eta_seconds) : '–');
        setText(r.c[5], orDash(S.active_workers));
        r.tr.title = 'created ' + fmtTime(S.created_at);
        const at = prev ? prev.nextSibling : tbody.firstChild;
        if (at !== r.tr) tbody.insertBefore(r.tr, at);
        prev = r.tr;
      }
      for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
    }
    const p = poller(async () => {
      try {
        const data = await api('/sweeps');
        if (stopped) return;
        hideBanner();
        render(data);
        setUpdated();
      } catch (e) {
        if (!stopped && e.status !== 401) outageBanner(e, 'Could not load the sweeps: ');
      }
    }, POLL_MS);
    return {stop() { stopped = true; p.stop(); }};
  }

  // ---------- Sweep page ----------
  function sweepPage(id) {
    const base = '/sweeps/' + id;
    const st = {
      stopped: false, metric: 'final_train_loss', detail: null, summary: null, results: null, rows: [],
      sortKey: 'rank', sortDir: 1, filter: 'all', rankPage: 0,
      shown: new Map(), removedBest: new Set(),   // config_id -> {curve, color, origin: 'best' | 'user'}
      lossChart: null, boxChart: null, lrChart: null, boxStats: [],
      jobState: '', jobOffset: 0, jobsTotal: 0, jobsSeq: 0, finished: null, lastTables: 0,
      tablesTimer: null, tablesBusy: false, tablesAgain: 0, polls: 0,
    };
    document.title = 'sweep ' + id + ' — gridsearch';
    const h = {};
    const msgP = () => el('p', {class: 'section-error', hidden: true});
    const wrap = (t) => el('div', {class: 'table-wrap'}, t);
    const cite = (text) => el('p', {class: 'cite'}, text);
    const hint = (text) => el('p', {class: 'hint muted'}, text);
    const card = (sid, ...kids) => el('section', {class: 'card', id: sid}, kids);
    const head = (title, ...controls) => el('div', {class: 'section-head'}, title, el('div', {class: 'controls'}, controls));
    const select = (sid, opts) => el('select', {id: sid}, opts.map(([v, t]) => el('option', {value: v, text: t})));

    // header
    h.name = el('h1', {id: 'sweep-name', text: 'sweep ' + id});
    h.state = el('span', {id: 'sweep-state', class: 'state'});
    h.facts = el('dl', {class: 'facts', id: 'sweep-facts'});
    h.bar = progressBar();
    h.bar.id = 'sweep-progress';
    h.counts = el('div', {class: 'counts muted', id: 'sweep-counts'});
    h.cancel = button('cancel', 'Cancel', 'danger');
    h.retry = button('retry', 'Retry failed');
    h.msg = el('span', {id: 'action-message', class: 'action-message', role: 'status'});
    h.specPre = el('pre', {id: 'spec-json', class: 'json'});
    h.partial = el('div', {id: 'partial-banner', class: 'banner banner-partial', hidden: true});
    h.pageError = el('div', {id: 'page-error', class: 'banner banner-error', hidden: true});
    const header = card('sweep-header',
      el('div', {class: 'section-head'}, el('div', {class: 'title'}, el('a', {href: '/', class: 'back'}, '← sweeps'), h.name, h.state),
        el('div', {class: 'actions'}, h.msg, h.retry, h.cancel)),
      h.facts, el('div', {class: 'progress-row'}, h.bar, h.counts), legend(),
      el('div', {class: 'spec-row'}, el('details', {id: 'spec'}, el('summary', {text: 'spec'}), h.specPre),
        el('a', {id: 'spec-download', href: API + base + '/spec', download: 'sweep-' + id + '-spec.json'}, 'download spec')));

    // ranking
    h.metric = select('metric', Object.keys(METRICS).map((m) => [m, METRICS[m].label]));
    h.filter = select('optimizer-filter', [['all', 'all']]);
    h.rankPrev = button('rank-prev', '‹ previous');
    h.rankNext = button('rank-next', 'next ›');
    h.rankInfo = el('span', {id: 'rank-page-info', class: 'muted'});
    const RANK_COLS = [['rank', 'rank', 'num'], ['optimizer', 'optimizer'], ['params', 'parameters'],
      ['mean_final_train_loss', 'final train loss', 'num'], ['mean_log_loss_integral', 'log-loss integral', 'num'],
      ['mean_test_accuracy', 'test accuracy', 'num'], ['mean_epochs', 'epochs', 'num'], ['seeds', 'seeds'], ['incomplete', 'partial']];
    h.rankHead = el('tr', null, RANK_COLS.map(([k, label, cls]) => el('th', {class: 'sortable ' + (cls || ''), data: {sort: k}, tabindex: 0, title: 'sort by ' + label},
      label, el('span', {class: 'arrow'}))));
    h.rankBody = el('tbody');
    h.rankMsg = msgP();
    const rankingSec = card('ranking-section',
      head(el('h2', {text: 'Ranking'}), el('label', null, 'metric ', h.metric), el('label', null, 'optimizer ', h.filter), h.rankPrev, h.rankInfo, h.rankNext),
      h.partial, hint('Mean over seeds. Click a header to sort; click a row to add or remove its loss curve.'),
      wrap(el('table', {id: 'ranking', class: 'data clickable-rows'}, el('thead', null, h.rankHead), h.rankBody)), h.rankMsg);

    // the tables from PAL 2019
    h.bestHead = el('thead');
    h.bestBody = el('tbody');
    h.bestMsg = msgP();
    const bestSec = card('best-section', el('h2', {text: 'Best configuration per optimizer'}),
      wrap(el('table', {id: 'best', class: 'data'}, h.bestHead, h.bestBody)), h.bestMsg, cite('As Table 3 of ' + PAL2019 + '.'));
    h.ablHead = el('thead');
    h.ablBody = el('tbody');
    h.ablMsg = msgP();
    h.ablTitle = el('h2', {text: 'Ablation'});
    const ablSec = card('ablation-section', h.ablTitle, wrap(el('table', {id: 'ablation', class: 'data'}, h.ablHead, h.ablBody)), h.ablMsg,
      cite('As Table 1 of ' + PAL2019 + '. ✓: the feature is on, –: off; rank and value of each group’s best configuration.'));
    ablSec.hidden = true;
    h.epochsBody = el('tbody');
    h.epochsMsg = msgP();
    const epochsSec = card('epochs-section', el('h2', {text: 'Epochs within the budget'}),
      wrap(el('table', {id: 'epochs', class: 'data'}, el('thead', null, ths(['optimizer', ['jobs', 'num'], ['mean epochs', 'num'], ['mean steps', 'num'],
        ['mean train seconds', 'num'], ['best config epochs', 'num'], 'best config parameters'])), h.epochsBody)),
      h.epochsMsg, cite('As Table 2 of ' + PAL2019 + '.'));

    // charts
    h.lossCanvas = el('canvas', {id: 'loss-chart', 'aria-label': 'loss curves over time'});
    h.shownList = el('ul', {id: 'shown-curves', class: 'shown-curves'});
    h.lossMsg = msgP();
    const lossSec = card('loss-section', el('h2', {text: 'Loss curves'}),
      hint('Mean training loss over seeds against training time, with the min–max band over seeds. At first each optimizer’s best configuration; click ranking rows to add or remove curves.'),
      el('div', {class: 'chart-box'}, h.lossCanvas), h.shownList, h.lossMsg, cite('As Figure 2 of ' + PAL2019 + '.'));
    h.boxCanvas = el('canvas', {id: 'box-chart', 'aria-label': 'box plots of the final metric per optimizer'});
    h.boxTitle = el('h2', {text: 'Distribution of the final train loss over configurations'});
    h.boxMsg = msgP();
    const boxSec = card('box-section', h.boxTitle,
      hint('Per optimizer, over all its configurations and over its best 25%: box from the first to the third quartile, whiskers from min to max, and the median of the configurations’ means.'),
      el('div', {class: 'chart-box'}, h.boxCanvas), h.boxMsg);
    h.lrCanvas = el('canvas', {id: 'lr-chart', 'aria-label': 'PAL effective learning rate over time'});
    h.lrInfo = el('p', {class: 'hint muted', id: 'lr-info'});
    h.lrMsg = msgP();
    const lrSec = card('lr-section', el('h2', {text: 'PAL’s effective learning rate'}), h.lrInfo,
      el('div', {class: 'chart-box small'}, h.lrCanvas), h.lrMsg, cite('As in ' + PAL2020 + '.'));
    lrSec.hidden = true;

    // jobs
    h.jobState = select('job-state', [['', 'all']].concat(JOB_STATES.map((s) => [s, s])));
    h.jobsPrev = button('jobs-prev', '‹ previous');
    h.jobsNext = button('jobs-next', 'next ›');
    h.jobsInfo = el('span', {id: 'jobs-page-info', class: 'muted'});
    h.jobsBody = el('tbody');
    h.jobsMsg = msgP();
    const jobsSec = card('jobs-section', head(el('h2', {text: 'Jobs'}), el('label', null, 'state ', h.jobState), h.jobsPrev, h.jobsInfo, h.jobsNext),
      wrap(el('table', {id: 'jobs', class: 'data'}, el('thead', null, ths([['job', 'num'], 'optimizer', 'parameters', ['seed', 'num'], 'state', 'worker', 'device',
        ['attempts', 'num'], ['final train loss', 'num'], ['steps', 'num'], 'error'])), h.jobsBody)), h.jobsMsg);

    clear(app).append(h.pageError, header, rankingSec, bestSec, ablSec, epochsSec, lossSec, boxSec, lrSec, jobsSec);

    function sectionError(node, e) {
      node.hidden = !e;
      if (e) setText(node, e.message || String(e));
    }

    // --- header ---
    function renderHeader() {
      const d = st.detail || {}, S = st.summary;
      if (!S) return;
      setText(h.name, S.name || 'sweep ' + id);
      document.title = (S.name || 'sweep ' + id) + ' — gridsearch';
      setText(h.state, S.state);
      h.state.className = 'state state-' + S.state;
      const facts = [['model', S.model], ['data set', S.dataset], ['budget per job', isNum(S.budget_seconds) ? sig(S.budget_seconds, 6) + ' s' : '–'],
        ['seeds', arr(d.seeds).join(', ')], ['configurations', d.configurations], ['optimizers', arr(d.optimizers).join(', ')],
        ['throughput', fmtRate(S.jobs_per_minute)], ['ETA', S.state === 'running' ? fmtDuration(S.eta_seconds) : '–'],
        ['active workers', S.active_workers], ['created', fmtTime(S.created_at)]];
      if (d.program && Array.isArray(d.program.command)) facts.push(['program', d.program.command.join(' ')]);
      if (d.ablation) facts.push(['ablation', d.ablation.optimizer + ': ' + Object.keys(d.ablation.features || {}).join(', ')]);
      if (h.facts.childElementCount !== facts.length * 2) {
        clear(h.facts).append(...facts.map(([k]) => [el('dt', {text: k}), el('dd', {data: {fact: k}})]).flat());
      }
      facts.forEach(([, v], i) => setText(h.facts.children[2 * i + 1], nil(v) || v === '' ? '–' : v));
      h.bar.update(S);
      const parts = [(S.done || 0) + '/' + (S.total || 0) + ' done'];
      for (const s of SEGMENTS.slice(1)) if (S[s]) parts.push(S[s] + ' ' + s);
      setText(h.counts, parts.join(' · '));
      h.cancel.disabled = S.state !== 'running';
      h.retry.disabled = !(S.failed > 0);
      const pending = (S.queued || 0) + (S.running || 0);
      h.partial.hidden = !(d.partial || (st.results && st.results.partial) || pending > 0);
      setText(h.partial, 'partial: ' + pending + ' of ' + (S.total || 0) + ' jobs still queued or running');
    }
    async function loadDetail(first) {
      try {
        const d = await api(base);
        if (st.stopped) return;
        hideBanner();
        h.pageError.hidden = true;
        st.detail = d;
        st.summary = d.summary || {};
        if (first) {
          h.specPre.textContent = JSON.stringify(d.spec === undefined ? null : d.spec, null, 2);
          for (const o of arr(d.optimizers)) h.filter.append(el('option', {value: o, text: o}));
          ablSec.hidden = !d.ablation;
          if (d.ablation) setText(h.ablTitle, 'Ablation of ' + d.ablation.optimizer);
          lrSec.hidden = !arr(d.optimizers).includes('pal');
        }
        renderHeader();
        setUpdated();
        const S = st.summary;
        const fin = [S.done, S.diverged, S.failed, S.cancelled, S.state].join();
        if (fin !== st.finished) { st.finished = fin; scheduleTables(); }
        if (!first && ++st.polls % 2 === 0) loadJobs();   // the jobs table follows the sweep, every 2 s
      } catch (e) {
        if (st.stopped || e.status === 401) return;
        if (isOutage(e)) outageBanner(e, '');
        else { setText(h.pageError, e.message); h.pageError.hidden = false; }
        if (e.status === 404 && !st.detail) p.stop();
        throw e;
      }
    }

    // --- tables: refreshed when jobs finish, at most once every TABLES_MS ---
    function scheduleTables(now) {
      if (st.stopped) return;
      if (st.tablesBusy) { st.tablesAgain = Math.max(st.tablesAgain, now ? 2 : 1); return; }
      if (st.tablesTimer) { if (!now) return; clearTimeout(st.tablesTimer); }
      st.tablesTimer = setTimeout(refreshTables, now ? 0 : Math.max(0, st.lastTables + TABLES_MS - Date.now()));
    }
    async function refreshTables() {
      st.tablesTimer = null;
      if (st.stopped) return;
      st.tablesBusy = true;
      st.lastTables = Date.now();
      const metric = st.metric, q = '?metric=' + metric, abl = st.detail && st.detail.ablation;
      const get = (path, render, msg) => api(base + path).then((r) => { if (metric === st.metric) render(r); }, (e) => sectionError(msg, e));
      const all = [get('/results' + q, setResults, h.rankMsg), get('/best' + q + (abl ? '&split=all' : ''), renderBest, h.bestMsg),
        get('/epochs' + q, renderEpochs, h.epochsMsg), refreshCurves(metric)];
      if (abl) all.push(get('/ablation', renderAblation, h.ablMsg));
      await Promise.all(all);
      if (st.stopped) return;
      await refreshLr();
      st.tablesBusy = false;
      const again = st.tablesAgain;
      st.tablesAgain = 0;
      if (again) scheduleTables(again === 2);
    }

    // --- ranking ---
    function setResults(r) {
      sectionError(h.rankMsg, null);
      st.results = r;
      st.rows = arr(r.rows);
      st.rows.forEach((row, i) => { row._i = i; row._p = fmtParams(row.params); });
      const have = new Set(Array.from(h.filter.options, (o) => o.value));
      for (const row of st.rows) if (!have.has(row.optimizer)) { have.add(row.optimizer); h.filter.append(el('option', {value: row.optimizer, text: row.optimizer})); }
      renderRanking();
      renderHeader();
      renderBox();
    }
    function sortValue(row, key) {
      if (key === 'params') return row._p;
      if (key === 'seeds') return row.seeds_total ? row.seeds_done / row.seeds_total : 0;
      if (key === 'incomplete') return row.incomplete ? 1 : 0;
      return row[key];
    }
    function sortedRows() {
      const key = st.sortKey, dir = st.sortDir;
      const rows = st.filter === 'all' ? st.rows.slice() : st.rows.filter((r) => r.optimizer === st.filter);
      const missing = (x) => nil(x) || (typeof x === 'number' && isNaN(x));
      return rows.sort((a, b) => {
        const x = sortValue(a, key), y = sortValue(b, key), xm = missing(x), ym = missing(y);
        if (xm || ym) return xm && ym ? a._i - b._i : xm ? 1 : -1;   // missing values last, either way
        const c = typeof x === 'string' ? (x < y ? -1 : x > y ? 1 : 0) : x - y;
        return c ? c * dir : a._i - b._i;
      });
    }
    function rankRow(row) {
      return el('tr', {data: {configId: row.config_id}, class: [row.incomplete && 'incomplete', st.shown.has(row.config_id) && 'selected'].filter(Boolean).join(' ') || null,
        tabindex: 0, title: 'configuration ' + row.config_id + ': click to show or hide its loss curve'},
      num(orDash(row.rank)), td(row.optimizer), td(row._p, 'params'),
      num(fmtMetric('final_train_loss', row.mean_final_train_loss)), num(fmtMetric('log_loss_integral', row.mean_log_loss_integral)),
      num(fmtMetric('test_accuracy', row.mean_test_accuracy)), num(sig(row.mean_epochs, 3)),
      el('td', {class: 'seeds'}, row.seeds_done + '/' + row.seeds_total, note(row.diverged, 'diverged'), note(row.failed, 'failed')),
      el('td', null, row.incomplete ? partialMark() : null));
    }
    function renderRanking() {
      const rows = sortedRows();
      const pages = Math.max(1, Math.ceil(rows.length / PAGE));
      st.rankPage = Math.min(st.rankPage, pages - 1);
      const from = st.rankPage * PAGE, slice = rows.slice(from, from + PAGE);
      patchRows(h.rankBody, slice, (r) => r.config_id, rankRow);
      markSelected();
      if (!rows.length) emptyRow(h.rankBody, RANK_COLS.length, st.results ? 'no configurations' : 'loading…');
      setText(h.rankInfo, (rows.length ? from + 1 : 0) + '–' + (from + slice.length) + ' of ' + rows.length);
      h.rankPrev.disabled = st.rankPage === 0;
      h.rankNext.disabled = st.rankPage >= pages - 1;
      for (const th of h.rankHead.children) {
        const on = th.dataset.sort === st.sortKey;
        th.classList.toggle('sorted', on);
        th.setAttribute('aria-sort', on ? (st.sortDir > 0 ? 'ascending' : 'descending') : 'none');
        setText(th.lastChild, on ? (st.sortDir > 0 ? ' ▲' : ' ▼') : '');
      }
    }
    const markSelected = () => { for (const tr of h.rankBody.children) tr.classList.toggle('selected', st.shown.has(Number(tr.dataset.configId))); };
    function onSort(th) {
      const t0 = performance.now(), key = th.dataset.sort;
      if (st.sortKey === key) st.sortDir = -st.sortDir; else { st.sortKey = key; st.sortDir = 1; }
      st.rankPage = 0;
      renderRanking();
      dash.lastSortMs = performance.now() - t0;
      console.debug('gridsearch: sorted ' + st.rows.length + ' rows by ' + key + ' in ' + dash.lastSortMs.toFixed(1) + ' ms');
    }
    h.rankHead.addEventListener('click', (ev) => { const th = ev.target.closest('th'); if (th) onSort(th); });
    h.rankHead.addEventListener('keydown', (ev) => {
      const th = ev.target.closest('th');
      if (th && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); onSort(th); }
    });
    h.rankPrev.onclick = () => { st.rankPage = Math.max(0, st.rankPage - 1); renderRanking(); };
    h.rankNext.onclick = () => { st.rankPage++; renderRanking(); };
    h.filter.onchange = () => { st.filter = h.filter.value; st.rankPage = 0; renderRanking(); };
    h.metric.onchange = () => {
      st.metric = h.metric.value;
      setText(h.boxTitle, 'Distribution of the ' + METRICS[st.metric].label + ' over configurations');
      scheduleTables(true);
    };
    for (const type of ['click', 'keydown']) {
      h.rankBody.addEventListener(type, (ev) => {
        const tr = ev.target.closest('tr[data-config-id]');
        if (tr && (type === 'click' || ev.key === 'Enter')) toggleCurve(Number(tr.dataset.configId));
      });
    }

    // --- best per optimizer, ablation, epochs ---
    function renderBest(r) {
      if (unchanged(h.bestBody, r)) return;
      sectionError(h.bestMsg, null);
      const metric = METRICS[r.metric] ? r.metric : st.metric, M = METRICS[metric], rows = arr(r.rows);
      clear(h.bestHead).append(ths(['group', ['rank', 'num'], [M.label, 'num'], 'seeds', ['configurations', 'num'], 'parameters']));
      clear(h.bestBody).append(...rows.map((b) => el('tr', {class: b.incomplete ? 'incomplete' : null, data: nil(b.config_id) ? null : {configId: b.config_id}},
        td(b.group || b.optimizer), num(orDash(b.rank)), num(fmtMetric(metric, b[M.key])),
        el('td', {class: 'seeds'}, nil(b.seeds_done) ? '–' : b.seeds_done + '/' + b.seeds_total, note(b.diverged, 'diverged'), b.incomplete ? partialMark() : null),
        num(orDash(b.configurations)), td(fmtParams(b.params), 'params'))));
      if (!rows.length) emptyRow(h.bestBody, 6, 'no results yet');
    }
    function renderAblation(r) {
      if (unchanged(h.ablBody, r)) return;
      sectionError(h.ablMsg, null);
      const rows = arr(r.rows), a = st.detail && st.detail.ablation;
      let feats = a && a.features ? Object.keys(a.features) : [];
      if (!feats.length && rows.length) feats = Object.keys(rows[0].features || {});
      const group = (text, colspan) => el('th', {colspan, class: 'group', text});
      clear(h.ablHead).append(
        el('tr', null, group('features', feats.length), el('th', {rowspan: 2, class: 'num', text: 'configurations'}),
          group('final train loss', 2), group('log-loss integral', 2)),
        ths(feats.map((f) => [f.replace(/_/g, ' '), 'feature']).concat([['rank', 'num'], ['value', 'num'], ['rank', 'num'], ['value', 'num']])));
      const cells = (x, metric) => {
        if (!x) return [num('–'), num('–')];
        const title = fmtParams(x.params) + (x.diverged ? ' · diverged ' + x.diverged : '') + (x.incomplete ? ' · partial' : '');
        return [td(orDash(x.rank), 'num', title), td(fmtMetric(metric, x.value), 'num' + (x.incomplete ? ' incomplete-cell' : ''), title)];
      };
      clear(h.ablBody).append(...rows.map((g) => el('tr', null,
        feats.map((f) => { const on = g.features && g.features[f]; return td(on ? '✓' : '–', 'feature ' + (on ? 'on' : 'off'), f + (on ? ' on' : ' off')); }),
        num(orDash(g.configurations)), cells(g.final_train_loss, 'final_train_loss'), cells(g.log_loss_integral, 'log_loss_integral'))));
      if (!rows.length) emptyRow(h.ablBody, feats.length + 5, 'no results yet');
    }
    function renderEpochs(r) {
      if (unchanged(h.epochsBody, r)) return;
      sectionError(h.epochsMsg, null);
      const rows = arr(r.rows);
      clear(h.epochsBody).append(...rows.map((e) => el('tr', null, td(e.optimizer), num(orDash(e.jobs)), num(sig(e.mean_epochs, 3)),
        num(isNum(e.mean_steps) ? Math.round(e.mean_steps) : '–'), num(sig(e.mean_train_seconds, 3)), num(sig(e.best_config_epochs, 3)),
        td(fmtParams(e.best_config_params), 'params'))));
      if (!rows.length) emptyRow(h.epochsBody, 7, 'no finished jobs yet');
    }

    // --- charts (Chart.js 3) ---
    const Chart = window.Chart;
    const noChart = Chart ? null : new Error('Chart.js did not load; charts are unavailable.');
    function alpha(hex, a) {
      const n = parseInt(hex.slice(1), 16);
      return 'rgba(' + (n >> 16) + ',' + (n >> 8 & 255) + ',' + (n & 255) + ',' + a + ')';
    }
    const curveLabel = (c) => c.optimizer + ' ' + fmtParams(c.params);
    // Three datasets per curve: min (invisible), max (filled down to min), mean.
    function curveDatasets(c, color, label) {
      const ok = (v) => isNum(v) && v > 0;   // the y axis is logarithmic
      const bins = arr(c.bins).filter((b) => b && b.seeds > 0 && ok(b.mean) && isNum(b.time_seconds));
      const band = {pointRadius: 0, pointHoverRadius: 0, borderWidth: 0, borderColor: 'transparent', gsBand: true, configId: c.config_id};
      label = label || curveLabel(c);
      return [
        Object.assign({label: label + ' (min)', data: bins.map((b) => ({x: b.time_seconds, y: ok(b.min) ? b.min : b.mean})), fill: false, backgroundColor: 'transparent'}, band),
        Object.assign({label: label + ' (max)', data: bins.map((b) => ({x: b.time_seconds, y: ok(b.max) ? b.max : b.mean})), fill: '-1', backgroundColor: alpha(color, 0.15)}, band),
        {label, data: bins.map((b) => ({x: b.time_seconds, y: b.mean, min: b.min, max: b.max, seeds: b.seeds})), borderColor: color, backgroundColor: color,
          borderWidth: 2, pointRadius: 0, pointHoverRadius: 3, fill: false, configId: c.config_id},
      ];
    }
    function lineChart(canvas, yTitle, datasets) {
      const xMax = st.summary && st.summary.budget_seconds;
      return new Chart(canvas.getContext('2d'), {type: 'line', data: {datasets}, options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: 'nearest', axis: 'x', intersect: false},
        scales: {x: {type: 'linear', min: 0, max: isNum(xMax) && xMax > 0 ? xMax : undefined, title: {display: true, text: 'training time (s)'}},
          y: {type: 'logarithmic', title: {display: true, text: yTitle}}},
        plugins: {
          legend: {
            labels: {filter: (item, data) => !data.datasets[item.datasetIndex].gsBand, boxWidth: 14},
            onClick: (ev, item, lg) => {   // hide or show a curve together with its band
              const ch = lg.chart, cid = ch.data.datasets[item.datasetIndex].configId, show = !ch.isDatasetVisible(item.datasetIndex);
              ch.data.datasets.forEach((d, i) => { if (d.configId === cid) ch.setDatasetVisibility(i, show); });
              ch.update('none');
            },
          },
          tooltip: {
            filter: (item) => !item.dataset.gsBand,
            callbacks: {
              title: (items) => items.length ? 't = ' + sig(items[0].parsed.x, 4) + ' s' : '',
              label: (ctx) => {
                const r = ctx.raw || {};
                return ctx.dataset.label + ': ' + sig(ctx.parsed.y, 4) +
                  (isNum(r.min) && isNum(r.max) && r.seeds > 1 ? ' (min ' + sig(r.min, 4) + ', max ' + sig(r.max, 4) + ', ' + r.seeds + ' seeds)' : '');
              },
            },
          },
        },
      }});
    }
    function setDatasets(chart, datasets) { chart.data.datasets = datasets; chart.update('none'); }
    function freeColor() {
      const used = new Set(Array.from(st.shown.values(), (s) => s.color));
      return PALETTE.find((c) => !used.has(c)) || PALETTE[st.shown.size % PALETTE.length];
    }
    function renderLoss() {
      const datasets = [];
      for (const s of st.shown.values()) if (s.curve) datasets.push(...curveDatasets(s.curve, s.color));
      if (noChart) sectionError(h.lossMsg, noChart);
      else if (!st.lossChart) st.lossChart = lineChart(h.lossCanvas, 'training loss (mean over seeds)', datasets);
      else setDatasets(st.lossChart, datasets);
      clear(h.shownList);
      for (const [cid, s] of st.shown) {
        const label = s.curve ? curveLabel(s.curve) : 'configuration ' + cid + ' (loading…)';
        h.shownList.append(el('li', {data: {configId: cid}, class: s.origin}, el('span', {class: 'swatch', style: 'background:' + s.color}), label,
          s.origin === 'best' ? el('span', {class: 'muted'}, ' (best)') : null,
          s.curve && !arr(s.curve.bins).some((b) => b.seeds > 0) ? el('span', {class: 'muted'}, ' (no data yet)') : null,
          el('button', {type: 'button', class: 'remove', title: 'remove this curve', 'aria-label': 'remove ' + label, onclick: () => toggleCurve(cid)}, '×')));
      }
      markSelected();
    }
    const curvesUrl = (metric, column, ids) => base + '/curves?metric=' + metric + '&bins=100&column=' + column + (ids ? '&config=' + ids : '');
    async function refreshCurves(metric) {
      try {
        const curves = arr((await api(curvesUrl(metric, 'loss'))).curves);
        if (st.stopped || metric !== st.metric) return;
        const bestIds = curves.map((c) => c.config_id);
        // a curve shown as an optimizer's best goes when it is no longer the best
        for (const [cid, s] of Array.from(st.shown)) if (s.origin === 'best' && !bestIds.includes(cid)) st.shown.delete(cid);
        for (const c of curves) {
          const s = st.shown.get(c.config_id);
          if (s) s.curve = c;
          else if (!st.removedBest.has(c.config_id)) st.shown.set(c.config_id, {curve: c, color: freeColor(), origin: 'best'});
        }
        const user = Array.from(st.shown).filter(([, s]) => s.origin === 'user').map(([cid]) => cid);
        if (user.length) {
          const more = await api(curvesUrl(metric, 'loss', user.join(',')));
          if (st.stopped) return;
          for (const c of arr(more.curves)) { const s = st.shown.get(c.config_id); if (s) s.curve = c; }
        }
        sectionError(h.lossMsg, null);
      } catch (e) { sectionError(h.lossMsg, e); }
      renderLoss();
    }
    async function toggleCurve(cid) {
      const s = st.shown.get(cid);
      if (s) {
        if (s.origin === 'best') st.removedBest.add(cid);   // stays removed across refreshes
        st.shown.delete(cid);
        renderLoss();
        return;
      }
      st.removedBest.delete(cid);
      const entry = {curve: null, color: freeColor(), origin: 'user'};
      st.shown.set(cid, entry);
      renderLoss();
      try {
        const cs = arr((await api(curvesUrl(st.metric, 'loss', cid))).curves);
        if (st.stopped || st.shown.get(cid) !== entry) return;
        entry.curve = cs.find((x) => x.config_id === cid) || cs[0];
        if (!entry.curve) throw new Error('no curve for configuration ' + cid);
        sectionError(h.lossMsg, null);
      } catch (e) {
        if (st.shown.get(cid) === entry) st.shown.delete(cid);
        sectionError(h.lossMsg, e);
      }
      renderLoss();
    }

    function boxStats(values) {
      const s = values.slice().sort((a, b) => a - b);
      const q = (p) => { const x = (s.length - 1) * p, i = Math.floor(x); return i + 1 < s.length ? s[i] + (x - i) * (s[i + 1] - s[i]) : s[i]; };
      return {n: s.length, min: s[0], q1: q(0.25), median: q(0.5), q3: q(0.75), max: s[s.length - 1]};
    }
    function renderBox() {
      if (noChart) { sectionError(h.boxMsg, noChart); return; }
      const M = METRICS[st.results && st.results.metric] || METRICS[st.metric];
      const per = new Map(arr(st.detail && st.detail.optimizers).map((o) => [o, []]));
      for (const row of st.rows) {
        const v = row[M.key];
        if (!isNum(v)) continue;
        if (!per.has(row.optimizer)) per.set(row.optimizer, []);
        per.get(row.optimizer).push(v);
      }
      const labels = [], stats = [], colors = [];
      let i = 0;
      for (const [opt, vals] of per) {
        const color = PALETTE[i++ % PALETTE.length];
        if (!vals.length) continue;
        const best = vals.slice().sort((a, b) => M.lower ? a - b : b - a).slice(0, Math.ceil(vals.length / 4));
        labels.push(opt + ' (all)', opt + ' (best 25%)');
        stats.push(boxStats(vals), boxStats(best));
        colors.push(alpha(color, 0.35), alpha(color, 0.7));
      }
      const logY = M.loss && stats.length > 0 && stats.every((b) => b.min > 0);
      // a zero-height bar is not drawn: give equal ends a sliver
      const span = (lo, hi) => [lo, hi > lo ? hi : lo + Math.max(Math.abs(lo) * 1e-6, 1e-12)];
      sectionError(h.boxMsg, stats.length ? null : new Error('no finished configurations yet'));
      const data = {labels, datasets: [
        {label: 'quartiles (box)', data: stats.map((b) => span(b.q1, b.q3)), backgroundColor: colors, borderColor: '#333', borderWidth: 1,
          borderSkipped: false, barPercentage: 0.55, order: 2},
        {label: 'min–max (whiskers)', data: stats.map((b) => span(b.min, b.max)), backgroundColor: '#444', borderWidth: 0, barPercentage: 0.04, order: 3},
        {type: 'line', label: 'median', data: stats.map((b) => b.median), showLine: false, pointStyle: 'line', pointRadius: 16, pointHoverRadius: 16,
          pointBorderWidth: 3, borderColor: '#000', backgroundColor: '#000', order: 1},
      ]};
      st.boxStats = stats;
      const yType = logY ? 'logarithmic' : 'linear';
      if (st.boxChart && st.boxChart.options.scales.y.type !== yType) { st.boxChart.destroy(); st.boxChart = null; }
      if (st.boxChart) {
        st.boxChart.data = data;
        st.boxChart.options.scales.y.title.text = M.label;
        st.boxChart.update('none');
        return;
      }
      st.boxChart = new Chart(h.boxCanvas.getContext('2d'), {type: 'bar', data, options: {
        responsive: true, maintainAspectRatio: false, animation: false, interaction: {mode: 'index', intersect: false},
        scales: {x: {stacked: true}, y: {type: yType, title: {display: true, text: M.label}}},   // stacked x: the bars overlap
        plugins: {tooltip: {filter: (item) => item.datasetIndex === 0, callbacks: {label: (ctx) => {
          const b = st.boxStats[ctx.dataIndex];
          return b ? ['median ' + sig(b.median, 4), 'quartiles ' + sig(b.q1, 4) + ' – ' + sig(b.q3, 4),
            'min ' + sig(b.min, 4) + ', max ' + sig(b.max, 4), b.n + ' configurations'] : '';
        }}}},
      }});
    }
    async function refreshLr() {
      if (lrSec.hidden || noChart) return;
      const pal = st.rows.find((r) => r.optimizer === 'pal' && !nil(r.rank));
      if (!pal) {
        setText(h.lrInfo, 'No PAL configuration has finished yet.');
        if (st.lrChart) setDatasets(st.lrChart, []);
        return;
      }
      try {
        const c = arr((await api(curvesUrl(st.metric, 'learning_rate', pal.config_id))).curves)[0];
        if (st.stopped) return;
        setText(h.lrInfo, 'The step size PAL took over time (mean over seeds, min–max band) in its best configuration by ' +
          METRICS[st.metric].label + ': ' + fmtParams(pal.params) + ' (rank ' + pal.rank + ').');
        const datasets = c ? curveDatasets(c, PALETTE[0], 'effective learning rate') : [];
        if (st.lrChart) setDatasets(st.lrChart, datasets); else st.lrChart = lineChart(h.lrCanvas, 'learning rate', datasets);
        sectionError(h.lrMsg, null);
      } catch (e) { sectionError(h.lrMsg, e); }
    }

    // --- jobs ---
    const dialog = $('error-dialog');
    function showError(j) {
      setText($('error-title'), 'job ' + j.job_id + ' ' + (j.state || '') + ' · ' + j.optimizer + ' ' + fmtParams(j.params) + ' · seed ' + j.seed +
        (j.attempts ? ' · ' + j.attempts + ' attempt' + (j.attempts === 1 ? '' : 's') : ''));
      $('error-text').textContent = j.error || '(no message)';
      if (dialog.showModal) { if (!dialog.open) dialog.showModal(); } else dialog.setAttribute('open', '');
    }
    function jobRow(j) {
      const err = !!j.error;
      const tr = el('tr', {data: {jobId: j.job_id, state: j.state}, class: 'job' + (j.state === 'failed' && err ? ' has-error' : '')},
        num(j.job_id), td(j.optimizer), td(fmtParams(j.params), 'params'), num(j.seed), el('td', null, el('span', {class: 'state state-' + j.state, text: j.state})),
        td(j.worker_id || '–', 'nowrap'), td(j.device || '–', 'nowrap'), num(orDash(j.attempts)), num(fmtMetric('final_train_loss', j.final_train_loss)),
        num(orDash(j.steps)), el('td', {class: 'error-cell'}, err ? el('span', {class: 'error-line', text: String(j.error).split('\n', 1)[0]}) : null,
          err ? el('button', {type: 'button', class: 'show-error', title: 'show the whole message'}, 'show error') : null));
      tr._job = j;
      return tr;
    }
    async function loadJobs(fresh) {
      const seq = fresh ? ++st.jobsSeq : st.jobsSeq;
      const q = '?limit=' + PAGE + '&offset=' + st.jobOffset + (st.jobState ? '&state=' + encodeURIComponent(st.jobState) : '');
      try {
        const r = await api(base + '/jobs' + q);
        if (st.stopped || seq !== st.jobsSeq) return;   // the user paged or filtered meanwhile
        st.jobsTotal = isNum(r.total) ? r.total : 0;
        if (st.jobOffset > 0 && st.jobOffset >= st.jobsTotal) {   // the page emptied: go to the last one
          st.jobOffset = Math.max(0, Math.floor((st.jobsTotal - 1) / PAGE) * PAGE);
          return loadJobs(true);
        }
        const rows = arr(r.rows);
        if (fresh) clear(h.jobsBody);
        patchRows(h.jobsBody, rows, (j) => j.job_id, jobRow);
        if (!rows.length) emptyRow(h.jobsBody, 11, 'no jobs' + (st.jobState ? ' in state ' + st.jobState : ''));
        setText(h.jobsInfo, (rows.length ? st.jobOffset + 1 : 0) + '–' + (st.jobOffset + rows.length) + ' of ' + st.jobsTotal);
        h.jobsPrev.disabled = st.jobOffset === 0;
        h.jobsNext.disabled = st.jobOffset + PAGE >= st.jobsTotal;
        sectionError(h.jobsMsg, null);
      } catch (e) {
        if (e.status !== 401 && seq === st.jobsSeq) sectionError(h.jobsMsg, e);
      }
    }
    h.jobsBody.addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-job-id]');
      if (tr && tr._job && (ev.target.closest('button.show-error') || (tr._job.state === 'failed' && tr._job.error))) showError(tr._job);
    });
    h.jobState.onchange = () => { st.jobState = h.jobState.value; st.jobOffset = 0; loadJobs(true); };
    h.jobsPrev.onclick = () => { st.jobOffset = Math.max(0, st.jobOffset - PAGE); loadJobs(true); };
    h.jobsNext.onclick = () => { if (st.jobOffset + PAGE < st.jobsTotal) { st.jobOffset += PAGE; loadJobs(true); } };

    // --- actions ---
    async function action(btn, path, done) {
      btn.disabled = true;
      h.msg.className = 'action-message';
      setText(h.msg, '…');
      try {
        setText(h.msg, done(await api(base + path, {body: {}})));
      } catch (e) {
        h.msg.className = 'action-message error';
        setText(h.msg, e.message);
      }
      await p.now();
      scheduleTables(true);
      loadJobs(true);
    }
    h.cancel.onclick = () => {
      const name = st.summary && st.summary.name ? '“' + st.summary.name + '”' : 'sweep ' + id;
      if (window.confirm('Cancel ' + name + '? Queued jobs are cancelled; running ones stop at their next report.')) {
        action(h.cancel, '/cancel', (r) => 'cancelled ' + orDash(r.cancelled) + ' jobs');
      }
    };
    h.retry.onclick = () => action(h.retry, '/retry', (r) => 'requeued ' + orDash(r.requeued) + ' failed jobs');

    renderRanking();
    let first = true;
    const p = poller(async () => {
      const f = first;
      first = false;
      await loadDetail(f);
      if (f) { scheduleTables(true); loadJobs(true); }
    }, POLL_MS);
    return {
      st,
      stop() {
        st.stopped = true;
        p.stop();
        clearTimeout(st.tablesTimer);
        for (const c of [st.lossChart, st.boxChart, st.lrChart]) if (c) c.destroy();
        st.lossChart = st.boxChart = st.lrChart = null;
        if (dialog.open) dialog.close();
      },
    };
  }

  // ---------- hooks for tests ----------
  const cur = () => page && page.st;
  const dash = window.gsDashboard = {
    get lossChart() { return cur() ? cur().lossChart : null; },
    get boxChart() { return cur() ? cur().boxChart : null; },
    get lrChart() { return cur() ? cur().lrChart : null; },
    shownConfigs: () => cur() ? Array.from(cur().shown.keys()) : [],
    lastSortMs: null,
  };
  start();
})();
