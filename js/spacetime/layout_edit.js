// Pure edits of a spacetime-layout dict (the JSON that layout_model.Layout.to_dict() writes).
// The JS never decides a layout: it only moves numbers the user dragged and strings the user typed,
// and keeps relations pointing at the right objects. Python validates whatever ends up in layout_json.
// No DOM here, so every function is easy to reason about and to call from tests in the page.

export const SCHEMA = "spacetime-layout";
export const MIN_SIDE = 0.02; // smallest box side (normalised) a resize may leave

const clamp01 = (v) => Math.min(1, Math.max(0, v));
const round4 = (v) => Math.round(v * 10000) / 10000;

/** Parses layout JSON; returns null for empty text, throws Error with a readable message otherwise. */
export function parseLayout(text) {
  if (!text || !String(text).trim()) return null;
  const data = JSON.parse(text);
  if (!data || typeof data !== "object" || !Array.isArray(data.objects)) {
    throw new Error("layout_json is not a spacetime layout (no objects list)");
  }
  return data;
}

export function cloneLayout(layout) {
  return layout ? JSON.parse(JSON.stringify(layout)) : null;
}

// Keyframes: `box` is where an object is at the start (and, for still images, the only box); an optional
// `end_box` is where it is at a video's last frame, and video models move it from one to the other over the
// frames. No end_box: the object does not move.

/** The layout field a keyframe's edits write: "box" (Start) or "end_box" (End). */
export function boxKey(keyframe) {
  return keyframe === "end" ? "end_box" : "box";
}

/** Object `obj`'s box at `keyframe`: in End, its end box, or its box when it does not move. */
export function keyframeBox(obj, keyframe) {
  return keyframe === "end" && Array.isArray(obj.end_box) ? obj.end_box : obj.box;
}

/** Whether the object has an end box (moves over a video's frames). */
export function moves(obj) {
  return Array.isArray(obj?.end_box);
}

/** Removes object i's end box: it stays at its start box. Returns whether it moved before. */
export function clearMotion(layout, i) {
  const had = moves(layout.objects[i]);
  delete layout.objects[i].end_box;
  return had;
}

/**
 * Writes box (or end_box, `key`) and, for the start box, the centre that goes with it (the centre is the box
 * middle for edited objects).
 */
function setBox(obj, x0, y0, x1, y1, key = "box") {
  obj[key] = [round4(x0), round4(y0), round4(x1), round4(y1)];
  if (key === "box" && "center" in obj) obj.center = [round4((x0 + x1) / 2), round4((y0 + y1) / 2)];
}

/**
 * Moves object i by (dx, dy) in normalised units, keeping the whole box inside the image. `key` is the box
 * to write ("box" or "end_box", which is created on the first edit), `from` the box the drag started at.
 */
export function moveBox(layout, i, dx, dy, from, key = "box") {
  const [x0, y0, x1, y1] = from || layout.objects[i][key];
  const w = x1 - x0, h = y1 - y0;
  const nx = Math.min(1 - w, Math.max(0, x0 + dx));
  const ny = Math.min(1 - h, Math.max(0, y0 + dy));
  setBox(layout.objects[i], nx, ny, nx + w, ny + h, key);
}

/**
 * Resizes object i by dragging a handle ("nw", "n", "ne", "e", "se", "s", "sw", "w") to point (x, y).
 * The opposite edges stay put; sides never shrink below MIN_SIDE nor leave [0, 1]. `key` and `from` as in
 * moveBox.
 */
export function resizeBox(layout, i, handle, x, y, from, key = "box") {
  let [x0, y0, x1, y1] = from || layout.objects[i][key];
  x = clamp01(x);
  y = clamp01(y);
  if (handle.includes("w")) x0 = Math.min(x, x1 - MIN_SIDE);
  if (handle.includes("e")) x1 = Math.max(x, x0 + MIN_SIDE);
  if (handle.includes("n")) y0 = Math.min(y, y1 - MIN_SIDE);
  if (handle.includes("s")) y1 = Math.max(y, y0 + MIN_SIDE);
  setBox(layout.objects[i], clamp01(x0), clamp01(y0), clamp01(x1), clamp01(y1), key);
}

/**
 * Adds an object with a centred box. Its category is null ("unknown"): only Python knows the COCO names,
 * and a category is a claim about what the thing is that the user has not made. It has no noun: Python
 * fills that in from the phrase (layout_model.schema.noun_of).
 */
export function addObject(layout, name) {
  const word = String(name || "object").trim() || "object";
  const obj = { phrase: word, category: null, count: 1, group: null, attributes: [],
    box: [0, 0, 0, 0], center: [0, 0], prompt: null };
  setBox(obj, 0.35, 0.35, 0.65, 0.65);
  layout.objects.push(obj);
  return layout.objects.length - 1;
}

/** Removes object i and every relation that mentions it; later indices shift down by one. */
export function deleteObject(layout, i) {
  layout.objects.splice(i, 1);
  if (!Array.isArray(layout.relations)) return;
  layout.relations = layout.relations
    .filter((rel) => rel[0] !== i && rel[2] !== i)
    .map(([a, r, b]) => [a > i ? a - 1 : a, r, b > i ? b - 1 : b]);
}

/**
 * Renames object i to what the user typed. The phrase is what the region encoder reads. The old noun and
 * category no longer describe a renamed thing: the noun is dropped for Python to fill from the new phrase
 * (layout_model.schema.noun_of), and the category becomes null, so templates fall back to the noun.
 */
export function renameObject(layout, i, name) {
  const obj = layout.objects[i];
  const phrase = String(name).trim();
  if (!phrase) return false;
  obj.phrase = phrase;
  delete obj.noun;
  obj.category = null;
  return true;
}

/** Sets object i's local prompt override; an empty string means "no override" (null). */
export function setLocalPrompt(layout, i, text) {
  const value = String(text ?? "");
  layout.objects[i].prompt = value.trim() ? value : null;
}

/** Undo stack of whole-layout snapshots; small layouts make snapshots cheaper than inverse edits. */
export class History {
  constructor(limit = 100) {
    this.limit = limit;
    this.stack = [];
  }

  push(layout) {
    this.stack.push(JSON.stringify(layout));
    if (this.stack.length > this.limit) this.stack.shift();
  }

  canUndo() {
    return this.stack.length > 0;
  }

  /** Returns the previous snapshot (a fresh object) or undefined. */
  pop() {
    const text = this.stack.pop();
    return text === undefined ? undefined : JSON.parse(text);
  }

  clear() {
    this.stack = [];
  }
}
