"""Shared test support: the real ComfyUI host in-process, random-weight models and a real server."""
