# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, ImdsDisabledByEnvironment
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.config import validate_endpoint


@pytest.mark.parametrize(
    ("options", "environ", "endpoint"),
    [
        ({}, {}, "http://169.254.169.254"),
        ({"endpoint_mode": "IPv6"}, {}, "http://[fd00:ec2::254]"),
        ({}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"}, "http://[fd00:ec2::254]"),
        ({}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "ipv4"}, "http://169.254.169.254"),
        ({}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:8080/"}, "http://127.0.0.1:8080"),
        # the option wins over both variables; the endpoint variable wins over the mode
        (
            {"endpoint": "http://127.0.0.1:1"},
            {
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:2",
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6",
            },
            "http://127.0.0.1:1",
        ),
        (
            {},
            {
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:2",
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6",
            },
            "http://127.0.0.1:2",
        ),
        ({"endpoint": "http://[::1]:8080"}, {}, "http://[::1]:8080"),
        ({"endpoint": "https://imds.example"}, {}, "https://imds.example"),
    ],
)
def test_endpoint_resolution_order(options, environ, endpoint):
    assert client_config_from_params(environ=environ, **options).endpoint == endpoint


@pytest.mark.parametrize(
    ("endpoint", "complaint"),
    [
        ("ftp://169.254.169.254", "http:// or https://"),
        ("169.254.169.254", "http:// or https://"),
        ("http://", "no host"),
        ("http://169.254.169.254/latest/meta-data", "must not have a path"),
        ("http://169.254.169.254/?x=1", "must not have a path"),
        ("http://user:pw@169.254.169.254", "user name or password"),
        ("http://169.254.169.254:99999", "not a valid URL"),
        ("http://[fd00:ec2::254", "not a valid URL"),
    ],
)
def test_invalid_endpoints_name_the_option(endpoint, complaint):
    with pytest.raises(ImdsConfigError, match=complaint) as caught:
        validate_endpoint(endpoint)
    assert "endpoint=" in str(caught.value) or "endpoint must" in str(caught.value)


def test_invalid_endpoint_variable_is_named():
    with pytest.raises(ImdsConfigError, match="AWS_EC2_METADATA_SERVICE_ENDPOINT="):
        client_config_from_params(environ={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "nonsense"})


def test_invalid_endpoint_mode_is_named():
    with pytest.raises(ImdsConfigError, match="AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE='IPv5'"):
        client_config_from_params(environ={"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv5"})


@pytest.mark.parametrize("value", ["true", "TRUE", " true "])
def test_disabled_by_environment(value):
    with pytest.raises(ImdsDisabledByEnvironment, match="AWS_EC2_METADATA_DISABLED=true"):
        client_config_from_params(environ={"AWS_EC2_METADATA_DISABLED": value})


def test_disabled_false_is_ignored():
    assert client_config_from_params(environ={"AWS_EC2_METADATA_DISABLED": "false"}).endpoint


@pytest.mark.parametrize(
    ("options", "option_name"),
    [
        ({"timeout": 0}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"retries": 11}, "retries"),
        ({"total_timeout": 0.5, "timeout": 1.0}, "total_timeout"),
        ({"max_concurrency": 0}, "max_concurrency"),
    ],
)
def test_bad_numbers_name_the_option(options, option_name):
    with pytest.raises(ImdsConfigError, match=option_name):
        client_config_from_params(environ={}, **options)
