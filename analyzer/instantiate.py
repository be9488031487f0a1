"""Where a kernel's parameter values come from.

In order of preference, per site: `--instantiate` requests, a
`# tilelint: instantiate ...` comment, `[tool.tilelint] instantiate`, calls
with constant arguments found in the same file (module level, `main()`-style
drivers, argparse defaults), each `@autotune` config, then parameter defaults
and module constants for whatever is still missing. The first source that
gives at least one binding wins; later sources only fill the gaps.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import libcst as cst

from .discover import Site
from .dtypes import DType
from .evaluate import CallSite, Evaluator, Scope, _Iter
from .values import FunctionValue, Sym, TensorValue, Unknown

MAX_INSTANTIATIONS = 16

SOURCE_CLI = "cli"
SOURCE_COMMENT = "comment"
SOURCE_CONFIG = "pyproject"
SOURCE_CALL = "call-site"
SOURCE_AUTOTUNE = "autotune"
SOURCE_CALL_AUTOTUNE = "call-site+autotune"  # a call fixed some parameters, each autotune config the rest
SOURCE_DEFAULTS = "defaults"
SOURCE_MODULE = "module"


@dataclass
class Instantiation:
    binding: dict[str, Any]
    source: str

    def key(self) -> str:
        return repr(sorted((k, _key(v)) for k, v in self.binding.items()))


def _key(value: Any) -> Any:
    if isinstance(value, TensorValue):
        return ("tensor", tuple(_key(d) for d in value.shape), str(value.dtype))
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _key(v)) for k, v in value.items()))
    return repr(value)


@dataclass
class Request:
    """`matmul(1024, 1024, ...)` from the CLI, a comment or pyproject.toml."""

    site: str
    args: list[Any]
    kwargs: dict[str, Any]
    source: str
    line: int | None = None


class RequestError(ValueError):
    pass


def parse_request(text: str, ev: Evaluator, scope: Scope, source: str, line: int | None = None) -> Request:
    try:
        node = cst.parse_expression(text.strip())
    except cst.ParserSyntaxError as err:
        raise RequestError(f"cannot parse instantiation {text.strip()!r}: {err.message}") from None
    if not isinstance(node, cst.Call) or not isinstance(node.func, (cst.Name, cst.Attribute)):
        raise RequestError(f"instantiation must be a call like 'matmul(1024, 1024, 128)', got {text.strip()!r}")
    func = node.func
    name = func.value if isinstance(func, cst.Name) else func.attr.value
    args, kwargs = ev.call_args(node, scope)
    bad = [repr(a) for a in list(args) + list(kwargs.values()) if isinstance(a, (Unknown, Sym))]
    if bad:
        raise RequestError(f"instantiation {text.strip()!r} has arguments that are not constants")
    return Request(name, list(args), kwargs, source, line)


def _param_names(func: FunctionValue) -> list[str]:
    p = func.node.params
    return [x.name.value for x in list(p.posonly_params) + list(p.params) + list(p.kwonly_params)]


def known(value: Any) -> bool:
    if isinstance(value, (Unknown, Sym)):
        return False
    if isinstance(value, (list, tuple)):
        return all(known(v) for v in value)
    if isinstance(value, dict):
        return all(known(v) for v in value.values())
    if isinstance(value, TensorValue):
        return all(known(d) for d in value.shape)
    return isinstance(value, (int, float, str, bool, DType, type(None)))


def binding_from_call(site: Site, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """Map call arguments to parameter names, keeping only values known exactly."""
    names = _param_names(site.func)
    p = site.node.params
    positional = [x.name.value for x in list(p.posonly_params) + list(p.params)]
    out: dict[str, Any] = {}
    if len(args) > len(positional) and p.star_arg is None:
        return None
    for name, value in zip(positional, args):
        _bind(out, name, value, name in site.tensor_params)
    for name, value in kwargs.items():
        if name == "**":
            continue  # `**config` whose contents are unknown: those parameters stay unbound
        if name in names or site.style == "eager" or p.star_kwarg is not None:
            _bind(out, name, value, name in site.tensor_params)
        else:
            return None
    return out


def _bind(out: dict[str, Any], name: str, value: Any, tensor: bool) -> None:
    if tensor:
        if isinstance(value, TensorValue) and known(value):
            out[name] = value  # its shape binds the kernel's T.const names
    elif known(value):
        out[name] = value
    elif isinstance(value, (Unknown, Sym)):
        # The call passes something computed at run time: the parameter's default does not apply.
        out[name] = Sym(name, frozenset({name}))


def _configs(site: Site, ev: Evaluator, base: dict[str, Any]) -> list[dict[str, Any]]:
    configs = site.autotune_configs
    if isinstance(configs, FunctionValue):
        configs = ev.call_function(configs, [], dict(base))
    if isinstance(configs, _Iter):
        configs = configs.items
    if isinstance(configs, dict):
        # {param: [choices]} -> the cartesian product, as autotune expands it
        keys = list(configs)
        lists = [configs[k] if isinstance(configs[k], (list, tuple)) else [configs[k]] for k in keys]
        return [dict(zip(keys, combo)) for combo in itertools.product(*lists)][: MAX_INSTANTIATIONS * 4]
    if isinstance(configs, (list, tuple)):
        return [c for c in configs if isinstance(c, dict)]
    return []


def instantiations(site: Site, requests: list[Request], calls: list[CallSite], ev: Evaluator) -> list[Instantiation]:
    """Every binding to analyse `site` with, best source first."""
    if site.style == "prim_func":
        return [Instantiation({}, SOURCE_MODULE)]
    found: list[Instantiation] = []
    for source in (SOURCE_CLI, SOURCE_COMMENT, SOURCE_CONFIG):
        for req in requests:
            if req.source == source and req.site == site.name:
                binding = binding_from_call(site, req.args, req.kwargs)
                if binding is not None:
                    found.append(Instantiation(binding, source))
        if found:
            return _dedupe(found)
    call_bindings: list[dict[str, Any]] = []
    for call in calls:
        if call.site is site.func:
            binding = binding_from_call(site, call.args, call.kwargs)
            if binding is not None:
                call_bindings.append(binding)
    names = _param_names(site.func)
    if call_bindings:
        complete = [b for b in call_bindings if _complete(site, b, names)]
        chosen = complete or call_bindings
        for binding in chosen:
            missing = [n for n in names if n not in binding]
            if missing and site.autotune_configs is not None:
                configs = _configs(site, ev, binding)
                for config in configs:
                    extra = {k: v for k, v in config.items() if k in missing or k not in names}
                    source = SOURCE_CALL_AUTOTUNE if any(k in missing for k in extra) else SOURCE_CALL
                    found.append(Instantiation({**extra, **binding}, source))
                if configs:
                    continue
            found.append(Instantiation(binding, SOURCE_CALL))
        return _dedupe(found)
    if site.autotune_configs is not None:
        for config in _configs(site, ev, {}):
            found.append(Instantiation(dict(config), SOURCE_AUTOTUNE))
        if found:
            return _dedupe(found)
    return [Instantiation({}, SOURCE_DEFAULTS)]


def _complete(site: Site, binding: dict[str, Any], names: list[str]) -> bool:
    defaults = site.func.defaults
    return all(
        (n in binding and not isinstance(binding[n], Sym)) or n in defaults or n in site.tensor_params for n in names
    )


def _dedupe(items: list[Instantiation]) -> list[Instantiation]:
    seen: set[str] = set()
    out: list[Instantiation] = []
    for item in items:
        k = item.key()
        if k not in seen:
            seen.add(k)
            out.append(item)
        if len(out) >= MAX_INSTANTIATIONS:
            break
    return out
