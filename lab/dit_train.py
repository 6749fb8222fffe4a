"""Train the DiT lab model: Flux transformer and text encoder jointly, flow matching as ComfyUI's Flux samples it.

usage: python -m lab.dit_train --run lab/runs/dit --steps 4000 [--seed 0] [--threads 1]
                               [--width 128 --double 2 --single 4 --head 64] [--text-from lab/fixtures/spacetime_lab.safetensors]
                               [--init-from <DiT lab checkpoint>]
       python -m lab.dit_train --run lab/runs/dit --export lab/fixtures/spacetime_lab_dit.safetensors

Same data, captions, EMA, resumption and determinism as `lab.train` (the data stream is a pure function of
(seed, step)); only the denoiser and the objective differ: x_t = sigma * noise + (1 - sigma) * x0 with
sigma = ModelSamplingFlux.sigma(t), t uniform, and the Flux predicts the velocity noise - x0 (ComfyUI's CONST).
"""
from __future__ import annotations

import copy
from functools import partial
from pathlib import Path

import torch
# The lab trains on the CPU outside ComfyUI's model management (no comfy.ops casting there): plain autocast.
from torch import autocast

from .dit_model import DitSize
from .train import Trainer, _init_weights, _make_clip_layers_differentiable, run_training, training_parser

ZERO_INIT = ("final_layer.linear.", "final_layer.adaLN_modulation.", "_mod.lin.", "modulation.lin.")


class DitTrainer(Trainer):
    """`lab.train.Trainer` with the Flux in its denoiser slot (`unet`, so state files keep the same keys)."""

    def __init__(self, seed: int, lr: float, ema_decay: float, size: DitSize = DitSize(),
                 text_from: Path | None = None, init_from: Path | None = None) -> None:
        from .dit_model import build_dit, dit_model_sampling
        from .model import build_text_encoder

        torch.manual_seed(seed)
        self.seed, self.ema_decay = seed, ema_decay
        self.tokens: dict[str, list[int]] = {}
        self.unet = build_dit(size)
        self.clip = build_text_encoder(train=True)
        self.text = self.clip.cond_stage_model.clip_l
        _init_dit(self.unet)
        _init_weights(self.text, self._used_tokens())
        if text_from is not None:
            load_text_encoder(self.text, text_from)
        self.step_index = 0
        if init_from is not None:
            self.step_index = load_dit_weights(self.unet, self.text, size, init_from)
        self.text.train()
        _make_clip_layers_differentiable(self.text)
        for p in self.text.parameters():
            p.requires_grad_(True)
        self.ema_unet, self.ema_text = copy.deepcopy(self.unet).eval(), copy.deepcopy(self.text).eval()
        _make_flux_blocks_differentiable(self.unet)
        params = list(self.unet.parameters()) + list(self.text.parameters())
        self.opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
        self.sampling = dit_model_sampling()

    def batch(self, size: int) -> tuple[torch.Tensor, list[str]]:
        """The lab batch of this step, as 16-channel Flux latents."""
        from .dit_model import LATENT_CHANNELS

        x0, captions = super().batch(size)
        pad = x0.new_zeros(x0.shape[0], LATENT_CHANNELS - x0.shape[1], *x0.shape[2:])
        return torch.cat([x0, pad], dim=1), captions

    def encode_with_pooled(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states and projected pooled output, as CLIPTextEncode hands them to model_base.Flux."""
        z, pooled = self.text([self._tokenize(c) for c in captions])[:2]
        return z, pooled

    def step(self, batch_size: int) -> float:
        import comfy.model_management as mm

        # ComfyUI's own training switch, for this step only: rope through plain torch ops (the fused kernel of
        # newer cores has no backward).
        previous, mm.in_training = getattr(mm, "in_training", False), True
        try:
            return self._step(batch_size)
        finally:
            mm.in_training = previous

    def _step(self, batch_size: int) -> float:
        x0, captions = self.batch(batch_size)
        gen = torch.Generator().manual_seed(self.seed * 7_919 + self.step_index)
        sigma = self.sampling.sigma(torch.rand(batch_size, generator=gen))
        noise = torch.randn(x0.shape, generator=gen)
        s = sigma.view(-1, 1, 1, 1)
        xt = s * noise + (1 - s) * x0
        with autocast("cpu", dtype=torch.bfloat16):
            context, pooled = self.encode_with_pooled(captions)
            velocity = self.unet(xt, sigma, context=context, y=pooled)
        return self._optimise(torch.nn.functional.mse_loss(velocity.float(), noise - x0))


TEXT_PREFIXES = ("cond_stage_model.", "text_encoders.clip_l.")  # the UNet lab's file, the DiT lab's file


def load_text_encoder(text: torch.nn.Module, path: Path) -> None:
    """Start from a lab checkpoint's trained text encoder (the UNet lab's states already tell the shapes apart)."""
    from safetensors.torch import load_file

    _load_text_weights(text, load_file(str(path)), "--text-from", path)


@torch.no_grad()
def _load_text_weights(text: torch.nn.Module, file_sd: dict[str, torch.Tensor], option: str, path: Path) -> None:
    """`text` from the lab text encoder's weights in `file_sd` (either lab file's names); `option` and `path` name
    what the user passed when they are not there."""
    sd = {k[len(prefix):]: v.float() for k, v in file_sd.items() for prefix in TEXT_PREFIXES if k.startswith(prefix)}
    own = text.state_dict()
    missing = [k for k in own if "text_model" in k and k not in sd]
    if not sd or missing or any(k not in own for k in sd):
        raise ValueError(f"{option}: {path.name} does not hold the lab's text encoder ({len(sd)} text weights, "
                         f"{len(missing)} missing); lab/fixtures/spacetime_lab.safetensors does")
    text.load_state_dict(sd, strict=False)


@torch.no_grad()
def load_dit_weights(flux: torch.nn.Module, text: torch.nn.Module, size: DitSize, path: Path) -> int:
    """Start from an exported DiT lab checkpoint (its EMA weights): a run continues across machines from a file
    small enough to keep, at the step the file records, with a fresh optimiser. Returns that step."""
    from safetensors import safe_open

    from .checkpoint import UNET_PREFIX
    from .dit_checkpoint import TXT_IN_KEY
    from .dit_model import dit_config, dit_model_config_class, dit_size_of

    with safe_open(str(path), framework="pt") as f:
        sd, metadata = {k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {}
    if TXT_IN_KEY not in sd:
        raise ValueError(f"--init-from: {path.name} is not a DiT lab checkpoint (no {TXT_IN_KEY})")
    found = dit_size_of(sd, UNET_PREFIX)
    if found != size:
        raise ValueError(f"--init-from: {path.name} holds a DiT of {found}, the run asks for {size}; "
                         "pass the file's --width/--double/--single/--head")
    config = dit_model_config_class()(dit_config(size))
    flux_sd = {k[len(UNET_PREFIX):]: v.float() for k, v in sd.items() if k.startswith(UNET_PREFIX)}
    flux.load_state_dict(config.process_unet_state_dict(flux_sd))
    _load_text_weights(text, sd, "--init-from", path)
    return int(metadata.get("lab_train_step", 0))


def _make_flux_blocks_differentiable(model: torch.nn.Module) -> None:
    """ComfyUI's Flux blocks add their residuals in place to the tensor their LayerNorms saved for backward:
    on these instances the norms read a copy instead (same maths; the norms have no weights, keys unchanged)."""
    for block in list(model.double_blocks) + list(model.single_blocks):
        for norm in block.modules():
            if isinstance(norm, torch.nn.LayerNorm):
                norm.forward = _norm_of_copy(norm.forward)


def _norm_of_copy(forward):
    def norm(x: torch.Tensor) -> torch.Tensor:
        return forward(x.clone())

    return norm


@torch.no_grad()
def _init_dit(model: torch.nn.Module) -> None:
    """ComfyUI's ops skip initialisation: uniform fan-in weights, unit norm scales, zero biases, and adaLN-zero
    (modulations and the output layer start at 0, so every block starts as the identity)."""
    gen = torch.Generator().manual_seed(0)
    for name, p in model.named_parameters():
        if any(part in name for part in ZERO_INIT) or name.endswith("bias"):
            p.zero_()
        elif p.ndim > 1:
            bound = 1 / max(p[0].numel(), 1) ** 0.5
            p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
        else:
            p.fill_(1.0)


def export(run: Path, out: Path) -> None:
    """Write the EMA weights as a safetensors checkpoint (fp16) with the hand-set 16-channel TAESD."""
    from .dit_checkpoint import save_dit_lab_checkpoint

    state = torch.load(run / "last.pt", weights_only=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_dit_lab_checkpoint(out, state["ema_unet"], state["ema_text"],
                            metadata={"lab_train_step": str(state["step"])})
    print(f"wrote {out} from step {state['step']}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = training_parser(__doc__.split("\n")[0], Path("lab/runs/dit"), 4000, 1e-3)
    parser.add_argument("--width", type=int, default=DitSize.width, help="transformer width (a multiple of --head)")
    parser.add_argument("--double", type=int, default=DitSize.double, help="double-stream blocks")
    parser.add_argument("--single", type=int, default=DitSize.single, help="single-stream blocks")
    parser.add_argument("--head", type=int, default=DitSize.head, help="head width (a multiple of 16; rope splits "
                                                                       "it as Flux.1 does)")
    parser.add_argument("--text-from", type=Path, help="start the text encoder from this lab checkpoint's "
                                                         "(default: a fresh one)")
    parser.add_argument("--init-from", type=Path, help="start from this exported DiT lab checkpoint's weights and "
                                                         "step, with a fresh optimiser (a run's last.pt, when "
                                                         "present, still wins)")
    args = parser.parse_args(argv)
    try:
        size = DitSize(args.width, args.double, args.single, args.head)
    except ValueError as error:
        parser.error(str(error))
    # --export reads the size from the weights
    run_training(args, partial(DitTrainer, size=size, text_from=args.text_from, init_from=args.init_from), export)


if __name__ == "__main__":
    main()
