// Builds the example workflows with the real frontend, so the files are exactly what ComfyUI saves:
// nodes are created, filled and linked through LiteGraph, then app.graph.serialize() is written out (the
// thumbnails come from tools/example_thumbnails.py, the lab's from python -m lab.thumbnail). Run against a server
// with the pack and the lab extension loaded; `RESULT` lists what it wrote. The file name is the template's title
// in ComfyUI's Templates dialog; each spec's `dir` is its extension's example folder in the repository.
// usage: node make_examples.cjs URL REPO_DIR [name ...]
const fs = require('fs');
const path = require('path');
const { openComfy, emit } = require('./common.cjs');

const PROMPT = 'a red cat to the left of a blue dog, in a sunny garden';
const LAB_PROMPT = 'a red circle to the left of a blue square'; // the lab model knows shapes and colours only
const NEGATIVE = 'blurry, low quality, deformed';
const SD15 = 'v1-5-pruned-emaonly.safetensors';
const SDXL = 'sd_xl_base_1.0.safetensors';

// Each spec runs in the page: g.add(type, [x, y], widgets, title) and g.link(src, output, dst, input).
const PACK = 'example_workflows';
const LAB = 'lab/example_workflows';
const SD = { dir: PACK, loader: 'CheckpointLoaderSimple', prompt: PROMPT, negative: NEGATIVE,
  sampler: 'euler', scheduler: 'normal', batch: 1 };
// The lab extension's examples: a lab checkpoint (docs/lab.md), patched vs vanilla on one seed, four images at the
// lab's 256 px, the patch's step weights a linear ramp (the lab's temporal control) from `ramp` to 0.
const LAB_SHAPES = { ...SD, dir: LAB, loader: 'SpaceTimeLabCheckpointLoader', prompt: LAB_PROMPT, negative: '',
  template: '{phrase}', size: 256, steps: 20, cfg: 4.0, batch: 4, compare: true };
const DIT = { dir: PACK, dit: true, mode: 'guidance', ramp: 4.0 };
const SPECS = {
  'Layout-guided SD1.5':
    { ...SD, prefix: 'spacetime_basic', ckpt: SD15, size: 512, steps: 20, cfg: 7.5, compare: false },
  'Layout-guided SDXL':
    { ...SD, prefix: 'spacetime_sdxl', ckpt: SDXL, size: 1024, steps: 25, cfg: 7.0, compare: false },
  'Patched vs vanilla SD1.5':
    { ...SD, prefix: 'spacetime_compare', ckpt: SD15, size: 512, steps: 20, cfg: 7.5, compare: true },
  'Optimized weights SD1.5':
    { ...SD, prefix: 'spacetime_optimized', ckpt: SD15, size: 512, steps: 20, cfg: 7.5, compare: false,
      optimize: true },
  // The DiTs as ComfyUI's own templates load and sample them (workflow_templates: Flux.1 dev, image_qwen_image
  // without its Lightning LoRA, image_z_image_turbo): the diffusion model, text encoder(s) and VAE apart. The patch
  // as the DiT lab's validation split chose it (docs/dit-method.md, docs/lab.md "Step 12 000, and the design
  // chosen"): guidance with step weights a linear ramp 4 -> 0, as on UNets.
  'Layout-guided Flux.1-dev':
    { ...DIT, prefix: 'spacetime_flux', unet: 'flux1-dev.safetensors',
      clip: { loader: 'DualCLIPLoader', clip_name1: 't5xxl_fp16.safetensors', clip_name2: 'clip_l.safetensors',
        type: 'flux' }, encoder: 'T5 + CLIP-L', vae: 'ae.safetensors', size: 1024, steps: 20, cfg: 1.0,
      guidance: 3.5, sampler: 'euler', scheduler: 'simple' },
  // Flux.2 dev as ComfyUI's own image_flux2_text_to_image loads it (Mistral 3 Small through CLIPLoader type flux2,
  // FluxGuidance 4, EmptyFlux2LatentImage, 20 Euler steps at cfg 1), sampled by KSampler on `simple`.
  'Layout-guided Flux.2-dev':
    { ...DIT, prefix: 'spacetime_flux2', unet: 'flux2_dev_fp8mixed.safetensors',
      clip: { loader: 'CLIPLoader', clip_name: 'mistral_3_small_flux2_bf16.safetensors', type: 'flux2' },
      encoder: 'Mistral 3 Small', vae: 'flux2-vae.safetensors', latent: 'EmptyFlux2LatentImage', size: 1024,
      steps: 20, cfg: 1.0, guidance: 4.0, sampler: 'euler', scheduler: 'simple' },
  // Flux.2 Klein 4B (distilled) as ComfyUI's own image_flux2_klein_text_to_image loads it (Qwen3 4B through
  // CLIPLoader type flux2, no guidance embedding, 4 Euler steps at cfg 1), sampled by KSampler on `simple`.
  'Layout-guided Flux.2-klein':
    { ...DIT, prefix: 'spacetime_flux2_klein', unet: 'flux-2-klein-4b.safetensors',
      clip: { loader: 'CLIPLoader', clip_name: 'qwen_3_4b.safetensors', type: 'flux2' },
      encoder: 'Qwen3 4B', vae: 'flux2-vae.safetensors', latent: 'EmptyFlux2LatentImage', size: 1024,
      steps: 4, cfg: 1.0, sampler: 'euler', scheduler: 'simple' },
  'Layout-guided Qwen-Image':
    { ...DIT, prefix: 'spacetime_qwen_image', unet: 'qwen_image_fp8_e4m3fn.safetensors',
      clip: { loader: 'CLIPLoader', clip_name: 'qwen_2.5_vl_7b_fp8_scaled.safetensors', type: 'qwen_image' },
      encoder: 'Qwen2.5-VL', vae: 'qwen_image_vae.safetensors', shift: 3.1, size: 1328, steps: 20, cfg: 4.0,
      negative: '', sampler: 'euler', scheduler: 'simple' },
  'Layout-guided Z-Image':
    { ...DIT, prefix: 'spacetime_z_image', unet: 'z_image_turbo_bf16.safetensors',
      clip: { loader: 'CLIPLoader', clip_name: 'qwen_3_4b.safetensors', type: 'lumina2' }, encoder: 'Qwen3 4B',
      vae: 'ae.safetensors', shift: 3, size: 1024, steps: 8, cfg: 1.0, sampler: 'res_multistep',
      scheduler: 'simple' },
  // The cross-attention DiTs as ComfyUI's own graphs load and sample them (the core's blueprint "Text to Image
  // (Anima)"; Wan 2.1 text-to-video 1.3B: ModelSamplingSD3 shift 8, 832 x 480 x 33 frames, uni_pc). Their blocks
  // keep a cross-attention to the text, so the patch runs at the node's default (guidance), as on a UNet.
  'Layout-guided Anima':
    { dir: PACK, dit: true, prefix: 'spacetime_anima', unet: 'anima-base-v1.0.safetensors',
      clip: { loader: 'CLIPLoader', clip_name: 'qwen_3_06b_base.safetensors', type: 'stable_diffusion' },
      encoder: 'Qwen3 0.6B', vae: 'qwen_image_vae.safetensors', latent: 'EmptyLatentImage', size: 1024, steps: 30,
      cfg: 4.0, negative: 'worst quality, low quality, blurry, jpeg artifacts', sampler: 'er_sde',
      scheduler: 'simple' },
  // A video whose object moves: the box editor's edit (layout_json) keeps the predicted box (on the right, "to the
  // right") as the End keyframe's end_box and moves the Start box to the left.
  'Layout-guided Wan 2.1 moving box':
    { dir: PACK, dit: true, prefix: 'spacetime_wan', prompt: 'a red car drives from the left to the right',
      unet: 'wan2.1_t2v_1.3B_fp16.safetensors',
      clip: { loader: 'CLIPLoader', clip_name: 'umt5_xxl_fp8_e4m3fn_scaled.safetensors', type: 'wan' },
      encoder: 'UMT5-XXL', vae: 'wan_2.1_vae.safetensors', sampling: 'ModelSamplingSD3', shift: 8, width: 832,
      height: 480, latent: 'EmptyHunyuanLatentVideo', length: 33, steps: 30, cfg: 6.0,
      negative: 'static, still frame, blurred details, subtitles, worst quality, low quality, deformed',
      sampler: 'uni_pc', scheduler: 'simple', video: { fps: 16 }, motion: { object: 0, startX: 0.06 } },
  // the UNet lab model: guidance 4 -> 0 on DDIM, the lab's UNet sampler
  lab_shapes: { ...LAB_SHAPES, prefix: 'lab_shapes', ckpt: 'spacetime_lab.safetensors', mode: 'guidance', ramp: 4.0,
    sampler: 'ddim', scheduler: 'ddim_uniform' },
  // the DiT lab model (a Flux.1-class DiT): guidance 4 -> 0, the setting its validation split chose, Euler on
  // `simple`
  lab_shapes_dit: { ...LAB_SHAPES, prefix: 'lab_shapes_dit', ckpt: 'spacetime_lab_dit.safetensors',
    mode: 'guidance', ramp: 4.0, sampler: 'euler', scheduler: 'simple' },
};

// A DiT: UNETLoader, the text encoder(s) through (Dual)CLIPLoader and the VAE apart; the template's model-sampling
// node (ModelSamplingAuraFlow, or `sampling`) where it shifts its schedule, FluxGuidance on the prompt where the
// model takes guidance; a negative prompt where it samples with CFG, else (cfg 1: no negative pass) the prompt
// zeroed out. `latent` names the empty-latent node (EmptySD3LatentImage by default; a video's takes `length`),
// `video` saves the frames as an animated WEBP, `motion` stores a box editor edit (see editedLayout).
async function buildDiT({ spec, PROMPT }) {
  const g = window.spacetimeGraph;
  const prompt = spec.prompt ?? PROMPT;
  const width = spec.width ?? spec.size, height = spec.height ?? spec.size;
  const unet = g.add('UNETLoader', [20, 60], { unet_name: spec.unet });
  const { loader, ...clipWidgets } = spec.clip;
  const clip = g.add(loader, g.below(unet), clipWidgets);
  const vae = g.add('VAELoader', g.below(clip), { vae_name: spec.vae });
  const text = g.add('PrimitiveStringMultiline', g.below(vae), { value: prompt }, 'Prompt');
  let model = unet;
  if (spec.shift !== undefined) { // placed under the patch below
    model = g.add(spec.sampling ?? 'ModelSamplingAuraFlow', [960, 60], { shift: spec.shift });
    g.link(unet, 'MODEL', model, 'model');
  }
  const layout = g.add('SpaceTimePredictLayout', [460, 60],
    { width, height, seed: 0, control_after_generate: 'fixed' });
  layout.widgets.find((w) => w.name === 'text').value = prompt;
  g.link(text, 0, layout, 'text');
  if (spec.motion) {
    const edited = await editedLayout(prompt, width, height, spec.motion);
    layout.widgets.find((w) => w.name === 'layout_json').value = JSON.stringify(edited);
  }
  const regions = g.add('SpaceTimeRegionPromptEncode', [960, 60]);
  g.link(clip, 'CLIP', regions, 'clip');
  g.link(layout, 'layout', regions, 'layout');
  const patch = g.add('SpaceTimeAttentionPatch', g.below(regions), spec.mode ? { mode: spec.mode } : {});
  g.link(model, 'MODEL', patch, 'model');
  g.link(regions, 0, patch, 'regions');
  let under = patch; // what the model-sampling node goes below
  if (spec.ramp !== undefined) {
    under = g.add('SpaceTimeStepWeightsSchedule', g.below(patch),
      { shape: 'linear', unit: 'absolute', start: spec.ramp, end: 0 });
    g.link(under, 'step_weights', patch, 'step_weights');
  }
  const positive = g.add('CLIPTextEncode', g.below(text), {}, `Prompt (${spec.encoder})`);
  g.link(text, 0, positive, 'text');
  g.link(clip, 'CLIP', positive, 'clip');
  let conditioning = positive;
  if (spec.guidance !== undefined) {
    conditioning = g.add('FluxGuidance', g.below(positive), { guidance: spec.guidance });
    g.link(positive, 0, conditioning, 'conditioning');
  }
  let negative;
  if (spec.negative === undefined) {
    negative = g.add('ConditioningZeroOut', g.below(conditioning), {}, 'Negative (unused at cfg 1)');
    g.link(positive, 0, negative, 'conditioning');
  } else {
    negative = g.add('CLIPTextEncode', g.below(conditioning), { text: spec.negative }, 'Negative');
    g.link(clip, 'CLIP', negative, 'clip');
  }
  const latent = g.add(spec.latent ?? 'EmptySD3LatentImage', g.below(negative),
    { width, height, ...(spec.length ? { length: spec.length } : {}), batch_size: 1 });
  const ks = g.add('KSampler', [1400, 60], { seed: 42, control_after_generate: 'fixed', steps: spec.steps,
    cfg: spec.cfg, sampler_name: spec.sampler, scheduler: spec.scheduler, denoise: 1 }, 'KSampler (SpaceTime)');
  g.link(patch, 0, ks, 'model');
  g.link(conditioning, 0, ks, 'positive');
  g.link(negative, 0, ks, 'negative');
  g.link(latent, 0, ks, 'latent_image');
  const decode = g.add('VAEDecode', [1750, 60]);
  g.link(ks, 0, decode, 'samples');
  g.link(vae, 'VAE', decode, 'vae');
  const save = spec.video
    ? g.add('SaveAnimatedWEBP', [1980, 60], { filename_prefix: `spacetime/${spec.prefix}`, fps: spec.video.fps,
      lossless: false, quality: 90, method: 'default' })
    : g.add('SaveImage', [1980, 60], { filename_prefix: `spacetime/${spec.prefix}` });
  g.link(decode, 0, save, 'images');
  const preview = g.add('PreviewImage', g.below(layout), {}, 'Layout preview');
  g.link(layout, 'preview', preview, 'images');
  if (model !== unet) model.pos = g.below(under);
  window.app.canvas.setDirty(true, true);
  return layout.id;
}

/**
 * The edit the box editor saves when a user moves an object over a video: the pack's own prediction (its route,
 * as the editor shows it) with object `motion.object`'s predicted box kept as its End keyframe (`end_box`) and its
 * Start box moved to x = `motion.startX` (its centre following, as the editor writes it). Runs in the page.
 */
async function editedLayout(text, width, height, motion) {
  const resp = await window.app.api.fetchApi('/spacetime/layout/predict',
    { method: 'POST', body: JSON.stringify({ text, width, height, seed: 0 }) });
  if (!resp.ok) throw new Error(`layout prediction answered ${resp.status}`);
  const { layout } = await resp.json();
  const obj = layout.objects[motion.object];
  const [x0, y0, x1, y1] = obj.box;
  const round4 = (v) => Math.round(v * 1e4) / 1e4;
  obj.end_box = [x0, y0, x1, y1];
  obj.box = [motion.startX, y0, round4(motion.startX + x1 - x0), y1];
  obj.center = [round4((obj.box[0] + obj.box[2]) / 2), round4((y0 + y1) / 2)];
  return layout;
}

/** Puts the graph helpers on window: g.add(type, [x, y], widgets, title), g.below(node), g.link(src, out, dst, in). */
function installHelpers() {
  const graph = window.app.graph;
  graph.clear();
  window.spacetimeGraph = {
    add(type, pos, widgets = {}, title) {
      const node = LiteGraph.createNode(type);
      if (!node) throw new Error(`missing node type ${type}`);
      node.pos = pos;
      if (title) node.title = title;
      graph.add(node);
      for (const [key, value] of Object.entries(widgets)) {
        const widget = node.widgets.find((w) => w.name === key);
        if (!widget) throw new Error(`${type} has no widget ${key}`);
        widget.value = value;
      }
      return node;
    },
    below(node) {
      return [node.pos[0], node.pos[1] + node.size[1] + 50];
    },
    link(src, output, dst, input) {
      const out = typeof output === 'number' ? output : src.outputs.findIndex((o) => o.name === output);
      const slot = dst.inputs.findIndex((i) => i.name === input);
      if (out < 0 || slot < 0) throw new Error(`cannot link ${src.type}.${output} -> ${dst.type}.${input}`);
      src.connect(out, dst, slot);
    },
  };
}

async function build(page, name, spec) {
  await page.evaluate(installHelpers);
  if (spec.dit) await page.evaluate(`window.editedLayout = ${editedLayout}`);
  return page.evaluate(spec.dit ? buildDiT : buildCheckpointGraph, { spec, PROMPT });
}

/** SD1.5 / SDXL and the lab models: one checkpoint loader (MODEL, CLIP, VAE), CFG with a negative prompt. */
function buildCheckpointGraph({ spec }) {
  const g = window.spacetimeGraph;
    const ckpt = g.add(spec.loader, [20, 60], { ckpt_name: spec.ckpt });
    const text = g.add('PrimitiveStringMultiline', g.below(ckpt), { value: spec.prompt }, 'Prompt');
    const layout = g.add('SpaceTimePredictLayout', [460, 60],
      { width: spec.size, height: spec.size, seed: 0, control_after_generate: 'fixed' });
    layout.widgets.find((w) => w.name === 'text').value = spec.prompt; // shown under the link; the link wins
    g.link(text, 0, layout, 'text');
    const regions = g.add('SpaceTimeRegionPromptEncode', [960, 60], spec.template ? { template: spec.template } : {});
    g.link(ckpt, 'CLIP', regions, 'clip');
    g.link(layout, 'layout', regions, 'layout');
    const patch = g.add('SpaceTimeAttentionPatch', g.below(regions), spec.mode ? { mode: spec.mode } : {});
    g.link(ckpt, 'MODEL', patch, 'model');
    g.link(regions, 0, patch, 'regions');
    const positive = g.add('CLIPTextEncode', g.below(text), {}, 'Positive');
    g.link(text, 0, positive, 'text');
    g.link(ckpt, 'CLIP', positive, 'clip');
    const negative = g.add('CLIPTextEncode', g.below(positive), { text: spec.negative }, 'Negative');
    g.link(ckpt, 'CLIP', negative, 'clip');
    const latent = g.add('EmptyLatentImage', g.below(negative), { width: spec.size, height: spec.size,
      batch_size: spec.batch });
    if (spec.optimize) {
      // Searches per-region step weights on the same seed and settings as the KSampler, then patches with them.
      const optimize = g.add('SpaceTimeOptimizeStepWeights', g.below(patch), { seed: 42,
        control_after_generate: 'fixed', steps: spec.steps, cfg: spec.cfg });
      g.link(ckpt, 'MODEL', optimize, 'model');
      g.link(regions, 0, optimize, 'regions');
      g.link(positive, 0, optimize, 'positive');
      g.link(negative, 0, optimize, 'negative');
      g.link(latent, 0, optimize, 'latent');
      g.link(optimize, 'step_weights', patch, 'step_weights');
      const plot = g.add('PreviewImage', [optimize.pos[0] + optimize.size[0] + 40, optimize.pos[1]], {},
        'Step weights');
      g.link(optimize, 'plot', plot, 'images');
    }
    const sampler = (model, pos, title, prefix) => {
      const ks = g.add('KSampler', pos, { seed: 42, control_after_generate: 'fixed', steps: spec.steps,
        cfg: spec.cfg, sampler_name: spec.sampler, scheduler: spec.scheduler, denoise: 1 }, title);
      g.link(model, 0, ks, 'model'); // MODEL is output 0 of both the loader and the patch
      g.link(positive, 0, ks, 'positive');
      g.link(negative, 0, ks, 'negative');
      g.link(latent, 0, ks, 'latent_image');
      const decode = g.add('VAEDecode', [pos[0] + 350, pos[1]]);
      g.link(ks, 0, decode, 'samples');
      g.link(ckpt, 'VAE', decode, 'vae');
      const save = g.add('SaveImage', [pos[0] + 580, pos[1]], { filename_prefix: prefix });
      g.link(decode, 0, save, 'images');
    };
    sampler(patch, [1400, 60], 'KSampler (SpaceTime)', `spacetime/${spec.prefix}`);
    if (spec.compare) sampler(ckpt, [1400, 420], 'KSampler (vanilla, same seed)', `spacetime/${spec.prefix}_vanilla`);
    const preview = g.add('PreviewImage', g.below(layout), {}, 'Layout preview');
    g.link(layout, 'preview', preview, 'images');
    if (spec.ramp !== undefined) {
      const weights = g.add('SpaceTimeStepWeightsSchedule', [960, 600],
        { shape: 'linear', unit: 'absolute', start: spec.ramp, end: 0 });
      g.link(weights, 'step_weights', patch, 'step_weights');
    }
    window.app.canvas.setDirty(true, true);
    return layout.id;
}

/** Fits the whole graph into the viewport for the thumbnail. */
async function fitView(page) {
  await page.evaluate(() => {
    const nodes = window.app.graph._nodes;
    const x0 = Math.min(...nodes.map((n) => n.pos[0])), y0 = Math.min(...nodes.map((n) => n.pos[1] - 40));
    const x1 = Math.max(...nodes.map((n) => n.pos[0] + n.size[0]));
    const y1 = Math.max(...nodes.map((n) => n.pos[1] + n.size[1]));
    const ds = window.app.canvas.ds;
    const canvas = window.app.canvas.canvas;
    // The canvas spans the window under the side bar and the top menu: keep clear of both.
    const left = 90, top = 130, w = canvas.clientWidth - left - 30, h = canvas.clientHeight - top - 30;
    ds.scale = Math.min(w / (x1 - x0), h / (y1 - y0));
    ds.offset = [left / ds.scale - x0, top / ds.scale - y0];
    window.app.canvas.setDirty(true, true);
  });
  await page.waitForTimeout(1500);
}

(async () => {
  const [url, repo, ...names] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url, { settings: { 'Comfy.Minimap.Visible': false } });
  const written = [];
  for (const name of names.length ? names : Object.keys(SPECS)) {
    await build(page, name, SPECS[name]);
    await fitView(page);
    const workflow = await page.evaluate(() => window.app.graph.serialize());
    fs.writeFileSync(path.join(repo, SPECS[name].dir, `${name}.json`), JSON.stringify(workflow, null, 2) + '\n');
    written.push(name);
  }
  await ctx.close();
  emit({ written, errors });
})().catch((err) => { emit({ fatal: String(err && err.stack || err) }); process.exit(1); });
