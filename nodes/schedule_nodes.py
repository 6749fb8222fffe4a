"""Step Weights Schedule: per-region weights over denoising progress (`SPACETIME_STEP_WEIGHTS`) + a plot."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..spacetime.plot import plot_step_weights
from ..spacetime.step_weights import DEFAULT_GRID, build_schedule

from .types import StepWeights as StepWeightsType

NAME = "Step Weights Schedule"


class SpaceTimeStepWeightsSchedule(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeStepWeightsSchedule",
            display_name=NAME,
            category="conditioning/spacetime",
            description="Weights of each region over denoising progress (0 = pure noise, 1 = done) on a grid that "
                        "means the same with any sampler, scheduler or step count.",
            inputs=[
                io.Combo.Input("shape", options=["constant", "linear", "cosine", "list"], default="constant",
                               tooltip="constant: start everywhere; linear / cosine: from start (progress 0) to "
                                       "end (progress 1); list: the numbers in 'values'."),
                io.Combo.Input("unit", options=["x auto", "absolute"], default="x auto",
                               tooltip="x auto: numbers are multiples of the mode's default weight, resolved by "
                                       "the patch (guidance: 5 / number of regions as in the paper; mix: 0.5). "
                                       "absolute: numbers are the weights."),
                io.Float.Input("start", default=1.0, min=-100.0, max=100.0, step=0.01,
                               tooltip="Weight at the start of denoising (and everywhere for 'constant')."),
                io.Float.Input("end", default=1.0, min=-100.0, max=100.0, step=0.01,
                               tooltip="Weight at the end of denoising (linear / cosine)."),
                io.Int.Input("grid", default=DEFAULT_GRID, min=2, max=1000,
                             tooltip="Grid points over progress 0..1 (the paper's table has 50 columns); "
                                     "weights are interpolated linearly in between."),
                io.String.Input("values", multiline=False, default="", optional=True,
                                tooltip="For shape 'list': numbers at evenly spaced progress points, e.g. "
                                        "'1, 1, 0.5, 0'."),
                io.String.Input("per_region", multiline=True, default="", optional=True,
                                tooltip="Optional per-region curves, one line per region in layout order (then "
                                        "give a line for every region): blank = the curve above, one number = "
                                        "constant, two = ramp, three or more = list."),
            ],
            outputs=[StepWeightsType.Output(display_name="step_weights",
                                            tooltip="Per-region weights on the progress grid."),
                     io.Image.Output(display_name="plot", tooltip="The curves over denoising progress.")],
        )

    @classmethod
    def execute(cls, shape, unit, start, end, grid, values="", per_region="") -> io.NodeOutput:
        weights = build_schedule(shape, start, end, grid, values or "", per_region or "",
                                 relative=(unit == "x auto"), where=NAME)
        image = plot_step_weights(weights, auto_note="5/N guidance, 0.5 mix")
        return io.NodeOutput(weights, torch.from_numpy(image).float().div(255.0).unsqueeze(0))


NODES = [SpaceTimeStepWeightsSchedule]
