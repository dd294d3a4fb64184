"""What tests compute alike over and over, computed once per test process.

Most tests create their own app (``create_app``), and a fresh app compiles everything
again: werkzeug turns each of its URL rules into Python code for ``url_for`` (most of the
time ``create_app`` takes), and Jinja compiles each template it renders.  Both results
depend only on their inputs, so they are kept here, keyed by everything they are made
from; each app still gets its own rules, converters and Jinja environment.

Passwords are hashed with scrypt, about 70 ms of CPU for each hash and each check, and
nearly every test creates users with the same password and logs them in.  A password
is hashed once per process (a real salted scrypt hash, the same one for every user given
that password), and the answer of each check is kept for its (hash, password) pair.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug import security
from werkzeug.routing.rules import Rule

_builders: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}
_compile_builder = Rule._compile_builder


def _builder_inputs(rule: Rule, append_unknown: bool) -> tuple[Any, ...]:
    """What ``Rule._compile_builder`` reads: the rule's parsed parts, its defaults (those
    standing for a part of the URL as their converter writes them) and the flag."""
    defaults = rule.defaults or {}
    resolved = tuple(
        (data, rule._converters[data].to_url(defaults[data]))
        for dynamic, data in rule._trace
        if dynamic and data in defaults
    )
    return (rule.rule, append_unknown, tuple(rule._trace), tuple(defaults), resolved)


def _cached_compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
    key = _builder_inputs(self, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


class TemplateBytecode(BytecodeCache):
    """Compiled templates in memory; Jinja keys them by name and checks the source's hash."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = TemplateBytecode()


_hashes: dict[tuple[str, str, int], str] = {}
_checks: dict[tuple[str, str], bool] = {}


def _hash_once(password: str, method: str = "scrypt", salt_length: int = 16) -> str:
    key = (password, method, salt_length)
    if key not in _hashes:
        _hashes[key] = security.generate_password_hash(password, method=method, salt_length=salt_length)
    return _hashes[key]


def _check_once(pwhash: str, password: str) -> bool:
    key = (pwhash, password)
    if key not in _checks:
        _checks[key] = security.check_password_hash(pwhash, password)
    return _checks[key]


def install() -> None:
    from crm.core import security as jisr_security

    Rule._compile_builder = _cached_compile_builder  # type: ignore[method-assign]
    jisr_security.generate_password_hash = _hash_once  # type: ignore[assignment]
    jisr_security.check_password_hash = _check_once


def share_templates(app: Any) -> None:
    app.jinja_env.bytecode_cache = TEMPLATES
