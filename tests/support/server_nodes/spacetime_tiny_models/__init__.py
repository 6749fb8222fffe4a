"""A test-only ComfyUI extension for test servers (never a user's ComfyUI): the tiny loader node of
support/tiny_loader.py with the families whose real-loader files no test can afford, built in the server from
support.models. tests/server/test_dit_server.py hands its folder to its own server as a custom_nodes path
(extra_model_paths.yaml), so the host's custom_nodes folder stays as the user has it."""
from support import models
from support.tiny_loader import loader_class


def _cross_attention_models() -> dict:
    """The cross-attention DiTs (tests/server/test_cross_attention_server.py): PixArt, Cosmos-Predict2, and Anima
    on cores that have it."""
    import comfy.supported_models as sm

    from support.models_pixart import tiny_pixart

    found = {"pixart": tiny_pixart, "cosmos": models.tiny_cosmos}
    if hasattr(sm, "Anima"):
        found["anima"] = models.tiny_anima
    return found


def _video_models() -> dict:
    """The video DiTs (tests/server/test_examples_run.py runs the Wan example): Wan 2.1 text-to-video."""
    from support.models_wan import tiny_wan

    return {"wan": tiny_wan}


NODE_ID = "SpaceTimeTestTinyCheckpoint"
NODE_CLASS_MAPPINGS = {NODE_ID: loader_class({"chroma": models.tiny_chroma, "flux2": models.tiny_flux2,
                                               "qwen_image": models.tiny_qwen_image,
                                               "z_image": models.tiny_z_image, **_cross_attention_models(),
                                               **_video_models()})}
