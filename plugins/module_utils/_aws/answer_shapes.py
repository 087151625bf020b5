# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Whether a structure read from AWS can be sent back whole without losing anything.

A move sends a group's mixed-instances policy or a fleet's template configs back as read, only the versions
replaced, because the API replaces the whole list. botocore parses an answer by its installed model and silently
leaves out what the model does not know (a member added to the API after that botocore was released): sending the
parsed structure back would drop it, and the group would launch something else. So before any write:

- the raw answer (the XML as it came) is walked against the model the client parsed it with, and an element the
  model does not know under the structure to send is an unmodelled member;
- the parsed structure is walked against the model of the write call's input, and a member the input does not take,
  or a value of another type than the input's (a config that is not an object), is refused too.

Either is a typed refusal naming the member; nothing is dropped.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Mapping
from xml.etree import ElementTree

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsError

MAX_FINDINGS = 20
_MODELS: dict = {}


class UnmodelledMember(AwsError):
    reason = "unmodelled_member"


def service_model(client: Any, service: str) -> Any:
    """The model the client uses, or the installed botocore's (a client without one: a test's stand-in)."""
    model = getattr(getattr(client, "meta", None), "service_model", None)
    if model is not None:
        return model
    if service not in _MODELS:
        import botocore.session  # only here: the modules check for botocore before they get this far

        _MODELS[service] = botocore.session.get_session().get_service_model(service)
    return _MODELS[service]


def input_member(client: Any, service: str, operation: str, member: str) -> Any:
    return service_model(client, service).operation_model(operation).input_shape.members[member]


_PYTHON_TYPES = {"structure": Mapping, "list": list, "map": Mapping, "string": str, "boolean": bool}


def unknown_members(value: Any, shape: Any, path: str) -> list:
    """Paths in ``value`` the input ``shape`` does not take: an unknown member, or a value of another type."""
    expected = _PYTHON_TYPES.get(shape.type_name)
    if shape.type_name in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif shape.type_name in ("double", "float"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = expected is None or isinstance(value, expected)
    if not ok:
        return [f"{path} (not a {shape.type_name})"]
    found: list = []
    if shape.type_name == "structure":
        for key, item in value.items():
            if key not in shape.members:
                found.append(f"{path}.{key}")
            elif item is not None:
                found += unknown_members(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            found += unknown_members(item, shape.member, f"{path}[{index}]")
    return found[:MAX_FINDINGS]


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _unparsed(element: Any, shape: Any, path: str, found: list) -> None:
    """Elements under ``element`` that ``shape`` (an output shape) has no member for: what botocore left out."""
    if shape.type_name == "structure":
        members = {member.serialization.get("name", name): member for name, member in shape.members.items()}
        for child in element:
            tag = _local(child.tag)
            member = members.get(tag)
            if member is None:
                found.append(f"{path}.{tag}")
            elif member.type_name == "list" and member.serialization.get("flattened"):
                _unparsed(child, member.member, f"{path}.{tag}", found)
            else:
                _unparsed(child, member, f"{path}.{tag}", found)
    elif shape.type_name == "list":
        for index, child in enumerate(element):
            _unparsed(child, shape.member, f"{path}[{index}]", found)


def unparsed_members(body: Any, operation_model: Any) -> list:
    """Paths of the raw XML answer's elements its operation's output model does not know (request ids aside)."""
    try:
        # botocore has parsed these very bytes with the same parser before this: no new exposure
        root = ElementTree.fromstring(body)  # noqa: S314
    except (ElementTree.ParseError, TypeError, ValueError):
        return []  # botocore parsed it; what it could not parse it has reported itself
    shape = operation_model.output_shape
    if shape is None:
        return []
    wrapper = shape.serialization.get("resultWrapper")
    if wrapper:
        root = next((child for child in root if _local(child.tag) == wrapper), None)
        if root is None:
            return []
    found: list = []
    _unparsed(root, shape, "", found)
    return [path.lstrip(".") for path in found if _local(path.rsplit(".", 1)[-1]) not in ("requestId", "RequestId")]


@contextmanager
def raw_answers(client: Any, operation: str) -> Iterator[list]:
    """Collect (operation model, raw body) of each ``operation`` the client answers inside the block."""
    answers: list = []
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:
        yield answers
        return
    service_id = client.meta.service_model.service_id.hyphenize()
    name = f"before-parse.{service_id}.{operation}"

    def keep(operation_model: Any = None, response_dict: Any = None, **kwargs: Any) -> None:
        if isinstance(response_dict, Mapping) and operation_model is not None:
            answers.append((operation_model, response_dict.get("body")))

    events.register(name, keep, unique_id=f"ec2meta-imds-raw-{id(answers)}")
    try:
        yield answers
    finally:
        events.unregister(name, unique_id=f"ec2meta-imds-raw-{id(answers)}")


def refuse_unknown(found: list, what: str, action: str) -> None:
    """Raise UnmodelledMember when ``found`` names anything."""
    if found:
        raise UnmodelledMember(
            f"{what} holds {', '.join(found[:MAX_FINDINGS])}, which the installed botocore cannot send back to "
            f"{action} (a member it does not model, or a value of another shape): sending the rest would drop it and "
            "change what is launched. Nothing was changed. Upgrade boto3/botocore to a release that knows it, or "
            "move it by hand"
        )


def changed_paths(before: Any, after: Any, path: str) -> list:
    """Paths where ``after`` differs from ``before`` (dicts by key, lists by position)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return [
            found
            for key in sorted(set(before) | set(after), key=str)
            for found in changed_paths(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
        ][:MAX_FINDINGS]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            found
            for index, (old, new) in enumerate(zip(before, after))
            for found in changed_paths(old, new, f"{path}[{index}]")
        ][:MAX_FINDINGS]
    return [] if before == after else [path or "(the whole structure)"]
