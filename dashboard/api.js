/**
 * The Eddy API as the dashboard calls it: GET requests with the API key (if any) in `x-api-key`. Errors carry
 * the status and the message the API wrote (`error` from Eddy, `message` from API Gateway).
 */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, or 0 when the API could not be reached
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Api {
  /**
   * @param {string} baseUrl ends in `/`, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/v1/`
   * @param {string} apiKey empty when the API needs none
   */
  constructor(baseUrl, apiKey) {
    this.baseUrl = baseUrl;
    this.apiKey = apiKey;
  }

  /**
   * @param {string} path relative to the base URL, e.g. `views/bids_per_auction/groups`
   * @param {Record<string, string | number>} [params]
   */
  async get(path, params = {}) {
    const url = new URL(path, this.baseUrl);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
    let res;
    try {
      res = await fetch(url, { headers: this.apiKey ? { 'x-api-key': this.apiKey } : {}, cache: 'no-store' });
    } catch (err) {
      // A network failure, or (on AWS) an answer without CORS headers for this origin.
      throw new ApiError(0, `cannot reach ${this.baseUrl}: ${err instanceof Error ? err.message : err}`);
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, body?.error ?? body?.message ?? res.statusText);
    return body;
  }
}
