"""The pack loads in the real host with its public node ids, V3 schemas, tooltips and web directory."""
from support import node_ids
from support.paths import PACK_DIR_NAME, REPO


def expected_ids() -> set[str]:
    from comfy_api.latest import io

    return node_ids.expected_ids(hasattr(io, "BoundingBox"))


def test_pack_loads_without_import_failure(comfy):
    assert comfy.import_failures == []
    assert any(PACK_DIR_NAME in name for name in comfy.nodes.LOADED_MODULE_DIRS)


def test_registered_node_ids_are_exactly_node_list(comfy):
    ours = {nid for nid, cls in comfy.nodes.NODE_CLASS_MAPPINGS.items()
            if (getattr(cls, "RELATIVE_PYTHON_MODULE", None) or "").endswith(PACK_DIR_NAME)}
    assert ours == expected_ids()


# A saved workflow stores widget values by input position and links by output slot, so for these nodes new inputs
# and outputs may only be appended: renaming, removing or reordering one breaks workflows saved today.
SAVED_WORKFLOW_CONTRACT = {
    "SpaceTimePredictLayout": (("text", "width", "height", "seed", "layout_json", "predictor"),
                               ("SPACETIME_LAYOUT", "IMAGE")),
    "SpaceTimeRegionPromptEncode": (("clip", "layout", "template", "overrides"), ("SPACETIME_REGIONS",)),
    "SpaceTimeAttentionPatch": (("model", "regions", "step_weights", "mode", "mask_shape", "radius", "feather",
                                 "strength", "start_percent", "end_percent"), ("MODEL",)),
    "SpaceTimeStepWeightsSchedule": (("shape", "unit", "start", "end", "grid", "values", "per_region"),
                                     ("SPACETIME_STEP_WEIGHTS", "IMAGE")),
}


def test_saved_workflows_find_their_inputs_and_output_slots(comfy):
    for node_id, (inputs, outputs) in SAVED_WORKFLOW_CONTRACT.items():
        schema = comfy.node_class(node_id).define_schema()
        assert tuple(i.id for i in schema.inputs)[:len(inputs)] == inputs, node_id
        assert tuple(o.io_type for o in schema.outputs)[:len(outputs)] == outputs, node_id


def test_every_node_is_v3_with_category_display_name_and_tooltips(comfy):
    from comfy_api.latest import io

    for node_id in sorted(expected_ids()):
        cls = comfy.node_class(node_id)
        assert issubclass(cls, io.ComfyNode)
        schema = cls.define_schema()
        assert schema.node_id == node_id
        assert schema.display_name and schema.category.startswith("conditioning/spacetime")
        assert schema.description, node_id
        for inp in schema.inputs:
            assert inp.tooltip, f"{node_id}.{inp.id} has no tooltip"


def test_web_directory_is_registered(comfy):
    web_dir = comfy.nodes.EXTENSION_WEB_DIRS.get(PACK_DIR_NAME)
    assert web_dir is not None and web_dir.endswith("js")
    assert any(p.suffix == ".js" for p in (REPO / "js").iterdir())
