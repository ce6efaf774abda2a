/**
 * Where the dashboard finds the API. `config.json` beside index.html names the API URL on AWS (the CDK app
 * writes it; the local runtime answers null: same origin). What the user enters (URL, API key) is kept in this
 * browser's localStorage and never leaves it except as the `x-api-key` header of API requests.
 */
const STORAGE_KEY = 'eddy.dashboard.connection';

/** @returns {Promise<{ apiUrl: string | null }>} */
export async function loadDeployedConfig() {
  try {
    const res = await fetch('./config.json', { cache: 'no-store' });
    if (res.ok) return { apiUrl: (await res.json()).apiUrl ?? null };
  } catch {
    // No config.json: the API is on this origin.
  }
  return { apiUrl: null };
}

/** @returns {{ apiUrl: string, apiKey: string }} what the user saved; empty strings for what they did not */
export function loadSaved() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}');
    return { apiUrl: String(saved.apiUrl ?? ''), apiKey: String(saved.apiKey ?? '') };
  } catch {
    return { apiUrl: '', apiKey: '' };
  }
}

/** @param {{ apiUrl: string, apiKey: string }} connection */
export function save(connection) {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(connection));
}

export function forget() {
  localStorage.removeItem(STORAGE_KEY);
}

/**
 * The base URL requests go to, ending in `/`: what the user saved, else the deployed API, else this origin.
 * @param {string} saved
 * @param {string | null} deployed
 */
export function baseUrlOf(saved, deployed) {
  const url = saved || deployed || new URL('/', location.href).href;
  return url.endsWith('/') ? url : `${url}/`;
}
