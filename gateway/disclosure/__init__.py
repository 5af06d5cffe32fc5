"""The disclosure engine: policies, their compilation, and pure rendering of views."""

from gateway.disclosure.engine import (
    DAILY,
    DEPENDS,
    CompiledPolicy,
    PolicySet,
    compile_policy,
    next_boundary,
    render,
)
from gateway.disclosure.loader import LoadedPolicy, load_policy_dir, parse_policy
from gateway.disclosure.pseudonym import Pseudonymizer, audience_key

__all__ = [
    "DAILY",
    "DEPENDS",
    "CompiledPolicy",
    "LoadedPolicy",
    "PolicySet",
    "Pseudonymizer",
    "audience_key",
    "compile_policy",
    "load_policy_dir",
    "next_boundary",
    "parse_policy",
    "render",
]
