// Drawing and hit-testing of layout boxes on a 2D canvas. Coordinates in the layout are normalised and
// y-down, the same as canvas pixels divided by the canvas size, so the mapping is a plain scale.
// Labels are drawn with fillText: user strings never become markup.
// A `keyframe` ("start" or "end") picks which box of a moving object is drawn solid and hit-tested; the other
// is drawn ghosted, with an arrow from the start box to the end box.

import { keyframeBox, moves } from "./layout_edit.js";

const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
  "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000"];
export const HANDLE_PX = 7; // half-size of a resize handle, in CSS pixels
const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

export function colorFor(index) {
  return PALETTE[index % PALETTE.length];
}

function handlePoints([x0, y0, x1, y1]) {
  const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
  return { nw: [x0, y0], n: [mx, y0], ne: [x1, y0], e: [x1, my], se: [x1, y1], s: [mx, y1], sw: [x0, y1],
    w: [x0, my] };
}

function toPx(box, w, h) {
  return [box[0] * w, box[1] * h, box[2] * w, box[3] * h];
}

/** The label of an object: its phrase (instances of "two dogs" are separate objects, one box each). */
export function labelFor(obj) {
  return String(obj.phrase ?? obj.noun ?? "object");
}

const silhouettes = new WeakMap(); // mask object -> Map(colour -> canvas)

/**
 * An object's mask (runs over a grid spanning its box, outside first; layout_model/object_masks.py) drawn in
 * `color` on a canvas of the grid's size, or null when the mask is malformed (Python rejects it at run time).
 */
function silhouette(mask, color) {
  let byColor = silhouettes.get(mask);
  if (!byColor) silhouettes.set(mask, (byColor = new Map()));
  if (byColor.has(color)) return byColor.get(color);
  const { width, height, runs } = mask;
  let canvas = null;
  if (Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && Array.isArray(runs)
      && runs.reduce((a, b) => a + b, 0) === width * height) {
    canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(width, height);
    const [r, g, b] = [1, 3, 5].map((k) => parseInt(color.slice(k, k + 2), 16));
    let cell = 0;
    runs.forEach((run, k) => {
      if (k % 2 === 1) {
        for (let c = cell; c < cell + run; c++) image.data.set([r, g, b, 255], c * 4);
      }
      cell += run;
    });
    ctx.putImageData(image, 0, 0);
  }
  byColor.set(color, canvas);
  return canvas;
}

/** Draws a moving object's other keyframe box dashed and faint, and an arrow from its start to its end centre. */
function drawMotion(ctx, w, h, obj, color, keyframe) {
  const other = toPx(keyframe === "end" ? obj.box : obj.end_box, w, h);
  ctx.save();
  ctx.globalAlpha = 0.07;
  ctx.fillStyle = color;
  ctx.fillRect(other[0], other[1], other[2] - other[0], other[3] - other[1]);
  ctx.globalAlpha = 0.75;
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.setLineDash([5, 4]);
  ctx.strokeRect(other[0], other[1], other[2] - other[0], other[3] - other[1]);
  const [a, b] = [obj.box, obj.end_box].map((box) => toPx(box, w, h));
  const [sx, sy, ex, ey] = [(a[0] + a[2]) / 2, (a[1] + a[3]) / 2, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
  ctx.globalAlpha = 0.95;
  ctx.lineWidth = 2;
  ctx.setLineDash([]);
  ctx.beginPath();
  ctx.moveTo(sx, sy);
  ctx.lineTo(ex, ey);
  ctx.stroke();
  const length = Math.hypot(ex - sx, ey - sy);
  if (length > 4) {
    const angle = Math.atan2(ey - sy, ex - sx), head = Math.min(10, length / 2);
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(ex, ey);
    ctx.lineTo(ex - head * Math.cos(angle - 0.45), ey - head * Math.sin(angle - 0.45));
    ctx.lineTo(ex - head * Math.cos(angle + 0.45), ey - head * Math.sin(angle + 0.45));
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}

/**
 * Draws the layout onto ctx sized w×h CSS pixels: background grid, each box at `keyframe` tinted in its colour
 * with its label (and its mask's silhouette where it has one), a moving object's other box ghosted with an
 * arrow from start to end, handles on the selected box. `note` (e.g. "edited" / "predicted") goes in the corner.
 */
export function drawLayout(ctx, w, h, layout, selected, note, keyframe = "start") {
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "#1b1b1f";
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = "rgba(255,255,255,0.07)";
  ctx.lineWidth = 1;
  for (let k = 1; k < 4; k++) {
    ctx.beginPath();
    ctx.moveTo((w * k) / 4, 0); ctx.lineTo((w * k) / 4, h);
    ctx.moveTo(0, (h * k) / 4); ctx.lineTo(w, (h * k) / 4);
    ctx.stroke();
  }
  const objects = layout?.objects || [];
  objects.forEach((obj, i) => {
    if (validBox(obj.box) && moves(obj) && validBox(obj.end_box)) drawMotion(ctx, w, h, obj, colorFor(i), keyframe);
  });
  ctx.font = "12px sans-serif";
  ctx.textBaseline = "top";
  objects.forEach((obj, i) => {
    const box = keyframeBox(obj, keyframe);
    if (!validBox(box)) return;
    const [x0, y0, x1, y1] = toPx(box, w, h);
    const color = colorFor(i);
    const shape = obj.mask ? silhouette(obj.mask, color) : null;
    ctx.globalAlpha = i === selected ? 0.28 : 0.16;
    ctx.fillStyle = color;
    ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
    if (shape) {
      // the object's own shape (from a segmentation mask), stretched with its box
      ctx.globalAlpha = i === selected ? 0.6 : 0.45;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(shape, x0, y0, x1 - x0, y1 - y0);
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = color;
    ctx.lineWidth = i === selected ? 2.5 : 1.5;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const label = labelFor(obj);
    const tw = Math.min(ctx.measureText(label).width + 8, Math.max(x1 - x0, 40));
    ctx.fillStyle = color;
    ctx.fillRect(x0, y0, tw, 16);
    ctx.fillStyle = "#000";
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, y0, tw, 16);
    ctx.clip();
    ctx.fillText(label, x0 + 4, y0 + 2);
    ctx.restore();
  });
  if (selected >= 0 && objects[selected] && validBox(keyframeBox(objects[selected], keyframe))) {
    const pts = handlePoints(toPx(keyframeBox(objects[selected], keyframe), w, h));
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = colorFor(selected);
    for (const name of HANDLES) {
      const [x, y] = pts[name];
      ctx.fillRect(x - HANDLE_PX / 2, y - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
      ctx.strokeRect(x - HANDLE_PX / 2, y - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
    }
  }
  if (note) {
    ctx.fillStyle = "rgba(255,255,255,0.55)";
    ctx.textBaseline = "bottom";
    ctx.fillText(note, 4, h - 3);
  }
}

/** A box the canvas can draw: four numbers (Python checks the rest at run time). */
function validBox(box) {
  return Array.isArray(box) && box.length === 4;
}

/**
 * What is under canvas point (px, py) with the boxes at `keyframe`: {index, handle} with handle one of HANDLES,
 * "move" inside a box, or null. The selected box's handles win, then the smallest box containing the point (so
 * a small box drawn over a big one stays reachable).
 */
export function hitTest(layout, selected, px, py, w, h, keyframe = "start") {
  const objects = layout?.objects || [];
  if (selected >= 0 && objects[selected] && validBox(keyframeBox(objects[selected], keyframe))) {
    const pts = handlePoints(toPx(keyframeBox(objects[selected], keyframe), w, h));
    for (const name of HANDLES) {
      const [x, y] = pts[name];
      if (Math.abs(px - x) <= HANDLE_PX && Math.abs(py - y) <= HANDLE_PX) return { index: selected, handle: name };
    }
  }
  let best = null, bestArea = Infinity;
  objects.forEach((obj, i) => {
    const box = keyframeBox(obj, keyframe);
    if (!validBox(box)) return;
    const [x0, y0, x1, y1] = toPx(box, w, h);
    const area = (x1 - x0) * (y1 - y0);
    if (px >= x0 && px <= x1 && py >= y0 && py <= y1 && area < bestArea) {
      best = { index: i, handle: "move" };
      bestArea = area;
    }
  });
  return best;
}

export function cursorFor(hit) {
  if (!hit) return "default";
  if (hit.handle === "move") return "move";
  return { nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize", n: "ns-resize",
    s: "ns-resize", e: "ew-resize", w: "ew-resize" }[hit.handle];
}
