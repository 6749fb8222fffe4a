"""The per-core adapters are chosen by the version a ComfyUI tree states; an unknown core is named in the error."""
from __future__ import annotations

import pytest

from support import cores


@pytest.mark.parametrize("version", cores.KNOWN)
def test_each_known_core_has_its_adapter(version, tmp_path):
    (tmp_path / "comfyui_version.py").write_text(f'# generated\n__version__ = "{version}"\n')
    found = cores.core_version(tmp_path)
    assert found == version
    adapter = cores.adapter(found)
    assert adapter.VERSION == version
    assert {"lru", "ram"} <= set(adapter.executor_cache_args())


def test_0_33_0_executor_needs_ram_inactive():
    assert "ram_inactive" in cores.adapter("0.33.0").executor_cache_args()
    assert "ram_inactive" not in cores.adapter("0.3.75").executor_cache_args()


def test_unknown_core_is_named():
    with pytest.raises(ValueError, match=r"ComfyUI 9\.9\.9 has no adapter"):
        cores.adapter("9.9.9")
