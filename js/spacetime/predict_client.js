// Live layout prediction through the pack's route, debounced while the user types.
// Only the newest request may answer: a slow early reply must not overwrite a later one.

export const PREDICT_ROUTE = "/spacetime/layout/predict";
export const DEBOUNCE_MS = 300;

/**
 * Creates a predictor bound to `fetchApi` (the frontend's api.fetchApi, which adds the API base path and
 * the user header). `onResult({layout, limits})` or `onResult({error, field})` is called for the newest request;
 * `limits` is the layout contract's bound on typed strings ({phrase_chars}), which only Python defines.
 */
export function createPredictor(fetchApi, onResult, delay = DEBOUNCE_MS) {
  let timer = null;
  let sequence = 0;

  async function run(request) {
    const mine = ++sequence;
    let result;
    try {
      const resp = await fetchApi(PREDICT_ROUTE, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
      });
      let body = null;
      try {
        body = await resp.json();
      } catch {
        body = null;
      }
      if (resp.ok && body && body.layout) result = { layout: body.layout, limits: body.limits };
      else result = { error: body?.error || `prediction failed (HTTP ${resp.status})`, field: body?.field || "" };
    } catch (err) {
      result = { error: `prediction failed: ${err?.message || err}`, field: "" };
    }
    if (mine === sequence) onResult(result);
  }

  return {
    /** Schedules a prediction for {text, width, height, seed}; a later call within `delay` replaces it. */
    schedule(request) {
      clearTimeout(timer);
      timer = setTimeout(() => run(request), delay);
    },
    /** Predicts now (used when the node is created or loaded, where nobody is typing). */
    now(request) {
      clearTimeout(timer);
      return run(request);
    },
    cancel() {
      clearTimeout(timer);
      sequence++;
    },
  };
}
