"""The rooms of the pack keep their walls: only bridge/ knows ComfyUI's internals (docs/architecture.md)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMFY_INTERNALS = {"comfy", "comfy_extras", "folder_paths", "node_helpers", "nodes", "server", "execution",
                   "latent_preview", "utils"}
# names of ComfyUI's patch and sampler internals: who writes one of them depends on how ComfyUI works inside
INTERNAL_NAMES = ("transformer_options", "cond_or_uncond", "set_model_attn2", "attn2_output_patch",
                  "diffusion_model", "model_sampling", "patches_replace", "WrappersMP", "first_stage_model",
                  "folder_names_and_paths", "PromptServer")


def _modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _absolute_imports(path: Path) -> set[str]:
    """Top-level names of every absolute import in a file (relative imports stay inside the pack)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _code_names(path: Path) -> set[str]:
    """Identifiers, attribute names and string constants of a file (its comments and docstrings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.add(node.value)
    return found


@pytest.mark.parametrize("path", _modules("nodes"), ids=lambda p: p.name)
def test_node_files_import_only_comfy_api_of_comfyui(path):
    assert not _absolute_imports(path) & COMFY_INTERNALS


@pytest.mark.parametrize("path", _modules("nodes"), ids=lambda p: p.name)
def test_node_files_name_no_patch_or_sampler_internals(path):
    named = [n for n in INTERNAL_NAMES if n in _code_names(path)]
    assert not named, f"{path.name} names {named}: that belongs in bridge/"


@pytest.mark.parametrize("folder", ["spacetime", "layout_model"])
def test_the_core_never_imports_comfyui(folder):
    offenders = {p.name: sorted(_absolute_imports(p) & (COMFY_INTERNALS | {"comfy_api"}))
                 for p in _modules(folder)}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_checks_see_what_they_look_for():
    """The walls are checked against a file that does break them, so the checks above cannot pass vacuously."""
    patch = REPO / "bridge" / "patch.py"
    assert "comfy" in _absolute_imports(patch)
    assert {"transformer_options", "WrappersMP"} <= _code_names(patch)
