# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-ins for the EC2 calls moto lacks, installed into the moto server's own process (see MOTO_GAPS.md).

``install()`` adds, to moto's EC2 response class, the account's regional IMDS defaults
(GetInstanceMetadataDefaults, ModifyInstanceMetadataDefaults) and AMI ``ImdsSupport`` (RegisterImage,
ModifyImageAttribute, DescribeImageAttribute, DescribeImages, CopyImage), makes CreateLaunchTemplateVersion
honour ``SourceVersion`` as EC2 does, and makes DescribeSpotFleetRequests answer a request's
``LaunchTemplateConfigs`` and ``Type`` as they were given (moto turns template configurations into launch
specifications of the template's latest version, losing its metadata options, and drops the type), and makes
DescribeInstances take the filter ``network-interface.addresses.private-ip-address`` (any private IPv4 address of
any of the instance's interfaces, secondary ones included, as AWS documents it; moto raises NotImplementedError). moto
serializes every answer from botocore's own service model, and the values accepted are read from that model (its
enums), so the shapes are botocore's; tests/unit/emulator/test_moto_ec2_gaps.py checks both. Each stand-in is a
wrapper around moto's own method, so dropping one when moto
catches up is deleting its lines here.

For tests only, ``set_managed_by_policy`` plays an organization's declarative policy, and ``inject_fault`` makes
the next calls of an action fail with an AWS error code (throttling, AccessDenied) through the real HTTP path.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

DEFAULT_MEMBERS = (
    "HttpTokens",
    "HttpPutResponseHopLimit",
    "HttpEndpoint",
    "InstanceMetadataTags",
    "HttpTokensEnforced",
)
NO_PREFERENCE = "no-preference"
HOP_LIMIT_RANGE = (1, 64)
IMDS_SUPPORT_VALUES = ("v2.0",)  # the only value AWS documents for ImdsSupport (ModifyImageAttribute, RegisterImage)

# ec2 backend (one per account and region) -> {"values": {...}, "managed_by": ..., "message": ...}
_DEFAULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# action -> [error code, message, calls left, calls to let through first]
_FAULTS: dict = {}
_LOCK = threading.Lock()
_INSTALLED: dict = {}


def _model_enum(shape_name: str, member: str) -> tuple:
    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    return tuple(model.shape_for(shape_name).members[member].enum)


def _state(backend: Any) -> dict:
    with _LOCK:
        return _DEFAULTS.setdefault(backend, {"values": {}, "managed_by": "account", "message": None})


def set_managed_by_policy(account_id: str, region: str, message: str | None, values: dict | None = None) -> None:
    """Make the region's defaults owned by a declarative policy (message=None gives them back to the account)."""
    from moto.ec2.models import ec2_backends

    state = _state(ec2_backends[account_id][region])
    state["managed_by"] = "account" if message is None else "declarative-policy"
    state["message"] = message
    if values is not None:
        state["values"] = dict(values)


def inject_fault(
    action: str, code: str, message: str = "injected by the test", times: int = 1000, after: int = 0
) -> None:
    """The next ``times`` calls of ``action`` (e.g. DescribeLaunchTemplates) fail with ``code``, once ``after``
    calls of it have gone through (a failure midway)."""
    with _LOCK:
        _FAULTS[action] = [code, message, times, after]


def clear_faults() -> None:
    with _LOCK:
        _FAULTS.clear()


def reset_defaults() -> None:
    """Every region's defaults back to no preference, managed by the account (the moto server outlives tests)."""
    with _LOCK:
        _DEFAULTS.clear()


def _take_fault(action: str) -> tuple | None:
    with _LOCK:
        fault = _FAULTS.get(action)
        if not fault:
            return None
        if fault[3] > 0:
            fault[3] -= 1
            return None
        fault[2] -= 1
        if fault[2] <= 0:
            del _FAULTS[action]
        return fault[0], fault[1]


# ----------------------------------------------------------------------------- account defaults


def _defaults_methods(EC2ClientError: type, ActionResult: type) -> dict:
    enums = {
        "HttpTokens": _model_enum("ModifyInstanceMetadataDefaultsRequest", "HttpTokens"),
        "HttpEndpoint": _model_enum("ModifyInstanceMetadataDefaultsRequest", "HttpEndpoint"),
        "InstanceMetadataTags": _model_enum("ModifyInstanceMetadataDefaultsRequest", "InstanceMetadataTags"),
        "HttpTokensEnforced": _model_enum("ModifyInstanceMetadataDefaultsRequest", "HttpTokensEnforced"),
    }

    def get_instance_metadata_defaults(self: Any) -> Any:
        self.error_on_dryrun()
        state = _state(self.ec2_backend)
        level = {**state["values"], "ManagedBy": state["managed_by"]}
        if state["message"]:
            level["ManagedExceptionMessage"] = state["message"]
        return ActionResult({"AccountLevel": level})

    def modify_instance_metadata_defaults(self: Any) -> Any:
        given = {member: self._get_param(member) for member in DEFAULT_MEMBERS}
        given = {member: value for member, value in given.items() if value is not None}
        for member, value in given.items():
            if member == "HttpPutResponseHopLimit":
                number = int(value)
                if number != -1 and not HOP_LIMIT_RANGE[0] <= number <= HOP_LIMIT_RANGE[1]:
                    raise EC2ClientError("InvalidParameterValue", f"Value ({value}) for parameter {member} is invalid.")
                given[member] = number
            elif value not in enums[member]:
                raise EC2ClientError("InvalidParameterValue", f"Value ({value}) for parameter {member} is invalid.")
        if not given:
            raise EC2ClientError("InvalidParameterCombination", "At least one metadata option must be specified.")
        self.error_on_dryrun()
        state = _state(self.ec2_backend)
        if state["managed_by"] == "declarative-policy":
            raise EC2ClientError("UnsupportedOperation", state["message"] or "Managed by a declarative policy.")
        with _LOCK:
            for member, value in given.items():
                if value in (NO_PREFERENCE, -1):
                    state["values"].pop(member, None)
                else:
                    state["values"][member] = value
        return ActionResult({"Return": True})

    return {
        "get_instance_metadata_defaults": get_instance_metadata_defaults,
        "modify_instance_metadata_defaults": modify_instance_metadata_defaults,
    }


# ----------------------------------------------------------------------------- AMI ImdsSupport


def _imds_support_param(response: Any) -> str | None:
    value = response._get_param("ImdsSupport")
    if isinstance(value, dict):
        value = value.get("Value")
    return value


def _image_methods(EC2ClientError: type, ActionResult: type, original: dict) -> dict:
    def check(value: Any) -> None:
        if value not in IMDS_SUPPORT_VALUES:
            raise EC2ClientError("InvalidParameterValue", f"Value ({value}) for parameter ImdsSupport is invalid.")

    def register_image(self: Any) -> Any:
        value = _imds_support_param(self)
        if value is not None:
            check(value)
        result = original["register_image"](self)
        if value is not None:
            self.ec2_backend.describe_images(ami_ids=[result.result["ImageId"]])[0].imds_support = value
        return result

    def modify_image_attribute(self: Any) -> Any:
        value = _imds_support_param(self)
        if value is None:
            return original["modify_image_attribute"](self)
        check(value)
        image_id = self._get_param("ImageId")
        self.error_on_dryrun()
        image = self.ec2_backend.describe_images(ami_ids=[image_id])[0]  # InvalidAMIID.NotFound as moto raises it
        image.imds_support = value
        return ActionResult({})

    def describe_image_attribute(self: Any) -> Any:
        if self._get_param("Attribute") != "imdsSupport":
            return original["describe_image_attribute"](self)
        image_id = self._get_param("ImageId")
        self.error_on_dryrun()
        image = self.ec2_backend.describe_images(ami_ids=[image_id])[0]
        value = getattr(image, "imds_support", None)
        return ActionResult({"ImageId": image_id, "ImdsSupport": {"Value": value} if value else {}})

    def copy_image(self: Any) -> Any:
        from moto.ec2.models import ec2_backends

        result = original["copy_image"](self)
        source_region = self._get_param("SourceRegion") or self.region
        source = ec2_backends[self.current_account][source_region].describe_images(
            ami_ids=[self._get_param("SourceImageId")]
        )[0]
        if getattr(source, "imds_support", None):
            # AWS: a copy keeps ImdsSupport (it cannot be unset, so copying is no way around it).
            self.ec2_backend.describe_images(ami_ids=[result.result["ImageId"]])[0].imds_support = source.imds_support
        return result

    return {
        "register_image": register_image,
        "modify_image_attribute": modify_image_attribute,
        "describe_image_attribute": describe_image_attribute,
        "copy_image": copy_image,
    }


# ----------------------------------------------------------------------------- launch template SourceVersion


def _merge_source_version(original: dict) -> dict:
    def create_launch_template_version(self: Any) -> Any:
        source = self._get_param("SourceVersion")
        if not source:
            return original["create_launch_template_version"](self)
        name, template_id = self._get_param("LaunchTemplateName"), self._get_param("LaunchTemplateId")
        template = (
            self.ec2_backend.get_launch_template(template_id)
            if template_id
            else self.ec2_backend.get_launch_template_by_name(name)
        )
        base = template.get_version(source).data
        result = original["create_launch_template_version"](self)
        version = template.versions[-1]
        # EC2: the new version is the source version with the given top-level parameters replaced.
        version.data = {**base, **(version.data or {})}
        result.result["LaunchTemplateVersion"]["LaunchTemplateData"] = version.data
        return result

    return {"create_launch_template_version": create_launch_template_version}


def _template_tags_not_in_data(original: dict) -> dict:
    def create_launch_template(self: Any) -> Any:
        own = (self._get_param("LaunchTemplateData", {}) or {}).get("TagSpecifications")
        result = original["create_launch_template"](self)
        version = self.ec2_backend.get_launch_template_by_name(self._get_param("LaunchTemplateName")).versions[0]
        # EC2: the request's TagSpecifications tag the template; only the data's own tag what it launches.
        data = {key: value for key, value in (version.data or {}).items() if key != "TagSpecifications"}
        version.data = {**data, "TagSpecifications": own} if own else data
        return result

    return {"create_launch_template": create_launch_template}


# ----------------------------------------------------------------------------- Spot Fleet requests as given


def _spot_fleet_methods(original: dict) -> dict:
    given: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # SpotFleetRequest -> what RequestSpotFleet got

    def request_spot_fleet(self: Any) -> Any:
        config = self._get_param("SpotFleetRequestConfig", {})
        result = original["request_spot_fleet"](self)
        request = self.ec2_backend.spot_fleet_requests[result.result["SpotFleetRequestId"]]
        with _LOCK:
            given[request] = {
                "Type": config.get("Type") or "maintain",
                "LaunchSpecifications": len(config.get("LaunchSpecifications") or []),
                # Read as moto itself reads it: the nested list is not in the dict above.
                "LaunchTemplateConfigs": self._get_param("SpotFleetRequestConfig.LaunchTemplateConfigs", []),
            }
        return result

    def describe_spot_fleet_requests(self: Any) -> Any:
        result = original["describe_spot_fleet_requests"](self)
        answered = []
        for request in result.result["SpotFleetRequestConfigs"]:
            config = dict(request.spot_fleet_request_config)
            with _LOCK:
                asked = given.get(request)
            if asked is not None:
                # moto appends the launch specifications it made from template configurations: keep the given ones.
                config["LaunchSpecifications"] = config["LaunchSpecifications"][: asked["LaunchSpecifications"]]
                if asked["LaunchTemplateConfigs"]:
                    config["LaunchTemplateConfigs"] = asked["LaunchTemplateConfigs"]
                config["Type"] = asked["Type"]
            answered.append(
                {
                    "SpotFleetRequestId": request.id,
                    "SpotFleetRequestState": request.state,
                    "SpotFleetRequestConfig": config,
                    "Tags": request.tag_set,
                }
            )
        result.result["SpotFleetRequestConfigs"] = answered
        return result

    def modify_spot_fleet_request(self: Any) -> Any:
        configs = self._get_param("LaunchTemplateConfigs")
        if not configs:
            return original["modify_spot_fleet_request"](self)
        request_id = self._get_param("SpotFleetRequestId")
        request = self.ec2_backend.spot_fleet_requests.get(request_id)
        if request is None:
            raise _ec2_error()(
                "InvalidSpotFleetRequestId.NotFound", f"The spot fleet request ID '{request_id}' does not exist"
            )
        with _LOCK:
            asked = given.setdefault(
                request, {"Type": "maintain", "LaunchSpecifications": 0, "LaunchTemplateConfigs": []}
            )
            if asked["Type"] != "maintain":
                raise _ec2_error()("InvalidParameterValue", "Only a request of type maintain can be modified")
            asked["LaunchTemplateConfigs"] = configs
        self.error_on_dryrun()
        return _action_result()({"Return": True})

    def modify_fleet(self: Any) -> Any:
        fleet_id = self._get_param("FleetId")
        fleet = self.ec2_backend.fleets.get(fleet_id)
        if fleet is None:
            raise _ec2_error()("InvalidFleetId.NotFound", f"The fleet ID '{fleet_id}' does not exist")
        if fleet.fleet_type != "maintain":
            raise _ec2_error()("InvalidParameterValue", f"Fleet {fleet_id} is of type {fleet.fleet_type}, not maintain")
        self.error_on_dryrun()
        configs = self._get_param("LaunchTemplateConfigs")
        if configs:
            fleet.launch_template_configs = configs
        capacity = self._get_param("TargetCapacitySpecification")
        if capacity:
            fleet.target_capacity_specification = {**fleet.target_capacity_specification, **capacity}
        return _action_result()({"Return": True})

    return {
        "request_spot_fleet": request_spot_fleet,
        "describe_spot_fleet_requests": describe_spot_fleet_requests,
        "modify_spot_fleet_request": modify_spot_fleet_request,
        "modify_fleet": modify_fleet,
    }


def _template_replaces_configuration(original: Any) -> Any:
    """UpdateAutoScalingGroup with a launch template (or a mixed-instances policy) and no launch configuration:
    the group leaves its launch configuration, as Auto Scaling does (moto keeps both)."""

    def update_auto_scaling_group(self: Any) -> Any:
        result = original(self)
        moved = self._get_param("LaunchTemplate") or self._get_param("MixedInstancesPolicy")
        if moved and not self._get_param("LaunchConfigurationName"):
            group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
            group.launch_configuration_name, group.launch_config = None, None
        return result

    return update_auto_scaling_group


def _ec2_error() -> type:
    from moto.ec2.exceptions import EC2ClientError

    return EC2ClientError


def _action_result() -> type:
    from moto.core.responses import ActionResult

    return ActionResult


# ----------------------------------------------------------------------------- faults


def _with_faults(call_action: Any, error_class: type, ActionResult: type) -> Any:
    def call_action_with_faults(self: Any) -> Any:
        fault = _take_fault(self._get_action())
        if fault is None:
            return call_action(self)
        status, headers, body = self.serialized(ActionResult(error_class(*fault)))
        headers["status"] = status
        return status, headers, body

    return call_action_with_faults


ANY_PRIVATE_IP_FILTER = "network-interface.addresses.private-ip-address"
_ANY_PRIVATE_IP_ATTRIBUTE = "ec2meta_any_private_ip"


def _interface_private_ips(instance: Any) -> list:
    """Every private IPv4 address of every interface of a moto instance (the primary one and the secondary ones)."""
    found = [instance.private_ip] if getattr(instance, "private_ip", None) else []
    for interface in getattr(instance, "nics", {}).values():
        found += [interface.private_ip_address] if interface.private_ip_address else []
        found += [entry.get("PrivateIpAddress") for entry in interface.private_ip_addresses if isinstance(entry, dict)]
    return [address for address in dict.fromkeys(found) if address]


def _install_any_private_ip_filter() -> None:
    """moto's filters are an attribute path per name: the name is given a property of moto's Instance."""
    from moto.ec2 import utils
    from moto.ec2.models.instances import Instance

    setattr(Instance, _ANY_PRIVATE_IP_ATTRIBUTE, property(_interface_private_ips))
    utils.filter_dict_attribute_mapping[ANY_PRIVATE_IP_FILTER] = _ANY_PRIVATE_IP_ATTRIBUTE


def install() -> None:
    """Add the stand-ins to moto's classes in this process (idempotent)."""
    if _INSTALLED:
        return
    from moto.autoscaling.exceptions import AutoscalingClientError
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.responses import EC2Response

    names = ("register_image", "modify_image_attribute", "describe_image_attribute", "copy_image")
    spot = ("request_spot_fleet", "describe_spot_fleet_requests", "modify_spot_fleet_request")
    original = {
        name: getattr(EC2Response, name)
        for name in (*names, *spot, "create_launch_template_version", "create_launch_template")
    }
    methods = {
        **_defaults_methods(EC2ClientError, ActionResult),
        **_image_methods(EC2ClientError, ActionResult, original),
        **_merge_source_version(original),
        **_template_tags_not_in_data(original),
        **_spot_fleet_methods(original),
    }
    for name, method in methods.items():
        setattr(EC2Response, name, method)
    AutoScalingResponse.update_auto_scaling_group = _template_replaces_configuration(
        AutoScalingResponse.update_auto_scaling_group
    )
    EC2Response.call_action = _with_faults(EC2Response.call_action, EC2ClientError, ActionResult)
    AutoScalingResponse.call_action = _with_faults(
        AutoScalingResponse.call_action, AutoscalingClientError, ActionResult
    )
    _install_any_private_ip_filter()
    _INSTALLED["done"] = True
