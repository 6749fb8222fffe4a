"""The pack's model folders under ComfyUI's models directory (extra_model_paths.yaml may add more paths)."""
from __future__ import annotations

import os


def register_folder(name: str, extensions: set[str] | None = None) -> None:
    """``models/<name>`` as a ComfyUI model folder; `extensions` are added to the file types it lists."""
    import folder_paths

    folder_paths.add_model_folder_path(name, os.path.join(folder_paths.models_dir, name))
    if extensions:
        paths, known = folder_paths.folder_names_and_paths[name]
        folder_paths.folder_names_and_paths[name] = (paths, set(known) | set(extensions))


def folder_roots(name: str) -> list[str]:
    """Every registered path of the folder (none when it was never registered)."""
    import folder_paths

    try:
        return list(folder_paths.get_folder_paths(name))
    except KeyError:
        return []


def file_names(name: str) -> list[str]:
    """Files in the folder's paths (relative names, as ComfyUI's loaders list them)."""
    import folder_paths

    return list(folder_paths.get_filename_list(name))


def full_path(name: str, filename: str) -> str | None:
    import folder_paths

    return folder_paths.get_full_path(name, filename)


def sub_folders(name: str) -> list[str]:
    """Names of the directories directly inside the folder's paths, sorted."""
    names: set[str] = set()
    for root in folder_roots(name):
        if os.path.isdir(root):
            names.update(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    return sorted(names)


def sub_folder_path(name: str, sub: str) -> str | None:
    """The first ``<path>/<sub>`` directory among the folder's paths."""
    for root in folder_roots(name):
        path = os.path.join(root, sub)
        if sub and os.path.isdir(path):
            return path
    return None
