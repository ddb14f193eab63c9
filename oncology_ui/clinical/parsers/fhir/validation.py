"""Every resource becomes a validated ``fhir.resources`` R4B model, or a problem a person can read.

Two departures from the standard that hand-written bundles commonly make are read with a
warning instead of refused: an object where FHIR wants a list (the mCODE examples do this), and
an Observation with several ``value[x]`` (all are kept, each validated). Anything else invalid is
a problem naming the field, in FHIRPath form (``component[0].code``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fhir.resources.R4B.codeableconcept import CodeableConcept
    from fhir.resources.R4B.quantity import Quantity
    from fhir.resources.R4B.ratio import Ratio
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

#: ``value[x]`` names in the order one is kept when a sender wrote several.
VALUE_PRIORITY = (
    "valueCodeableConcept",
    "valueQuantity",
    "valueInteger",
    "valueRatio",
    "valueString",
    "valueBoolean",
    "valueRange",
    "valueDateTime",
    "valuePeriod",
    "valueTime",
    "valueSampledData",
)
#: How fhir.resources words a primitive that does not match FHIR's format (``DateTime``, ...).
_PRIMITIVE_REGEX = re.compile(r"(\w+) value string does not match spec regex")
_MAX_LIST_REPAIRS = 20
_MAX_ERRORS_SHOWN = 3


@dataclass(frozen=True)
class ObservationValues:
    """The ``value[x]`` an extractor reads; from the model, or kept aside when repeated."""

    concept: CodeableConcept | None = None
    quantity: Quantity | None = None
    integer: int | None = None
    ratio: Ratio | None = None
    string: str | None = None


@dataclass
class CheckedResource:
    """One entry's resource after validation.

    ``model`` is the validated ``fhir.resources`` model of the resource's own type (typed
    ``Any`` so each extractor can name that type), or ``None`` when the resource is invalid and
    ``problems`` says why.
    """

    where: str
    model: Any = None
    values: ObservationValues = field(default_factory=ObservationValues)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_resource(where: str, resource: dict[str, Any]) -> CheckedResource:
    """Validate one resource of a bundle entry (``resourceType`` is known to be a string)."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    kind = resource["resourceType"]
    result = CheckedResource(where)
    try:
        model_class = get_fhir_model_class(kind)
    except (KeyError, ValueError, AttributeError):
        result.problems.append(f"resourceType “{kind[:40]}” is not a FHIR R4 resource.")
        return result
    main, extra = _set_aside_repeated_values(resource, result.warnings)
    try:
        model, main = _read_lists_of_one(model_class, main, result.warnings)
        extra_models = [
            model_class.model_validate(_with_value(main, key, value))
            for key, value in extra.items()
        ]
    except ValidationError as exc:
        result.problems.append(f"is not a valid FHIR {kind} ({explain(exc)}).")
        return result
    except (RecursionError, ValueError, TypeError) as exc:
        result.problems.append(f"is not a valid FHIR resource ({str(exc)[:200]}).")
        return result
    result.model = model
    if kind == "Observation":
        result.values = _values(model, *extra_models)
    return result


def explain(error: ValidationError) -> str:
    """The first few validation errors as ``path: what is wrong``, in words a person can act on."""
    parts = [
        f"{_fhirpath(item['loc']) or 'the resource'}: {_message(item)}"
        for item in error.errors()[:_MAX_ERRORS_SHOWN]
    ]
    return "; ".join(parts)[:400]


def _message(item: ErrorDetails) -> str:
    kind, value = item["type"], item.get("input")
    shown = f"“{str(value)[:40]}”"
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return "FHIR R4 has no such element here"
    if kind == "json_invalid":
        return f"expected an object with elements, found the text {shown}"
    if kind == "string_pattern_mismatch":
        return "must not be empty" if value == "" else f"{shown} is not allowed here"
    primitive = _PRIMITIVE_REGEX.search(str(item["msg"]))
    if primitive:
        name = primitive.group(1)
        return f"{shown} is not a valid FHIR {name[0].lower()}{name[1:]}"
    return str(item["msg"]).removeprefix("Value error, ")


def _fhirpath(loc: tuple[int | str, ...]) -> str:
    path = ""
    for step in loc:
        if step == "__root__":
            continue
        path += f"[{step}]" if isinstance(step, int) else f".{step}" if path else str(step)
    return path


def _set_aside_repeated_values(
    resource: dict[str, Any], warnings: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep the first ``value[x]`` of an Observation in it; return the others beside it."""
    present = [key for key in VALUE_PRIORITY if key in resource]
    if resource["resourceType"] != "Observation" or len(present) < 2:
        return resource, {}
    extra = {key: resource[key] for key in present[1:]}
    warnings.append(
        f"has {', '.join(present)} (FHIR allows one value); {present[0]} validated, the others "
        "kept as extra values."
    )
    return {k: v for k, v in resource.items() if k not in extra}, extra


def _with_value(observation: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """The smallest valid Observation carrying a set-aside value, to validate that value alone."""
    required = {k: observation[k] for k in ("resourceType", "status", "code") if k in observation}
    return {**required, key: value}


def _read_lists_of_one(
    model_class: Any, resource: dict[str, Any], warnings: list[str]
) -> tuple[Any, dict[str, Any]]:
    """Validate; an object where FHIR wants a list is read as a one-item list, with a warning.

    Returns the model and the resource as validated (repaired, where it was). Nothing else is
    repaired: any other error is raised.
    """
    from pydantic import ValidationError

    for _ in range(_MAX_LIST_REPAIRS):
        try:
            return model_class.model_validate(resource), resource
        except ValidationError as exc:
            lists = [e for e in exc.errors() if e["type"] == "list_type"]
            if not lists or len(lists) != len(exc.errors()):
                raise
            resource = json.loads(json.dumps(resource))
            for error in lists:
                path = [p for p in error["loc"] if p != "__root__"]
                parent: Any = resource
                for step in path[:-1]:
                    parent = parent[step]
                parent[path[-1]] = [parent[path[-1]]]
                warnings.append(
                    f"{'.'.join(str(p) for p in path)} should be a list; read as one item."
                )
    return model_class.model_validate(resource), resource


def _values(*observations: Any) -> ObservationValues:
    """Merge the value[x] of the validated observation and of its set-aside copies."""

    def first(name: str) -> Any:
        return next((getattr(o, name) for o in observations if getattr(o, name) is not None), None)

    return ObservationValues(
        concept=first("valueCodeableConcept"),
        quantity=first("valueQuantity"),
        integer=first("valueInteger"),
        ratio=first("valueRatio"),
        string=first("valueString"),
    )
