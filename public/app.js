// The only script of the web tool; htmx does the rest.

// The upload progress bar of the campaign wizard.
document.addEventListener('htmx:xhr:progress', (event) => {
  const bar = document.getElementById('upload-progress');
  if (!bar || !event.detail.lengthComputable) return;
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});
document.addEventListener('htmx:afterRequest', () => {
  const bar = document.getElementById('upload-progress');
  if (bar) bar.hidden = true;
});

// Errors of htmx requests (the htmx-config meta tag in partials/head.ejs keeps them from being swapped). Every one
// is shown as a readable alert right after the element the user was working on: the server's own message when it
// sent one (the errors/_alert fragment), else a sentence for the status. Only text is ever inserted, and only
// printable text of a fragment we recognise, so an answer of binary bytes or a proxy's page is never echoed.
const STATUS_TEXT = {
  400: 'The request was not accepted.',
  401: 'You are signed out. Sign in again.',
  403: 'This is not allowed.',
  404: 'This was not found: it may have been removed.',
  408: 'The request took too long. Try again.',
  413: 'What you sent is too large.',
  429: 'Too many requests just now. Wait a moment and try again.',
  500: 'Something went wrong on our side. Try again in a moment.',
  502: 'Outbound could not be reached (bad gateway). Try again in a moment.',
  503: 'Outbound is not available right now. Try again in a moment.',
  504: 'Outbound took too long to answer. Try again in a moment.',
};

function serverMessage(xhr) {
  const type = xhr.getResponseHeader('content-type') || '';
  if (!type.startsWith('text/html') || typeof xhr.responseText !== 'string') return null;
  const html = new DOMParser().parseFromString(xhr.responseText, 'text/html');
  const alert = html.querySelector('[data-htmx-error]');
  const text = alert?.textContent
    ?.replace(/[^\P{C}\n]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text ? text.slice(0, 500) : null;
}

// Where a request's error shows: after its target (the preview, the counter, a polled panel), or after the form
// or link itself when that targets the whole body (a boosted form). Keyed by id, which a swap keeps.
function placeOf(detail) {
  const target = detail.target && detail.target !== document.body ? detail.target : detail.elt;
  if (!target) return null;
  const key = target.id || target.getAttribute('name') || target.getAttribute('action') || target.tagName;
  const anchor = target.isConnected ? target : (target.id && document.getElementById(target.id)) || null;
  return { key, anchor };
}

function showError(detail, message) {
  const place = placeOf(detail);
  const main = document.querySelector('main');
  const anchor = place?.anchor || main;
  if (!anchor) return;
  const key = place?.key || 'page';
  let alert = document.querySelector(`[data-request-error="${CSS.escape(key)}"]`);
  if (!alert) {
    alert = document.createElement('article');
    alert.className = 'error request-error';
    alert.setAttribute('role', 'alert');
    alert.dataset.requestError = key;
    anchor.insertAdjacentElement(anchor === main ? 'afterbegin' : 'afterend', alert);
  }
  alert.textContent = message;
  alert.scrollIntoView({ block: 'nearest' });
}

document.addEventListener('htmx:responseError', (event) => {
  const xhr = event.detail.xhr;
  const message =
    serverMessage(xhr) || STATUS_TEXT[xhr.status] || `The server answered ${xhr.status}. Try again in a moment.`;
  showError(event.detail, message);
});
document.addEventListener('htmx:sendError', (event) => {
  showError(event.detail, 'Outbound could not be reached. Check your connection; the page keeps what you typed.');
});
document.addEventListener('htmx:timeout', (event) => {
  showError(event.detail, STATUS_TEXT[504]);
});
// A later request from the same place that works clears its error.
document.addEventListener('htmx:afterRequest', (event) => {
  if (!event.detail.successful) return;
  const place = placeOf(event.detail);
  if (place) document.querySelector(`[data-request-error="${CSS.escape(place.key)}"]`)?.remove();
});
