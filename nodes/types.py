"""The pack's own socket types: private names so they never connect to another pack's look-alike."""
from comfy_api.latest import io

Layout = io.Custom("SPACETIME_LAYOUT")
Regions = io.Custom("SPACETIME_REGIONS")
StepWeights = io.Custom("SPACETIME_STEP_WEIGHTS")
LayoutPredictor = io.Custom("SPACETIME_LAYOUT_PREDICTOR")
