// Live layout prediction through the pack's route, debounced while the user types.
// Only the newest request may answer: a slow early reply must not overwrite a later one. Each predictor sends its
// own editor id, so the server drops this editor's older requests that are still waiting (they answer 409
// "superseded", which is no error for the user) and never queues a typist's stale prompts.

export const PREDICT_ROUTE = "/spacetime/layout/predict";
export const DEBOUNCE_MS = 300;
const SUPERSEDED = 409;

/** A random id for one editor (the route accepts 1-64 of [A-Za-z0-9_.:-]); randomUUID needs a secure context. */
function newEditorId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `box-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Creates a predictor bound to `fetchApi` (the frontend's api.fetchApi, which adds the API base path and
 * the user header). `onResult({layout, limits})` or `onResult({error, field})` is called for the newest request;
 * `limits` is the layout contract's bound on typed strings ({phrase_chars}), which only Python defines.
 */
export function createPredictor(fetchApi, onResult, delay = DEBOUNCE_MS) {
  let timer = null;
  let sequence = 0;
  const editor = newEditorId();

  async function run(request) {
    const mine = ++sequence;
    let result;
    try {
      const resp = await fetchApi(PREDICT_ROUTE, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...request, editor }),
      });
      if (resp.status === SUPERSEDED) return; // a newer request of this editor is on its way
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
