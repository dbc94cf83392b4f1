// The page: budget slider, status, quality, search box, results. The work happens in
// compute.worker.js; this file only draws what it reports, so the page never freezes.
const $ = (id) => document.getElementById(id);
const MB = (b) => `${(b / 1e6).toFixed(1)} MB`;
const params = new URLSearchParams(location.search);
const base = new URL('./', location.href).href;
const t0 = performance.now();
// What the tests read: when the first results came, how much was loaded by then, every model version.
const app = window.__app = { firstResults: null, models: [], errors: [], plan: null, progress: null, longestTaskMs: 0 };
// The page must never freeze (the work is in the worker): the longest main-thread task, for the tests.
try {
  new PerformanceObserver((list) => { for (const e of list.getEntries()) app.longestTaskMs = Math.max(app.longestTaskMs, e.duration); })
    .observe({ type: 'longtask', buffered: true });
} catch { app.longestTaskMs = null; /* no Long Tasks API (Firefox, Safari) */ }

// The service worker keeps the app for offline use (the build writes sw.js; `vite dev` has none).
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').then((r) => { app.serviceWorker = r.scope; }, (e) => { app.notes = [`no service worker: ${e.message}`]; });
}

const worker = new Worker(new URL('./compute.worker.js', import.meta.url), { type: 'module' });
let budgets = [];
let searchId = 0, shownVersion = -1, lastQuery = '';

/** The budget to start with: ?bits=, else from the device's memory (navigator.deviceMemory, GB). */
function defaultBits() {
  const asked = Number(params.get('bits'));
  if (budgets.some((b) => b.bits === asked)) return asked;
  const gb = navigator.deviceMemory;
  const want = gb === undefined ? 4 : gb <= 1 ? 2 : gb <= 2 ? 3 : gb <= 4 ? 4 : 5;
  return budgets.some((b) => b.bits === want) ? want : budgets[0].bits;
}

function showBudget(i) {
  const b = budgets[i];
  $('budget-out').textContent = `${MB(b.bytes)} · ${b.bits} bits/param · quality ≈ ${b.cosine.toFixed(2)}`;
}

function open(i) {
  showBudget(i);
  shownVersion = -1;
  $('results').innerHTML = '';
  worker.postMessage({ type: 'open', bits: budgets[i].bits, base });
}

// Offline when the browser says so, or when the model's server could not be reached and the cached
// copy was opened (navigator.onLine stays true behind a captive portal or a dead link).
function networkPill() {
  $('network').textContent = navigator.onLine && !app.plan?.offline ? '' : 'offline';
}

function search() {
  const q = $('query').value.trim();
  lastQuery = q;
  if (q) worker.postMessage({ type: 'search', q, id: ++searchId });
}

function renderResults(results, pending) {
  const ol = $('results');
  ol.replaceChildren(...(pending ? [Object.assign(document.createElement('li'), { className: 'pending', textContent: 'Waiting for the first blocks…' })]
    : results.map((r) => {
      const li = document.createElement('li');
      li.append(Object.assign(document.createElement('span'), { textContent: r.text }), Object.assign(document.createElement('span'), { className: 'score', textContent: r.score.toFixed(3) }));
      return li;
    })));
}

worker.onmessage = ({ data: m }) => {
  if (m.type === 'plan') {
    app.plan = m;
    networkPill();
    $('status').textContent = `Loading ${MB(m.bytesPlanned)} of ${MB(m.fileBytes)} · ${m.blocksPlanned} blocks`;
  } else if (m.type === 'progress') {
    app.progress = m;
    $('progress').value = m.bytes / m.bytesPlanned;
    const where = m.fromCache >= m.bytes ? ' from the cache' : m.fromCache > 0 ? ` (${MB(m.fromCache)} cached)` : '';
    $('status').textContent = `${m.blocks < m.blocksPlanned ? 'Loading' : 'Loaded'} ${MB(m.bytes)} of ${MB(m.bytesPlanned)}${where} · ${m.blocks}/${m.blocksPlanned} blocks`;
  } else if (m.type === 'model') {
    app.models.push({ ...m, at: performance.now() - t0 });
    $('quality').value = m.quality;
    $('quality-out').textContent = `${m.quality.toFixed(3)}${m.blocks < m.blocksPlanned ? ' · refining…' : ''}`;
    search();
  } else if (m.type === 'results') {
    if (m.id !== searchId) return;
    renderResults(m.results, m.pending);
    if (!m.pending) {
      shownVersion = m.version;
      app.firstResults ??= { ms: performance.now() - t0, bytes: app.progress?.bytes ?? 0, fromCache: app.progress?.fromCache ?? 0, version: m.version, query: lastQuery };
      app.lastResults = m.results;
      app.resultsVersion = m.version;
    }
  } else if (m.type === 'error') {
    app.errors.push(m.message);
    $('status').textContent = m.partial ? `${$('status').textContent} — ${navigator.onLine ? 'network error' : 'offline'}: using what is loaded` : `Error: ${m.message}`;
  }
};

(async () => {
  const quality = await (await fetch('./quality.json')).json();
  budgets = quality.budgets;
  const slider = $('budget');
  slider.max = String(budgets.length - 1);
  slider.value = String(budgets.findIndex((b) => b.bits === defaultBits()));
  slider.addEventListener('input', () => showBudget(Number(slider.value)));
  slider.addEventListener('change', () => open(Number(slider.value)));
  let timer;
  $('query').addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(search, 150); });
  addEventListener('online', networkPill);
  addEventListener('offline', networkPill);
  networkPill();
  open(Number(slider.value));
})().catch((e) => { app.errors.push(String(e)); $('status').textContent = `Error: ${e.message}`; });
