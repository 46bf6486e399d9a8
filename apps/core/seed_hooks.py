"""Hooks that later apps register to extend `seed_demo` (mirror sync, policies, ...)."""

from collections.abc import Callable

_SEED_HOOKS: list[Callable] = []


def register_seed_hook(hook: Callable) -> Callable:
    """Decorator: `hook(stdout=...)` runs at the end of `seed_demo`, in registration order."""
    if hook not in _SEED_HOOKS:
        _SEED_HOOKS.append(hook)
    return hook


def run_seed_hooks(*, stdout) -> None:
    for hook in _SEED_HOOKS:
        hook(stdout=stdout)
