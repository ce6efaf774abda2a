/**
 * The Eddy dashboard: plain ES modules, no build step. Reads the API every second or two, never overlapping
 * its own requests (a slow answer delays the next read instead of piling up), and pauses while the tab is
 * hidden.
 */
import { Api, ApiError } from './api.js';
import { HealthPanel } from './health.js';
import { baseUrlOf, forget, loadDeployedConfig, loadSaved, save } from './settings.js';
import { ViewPanel } from './view-panel.js';

const STATUS_EVERY_MS = 1_000;
const VIEW_EVERY_MS = 1_500;

const deployed = await loadDeployedConfig();
let api = connect();
const health = new HealthPanel();
const viewPanel = new ViewPanel(api);
let viewsLoaded = false;

function connect() {
  const saved = loadSaved();
  return new Api(baseUrlOf(saved.apiUrl, deployed.apiUrl), saved.apiKey);
}

/** Runs `task` now and then `everyMs` after each start, never two at once. */
function repeat(everyMs, task) {
  let timer;
  const run = async () => {
    const started = performance.now();
    if (!document.hidden) await task().catch(showError);
    timer = setTimeout(run, Math.max(0, everyMs - (performance.now() - started)));
  };
  run();
  return {
    now() {
      clearTimeout(timer);
      run();
    },
  };
}

const connection = document.getElementById('connection');
function showConnected() {
  connection.classList.remove('error');
  connection.textContent = `live · ${new URL(api.baseUrl).host} · updated ${new Date().toISOString().slice(11, 19)} UTC`;
}
function showError(err) {
  connection.classList.add('error');
  if (err instanceof ApiError && err.status === 403) {
    connection.textContent = `the API refused the request (403 ${err.message}): enter the API key`;
    openSettings(`The API answered 403 (${err.message}). It needs an API key (x-api-key).`);
    return;
  }
  connection.textContent = err instanceof Error ? err.message : String(err);
}

async function loadViews() {
  const { views } = await api.get('views');
  viewPanel.setViews(views);
  viewsLoaded = true;
}

repeat(STATUS_EVERY_MS, async () => {
  health.update(await api.get('status'));
  showConnected();
});
const viewLoop = repeat(VIEW_EVERY_MS, async () => {
  if (!viewsLoaded) await loadViews();
  await viewPanel.refresh();
});
viewPanel.onChange = () => viewLoop.now();

// Connection settings.
const dialog = document.getElementById('settings');
const urlInput = document.getElementById('settings-url');
const keyInput = document.getElementById('settings-key');
const message = document.getElementById('settings-message');

function openSettings(text = '') {
  if (dialog.open) return;
  const saved = loadSaved();
  urlInput.value = saved.apiUrl;
  urlInput.placeholder = deployed.apiUrl ?? new URL('/', location.href).href;
  keyInput.value = saved.apiKey;
  message.textContent = text;
  dialog.showModal();
}

document.getElementById('settings-button').addEventListener('click', () => openSettings());
document.getElementById('settings-forget').addEventListener('click', () => {
  forget();
  urlInput.value = '';
  keyInput.value = '';
});
dialog.addEventListener('close', () => {
  if (dialog.returnValue !== 'save') return;
  save({ apiUrl: urlInput.value.trim(), apiKey: keyInput.value.trim() });
  api = connect();
  viewPanel.api = api;
  health.samples = [];
  viewsLoaded = false;
  viewLoop.now();
});
