// The inspector page: plain DOM, no framework. Every URL is relative to the <base> the
// server writes into the page (where the inspector is mounted). Record values are always
// set as text, never as HTML.

const MAX_FEED = 200;

const state = {
  stores: [],
  table: undefined,
  offset: 0,
  limit: 25,
  sort: undefined,
  order: 'asc',
  total: 0,
};

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = Array.isArray(body.message) ? body.message.join('\n') : body.message;
    throw new Error(message || `${response.status} ${response.statusText}`);
  }
  return body;
}

const number = (n) => Number(n).toLocaleString('en-US');

// ---- stores ----------------------------------------------------------------------------

async function loadStores() {
  state.stores = await getJson('api/stores');
  renderStores();
  if (!state.table && state.stores.length > 0) selectTable(state.stores[0].table);
  else renderMeta();
}

function badgesOf(store) {
  const badges = [];
  if (!store.ready) badges.push(h('span', { class: 'badge red' }, 'not ready'));
  if (store.persisted) badges.push(h('span', { class: 'badge green' }, 'persisted'));
  if (store.replication)
    badges.push(
      h(
        'span',
        { class: `badge ${store.replication === 'ready' ? 'blue' : 'amber'}` },
        `replicated · ${store.replication}`,
      ),
    );
  if (store.ttlMs !== undefined) badges.push(h('span', { class: 'badge violet' }, 'ttl'));
  if (store.maxRecords !== undefined)
    badges.push(h('span', { class: 'badge amber' }, `max ${number(store.maxRecords)}`));
  return badges;
}

function renderStores() {
  const list = $('stores');
  list.replaceChildren(
    ...state.stores.map((store) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            class: 'store',
            type: 'button',
            'data-table': store.table,
            'aria-current': store.table === state.table ? 'true' : 'false',
            onclick: () => selectTable(store.table),
          },
          h('span', { class: 'store-name' }, store.table),
          h('span', { class: 'store-count' }, number(store.records)),
          h('span', { class: 'store-class' }, store.store),
          h('span', { class: 'badges' }, badgesOf(store)),
        ),
      ),
    ),
  );
}

function renderMeta() {
  const store = state.stores.find((s) => s.table === state.table);
  $('table-title').textContent = state.table ?? '—';
  if (!store) return $('table-meta').replaceChildren();
  const chip = (label, value) => h('span', { class: 'chip' }, label, ' ', h('b', {}, value));
  const chips = [chip('records', number(store.records)), chip('key', store.key)];
  for (const index of store.indexes)
    chips.push(chip(index.unique ? 'unique index' : 'index', index.field));
  if (store.ttlMs !== undefined) chips.push(chip('ttl', `${number(store.ttlMs)} ms`));
  if (store.maxRecords !== undefined) chips.push(chip('max records', number(store.maxRecords)));
  if (store.eventBacklog > 0) chips.push(chip('event backlog', number(store.eventBacklog)));
  $('table-meta').replaceChildren(...chips, ...badgesOf(store));
}

function selectTable(table) {
  if (state.table !== table) {
    state.table = table;
    state.offset = 0;
    state.sort = undefined;
    state.order = 'asc';
    $('results').replaceChildren();
    $('explain').hidden = true;
    $('query-error').hidden = true;
  }
  renderStores();
  renderMeta();
  return loadRecords();
}

// ---- records ---------------------------------------------------------------------------

async function loadRecords() {
  if (!state.table) return;
  const params = new URLSearchParams({ offset: state.offset, limit: state.limit });
  if (state.sort) (params.set('sort', state.sort), params.set('order', state.order));
  try {
    const page = await getJson(`api/stores/${encodeURIComponent(state.table)}/records?${params}`);
    state.total = page.total;
    renderGrid($('records'), page.items, { sortable: true });
    const last = Math.min(page.offset + page.items.length, page.total);
    $('page-info').textContent =
      page.total === 0
        ? 'no records'
        : `${number(page.offset + 1)}–${number(last)} of ${number(page.total)}`;
    $('prev').disabled = page.offset === 0;
    $('next').disabled = last >= page.total;
  } catch (error) {
    renderGrid($('records'), [], { message: error.message });
  }
}

/** The columns of some records: the key first, then every field in order of appearance. */
function columnsOf(items) {
  const store = state.stores.find((s) => s.table === state.table);
  const columns = store ? [store.key] : [];
  for (const item of items.slice(0, 100))
    for (const field of Object.keys(item)) if (!columns.includes(field)) columns.push(field);
  return columns;
}

function cell(value) {
  if (value === null || value === undefined)
    return h('td', { class: 'null' }, value === null ? 'null' : '—');
  if (typeof value === 'number') return h('td', { class: 'num' }, String(value));
  if (typeof value === 'boolean') return h('td', { class: `bool-${value}` }, String(value));
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return h('td', { title: text.length > 40 ? text : undefined }, text);
}

function renderGrid(table, items, { sortable = false, message } = {}) {
  const columns = columnsOf(items);
  const key = columns[0];
  const head = h(
    'tr',
    {},
    columns.map((column) => {
      const sorted = sortable && state.sort === column;
      const label = h('span', { class: column === key ? 'key' : undefined }, column);
      const arrow = sorted ? (state.order === 'asc' ? ' ▲' : ' ▼') : '';
      return h(
        'th',
        { scope: 'col', 'aria-sort': sorted ? `${state.order}ending` : undefined },
        sortable
          ? h('button', { type: 'button', onclick: () => sortBy(column) }, label, arrow)
          : label,
      );
    }),
  );
  const rows =
    items.length === 0
      ? [
          h(
            'tr',
            { class: 'empty-row' },
            h('td', { colspan: Math.max(columns.length, 1) }, message ?? 'No records'),
          ),
        ]
      : items.map((item) =>
          h(
            'tr',
            {},
            columns.map((column) => cell(item[column])),
          ),
        );
  table.replaceChildren(h('thead', {}, head), h('tbody', {}, rows));
}

function sortBy(column) {
  if (state.sort === column) state.order = state.order === 'asc' ? 'desc' : 'asc';
  else ((state.sort = column), (state.order = 'asc'));
  state.offset = 0;
  return loadRecords();
}

// ---- query -----------------------------------------------------------------------------

async function runQuery(event) {
  event.preventDefault();
  if (!state.table) return;
  const error = $('query-error');
  const explain = $('explain');
  const params = new URLSearchParams({ filter: $('filter').value, limit: 100 });
  try {
    const answer = await getJson(`api/stores/${encodeURIComponent(state.table)}/query?${params}`);
    error.hidden = true;
    const plan = answer.explain;
    const chip = (label, value) => h('span', { class: 'chip' }, label, ' ', h('b', {}, value));
    explain.replaceChildren(
      h(
        'span',
        { class: `badge ${plan.strategy === 'full scan' ? 'amber' : 'green'}` },
        plan.strategy,
      ),
      plan.field ? chip('on', plan.field) : undefined,
      chip('matches', number(answer.count)),
      chip('estimated', number(plan.estimatedRows)),
      chip('examined', number(plan.examinedRows)),
      chip('returned', number(plan.returnedRows)),
    );
    explain.hidden = false;
    renderGrid($('results'), answer.items, { message: 'No match' });
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
    explain.hidden = true;
    $('results').replaceChildren();
  }
}

// ---- live feed -------------------------------------------------------------------------

function show(value) {
  if (value === undefined) return '—';
  const text =
    typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function renderChange(change) {
  const time = new Date(change.at).toLocaleTimeString([], { hour12: false });
  const fields = change.diff ? Object.keys(change.diff) : [];
  const diff =
    fields.length === 0
      ? undefined
      : h(
          'ul',
          { class: 'diff' },
          fields
            .slice(0, 8)
            .map((field) =>
              h(
                'li',
                {},
                h('span', { class: 'field' }, `${field}: `),
                change.op === 'update' && change.previous
                  ? [h('span', { class: 'old' }, show(change.previous[field])), ' → ']
                  : [],
                h('span', { class: 'new' }, show(change.diff[field])),
              ),
            ),
          fields.length > 8
            ? h('li', { class: 'field' }, `… ${fields.length - 8} more`)
            : undefined,
        );
  return h(
    'li',
    { class: 'change', 'data-table': change.table, 'data-op': change.op },
    h(
      'div',
      { class: 'change-head' },
      h('span', { class: `badge op-${change.op}` }, change.op),
      h('span', { class: 'chip' }, change.table),
      change.key !== undefined ? h('span', { class: 'change-key' }, String(change.key)) : undefined,
      h('span', { class: 'change-time' }, time),
    ),
    diff,
  );
}

let refreshTimer;
function connectFeed() {
  const live = $('live');
  const label = live.querySelector('.live-label');
  const source = new EventSource('api/changes');
  source.addEventListener('open', () => {
    live.dataset.state = 'open';
    label.textContent = 'live';
  });
  source.addEventListener('error', () => {
    live.dataset.state = source.readyState === EventSource.CLOSED ? 'closed' : 'connecting';
    label.textContent = source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting';
  });
  source.addEventListener('change', (event) => {
    const change = JSON.parse(event.data);
    const feed = $('feed');
    feed.prepend(renderChange(change));
    while (feed.children.length > MAX_FEED) feed.lastElementChild.remove();
    $('feed-empty').hidden = true;
    // the counts move with the changes; refresh them at most every half second
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => loadStores().catch(() => undefined), 500);
  });
}

// ---- start -----------------------------------------------------------------------------

$('prev').addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - state.limit);
  loadRecords();
});
$('next').addEventListener('click', () => {
  state.offset += state.limit;
  loadRecords();
});
$('page-size').addEventListener('change', (event) => {
  state.limit = Number(event.target.value);
  state.offset = 0;
  loadRecords();
});
$('refresh').addEventListener('click', () => loadStores().then(loadRecords));
$('query-form').addEventListener('submit', runQuery);
$('filter').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) runQuery(event);
});
$('clear-feed').addEventListener('click', () => {
  $('feed').replaceChildren();
  $('feed-empty').hidden = false;
});

connectFeed();
loadStores().catch((error) => {
  $('table-title').textContent = 'Cannot load the stores';
  $('table-meta').replaceChildren(h('span', { class: 'badge red' }, error.message));
});
