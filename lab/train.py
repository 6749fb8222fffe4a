"""Train the lab model: UNet and text encoder jointly, eps-prediction on ComfyUI's SD15 discrete schedule.

usage: python -m lab.train --run lab/runs/main --steps 3000 [--seed 0] [--threads 1]
       python -m lab.train --run lab/runs/main --export lab/fixtures/spacetime_lab.safetensors

Resumes from `<run>/last.pt` (saved every `--save-every` steps); the data stream is a pure function of
(seed, step), so a resumed run sees the same batches as an uninterrupted one. bf16 autocast roughly halves the
step time on CPUs with AVX512-BF16; weights, optimiser and EMA stay float32. One thread by default: on a
shared, oversubscribed CPU, OpenMP threads spin-waiting on each other cost far more than they gain.
"""
from __future__ import annotations

import argparse
import copy
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
# The lab trains on the CPU outside ComfyUI's model management (no comfy.ops casting there): plain autocast.
from torch import autocast

from .captions import random_caption
from .render import render
from .scenes import COLOURS, SHAPES, random_scene

EMPTY_PROMPT_RATE = 0.1


class Trainer:
    """Owns the model pair, the EMA copies, the optimiser and a token cache; one `step()` per batch."""

    def __init__(self, seed: int, lr: float, ema_decay: float) -> None:
        from .model import build_text_encoder, build_unet, sd15_alphas_cumprod

        torch.manual_seed(seed)
        self.seed, self.ema_decay = seed, ema_decay
        self.tokens: dict[str, list[int]] = {}
        self.unet = build_unet()
        self.clip = build_text_encoder(train=True)
        self.text = self.clip.cond_stage_model.clip_l
        _init_weights(self.unet)
        _init_weights(self.text, self._used_tokens())
        self.text.train()
        _make_clip_layers_differentiable(self.text)
        for p in self.text.parameters():
            p.requires_grad_(True)
        self.ema_unet, self.ema_text = copy.deepcopy(self.unet).eval(), copy.deepcopy(self.text).eval()
        params = list(self.unet.parameters()) + list(self.text.parameters())
        self.opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
        self.alphas_cumprod = sd15_alphas_cumprod()
        self.step_index = 0

    def _used_tokens(self) -> list[int]:
        """Every token any caption can contain: only their embedding rows start non-zero (the file compresses)."""
        from .captions import _PHRASES

        words = list(COLOURS) + list(SHAPES) + ["a", "an", "and", ",", "there", "is", "image", "of", "the", "to"]
        words += [w for phrases in _PHRASES.values() for p in phrases for w in p.split()]
        ids = {t for w in words for t in self._tokenize(w)}
        return sorted(ids)

    def _tokenize(self, text: str) -> list[int]:
        if text not in self.tokens:
            self.tokens[text] = [t for t, _ in self.clip.tokenize(text)["l"][0]]
        return self.tokens[text]

    def batch(self, size: int) -> tuple[torch.Tensor, list[str]]:
        """Rendered 32x32 scenes and captions for this step, reproducible from (seed, step)."""
        from .model import pixels_to_latent

        rng = random.Random(self.seed * 1_000_003 + self.step_index)
        images, captions = [], []
        for _ in range(size):
            scene = random_scene(rng)
            images.append(render(scene))
            captions.append("" if rng.random() < EMPTY_PROMPT_RATE else random_caption(scene, rng))
        pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
        return pixels_to_latent(pixels.float()), captions

    def encode(self, captions: list[str], text_model: torch.nn.Module | None = None) -> torch.Tensor:
        """The same forward ComfyUI's CLIPTextEncode runs (SDClipModel.forward on the token ids)."""
        z, _ = (text_model or self.text)([self._tokenize(c) for c in captions])
        return z

    def step(self, batch_size: int) -> float:
        x0, captions = self.batch(batch_size)
        gen = torch.Generator().manual_seed(self.seed * 7_919 + self.step_index)
        t = torch.randint(0, 1000, (batch_size,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        a = self.alphas_cumprod[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        with autocast("cpu", dtype=torch.bfloat16):
            context = self.encode(captions)
            eps = self.unet(xt, timesteps=t.float(), context=context)
        return self._optimise(torch.nn.functional.mse_loss(eps.float(), noise))

    def _optimise(self, loss: torch.Tensor) -> float:
        """One optimiser step on `loss` (gradients clipped to norm 1 over model and text encoder), then the EMA."""
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(self.unet.parameters()) + list(self.text.parameters()), 1.0)
        self.opt.step()
        self._update_ema()
        self.step_index += 1
        return loss.item()

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.ema_decay, (1 + self.step_index) / (10 + self.step_index))
        for live, ema in ((self.unet, self.ema_unet), (self.text, self.ema_text)):
            for p, q in zip(live.parameters(), ema.parameters()):
                q.lerp_(p, 1 - decay)

    def state(self) -> dict[str, Any]:
        return {"step": self.step_index, "unet": self.unet.state_dict(), "text": self.text.state_dict(),
                "ema_unet": self.ema_unet.state_dict(), "ema_text": self.ema_text.state_dict(),
                "opt": self.opt.state_dict()}

    def load(self, state: dict[str, Any]) -> None:
        self.step_index = state["step"]
        self.unet.load_state_dict(state["unet"])
        self.text.load_state_dict(state["text"])
        self.ema_unet.load_state_dict(state["ema_unet"])
        self.ema_text.load_state_dict(state["ema_text"])
        self.opt.load_state_dict(state["opt"])


def _make_clip_layers_differentiable(text: torch.nn.Module) -> None:
    """ComfyUI's CLIPLayer adds its residuals in place (fine for inference, fatal for backward): same maths,
    out of place, on these instances only."""
    from comfy.clip_model import CLIPLayer

    def forward(self: CLIPLayer, x: torch.Tensor, mask=None, optimized_attention=None) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x), mask, optimized_attention)
        return x + self.mlp(self.layer_norm2(x))

    for layer in text.modules():
        if isinstance(layer, CLIPLayer):
            layer.forward = forward.__get__(layer)


@torch.no_grad()
def _init_weights(module: torch.nn.Module, used_tokens: list[int] | None = None) -> None:
    """ComfyUI's ops skip initialisation: default-style init, zeroed UNet output, sparse token table."""
    gen = torch.Generator().manual_seed(0)
    for name, p in module.named_parameters():
        if "token_embedding" in name:
            p.zero_()
            if used_tokens is not None:
                p[used_tokens] = torch.randn(len(used_tokens), p.shape[1], generator=gen) * 0.02
        elif "position_embedding" in name:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.01)
        elif p.ndim > 1:
            bound = 1 / max(p[0].numel(), 1) ** 0.5
            p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
        elif name.endswith("weight"):
            p.fill_(1.0)
        else:
            p.zero_()
    out = getattr(module, "out", None)
    if out is not None:
        out[-1].weight.zero_()


FINAL_LR_SHARE = 0.01


def learning_rate(step: int, steps: int, lr: float, decay_from: int | None) -> float:
    """`lr` until step `decay_from`, then linear down to `FINAL_LR_SHARE * lr` at `steps` (a fine-tuning tail that
    resumes a constant-rate run); a function of the step alone, so a resumed run follows the same rates."""
    if decay_from is None or step < decay_from or steps <= decay_from:
        return lr
    return lr * (1 - (1 - FINAL_LR_SHARE) * (step - decay_from) / (steps - decay_from))


def train(run: Path, steps: int, batch_size: int, seed: int, lr: float, ema_decay: float, save_every: int,
          trainer_class: Callable[[int, float, float], Trainer] = Trainer, decay_from: int | None = None) -> None:
    """The training loop of either lab model (`trainer_class`: `Trainer` or a `lab.dit_train.DitTrainer`)."""
    trainer = trainer_class(seed, lr, ema_decay)
    ckpt = run / "last.pt"
    if ckpt.exists():
        trainer.load(torch.load(ckpt, weights_only=True))
        print(f"resumed at step {trainer.step_index}", flush=True)
    run.mkdir(parents=True, exist_ok=True)
    start, losses = time.time(), []
    while trainer.step_index < steps:
        for group in trainer.opt.param_groups:
            group["lr"] = learning_rate(trainer.step_index, steps, lr, decay_from)
        losses.append(trainer.step(batch_size))
        if trainer.step_index % 10 == 0:
            rate = (time.time() - start) / len(losses)
            print(f"step {trainer.step_index}/{steps} loss {np.mean(losses[-10:]):.4f} "
                  f"{rate:.2f}s/step eta {rate * (steps - trainer.step_index) / 60:.1f} min", flush=True)
        if trainer.step_index % save_every == 0 or trainer.step_index == steps:
            torch.save(trainer.state(), run / "last.tmp")
            (run / "last.tmp").replace(ckpt)
    print("done", flush=True)


def export(run: Path, out: Path) -> None:
    """Write the EMA weights as a ComfyUI checkpoint (fp16 safetensors) with the hand-set TAESD."""
    from .checkpoint import save_lab_checkpoint

    state = torch.load(run / "last.pt", weights_only=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_lab_checkpoint(out, state["ema_unet"], state["ema_text"], metadata={"lab_train_step": str(state["step"])})
    print(f"wrote {out} from step {state['step']}", flush=True)


def training_parser(description: str, run: Path, steps: int, lr: float) -> argparse.ArgumentParser:
    """The options both lab trainings take, with each model's defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run", type=Path, default=run)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--ema", type=float, default=0.995)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save-every", type=int, default=100)
    parser.add_argument("--decay-from", type=int, help="from this step on, the rate falls linearly to 1 %% of --lr "
                                                       "at --steps (default: constant)")
    parser.add_argument("--export", type=Path, help="write the checkpoint from <run>/last.pt and exit")
    return parser


def run_training(args: argparse.Namespace, trainer_class: Callable[[int, float, float], Trainer],
                 export_run: Callable[[Path, Path], None]) -> None:
    """Train (or resume) the run `args` name, or export it with `export_run` when --export is given."""
    torch.set_num_threads(args.threads)
    from .comfy_env import use_comfy_on_cpu

    use_comfy_on_cpu()
    if args.export:
        export_run(args.run, args.export)
    else:
        train(args.run, args.steps, args.batch, args.seed, args.lr, args.ema, args.save_every, trainer_class,
              args.decay_from)


def main(argv: list[str] | None = None) -> None:
    parser = training_parser(__doc__.split("\n")[0], Path("lab/runs/main"), 2400, 2e-3)
    run_training(parser.parse_args(argv), Trainer, export)


if __name__ == "__main__":
    main()
