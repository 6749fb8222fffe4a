"""The pack loads in the real host with its public node ids, V3 schemas, tooltips and web directory."""
from support import node_ids
from support.paths import PACK_DIR_NAME, REPO


def expected_ids() -> set[str]:
    from comfy_api.latest import io

    return node_ids.expected_ids(hasattr(io, "BoundingBoxes"))


def test_pack_loads_without_import_failure(comfy):
    assert comfy.import_failures == []
    assert any(PACK_DIR_NAME in name for name in comfy.nodes.LOADED_MODULE_DIRS)


def test_registered_node_ids_are_exactly_node_list(comfy):
    ours = {nid for nid, cls in comfy.nodes.NODE_CLASS_MAPPINGS.items()
            if (getattr(cls, "RELATIVE_PYTHON_MODULE", None) or "").endswith(PACK_DIR_NAME)}
    assert ours == expected_ids()


def test_stable_ids_of_the_public_contract_are_present(comfy):
    for node_id in ["SpaceTimePredictLayout", "SpaceTimeRegionPromptEncode", "SpaceTimeAttentionPatch",
                    "SpaceTimeStepWeightsSchedule"]:
        assert node_id in comfy.nodes.NODE_CLASS_MAPPINGS, node_id


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
