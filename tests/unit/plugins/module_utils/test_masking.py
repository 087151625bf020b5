# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A secret is masked in every form it takes in text: as it is, URL-encoded, as a dict key, at any depth."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import internal_error
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import MASK, mask_data, mask_text, secret_forms

# Shaped like a real session token: base64, so "/", "+" and "=" change when URL-encoded.
TOKEN = "IQoJb3JpZ2luX2VjE/aB+cD=eF/gH+iJ=="
KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"

# Written out here, not taken from secret_forms, so that a form the code forgets fails these tests.
FORMS = {
    "raw": lambda value: value,
    "quote_no_safe": lambda value: quote(value, safe=""),
    "quote_default": quote,
    "quote_plus": quote_plus,
    "lower_hex": lambda value: quote(value, safe="").replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d"),
    "twice": lambda value: quote(quote(value, safe=""), safe=""),
    "json_slash": lambda value: value.replace("/", "\\/"),
}


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_masked_in_text(form):
    shown = FORMS[form](TOKEN)
    text = f"STS says: X-Amz-Security-Token={shown}&Action=GetCallerIdentity, key {FORMS[form](KEY)}"
    masked = mask_text(text, [TOKEN, KEY])
    assert shown not in masked
    assert FORMS[form](KEY) not in masked
    assert masked.startswith("STS says: X-Amz-Security-Token=********&Action=GetCallerIdentity, key ********")


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_masked_as_a_dict_key_and_at_any_depth(form):
    shown = FORMS[form](TOKEN)
    data = {
        "last_updated": {shown: 1},
        "nested": [{"arn": f"arn:aws:sts::123456789012:assumed-role/r/{shown}"}, (shown,)],
        "count": 3,
        "flag": None,
    }
    masked = mask_data(data, [TOKEN])
    assert masked == {
        "last_updated": {MASK: 1},
        "nested": [{"arn": f"arn:aws:sts::123456789012:assumed-role/r/{MASK}"}, [MASK]],
        "count": 3,
        "flag": None,
    }


def test_a_longer_form_is_masked_whole():
    """quote(quote(token)) contains no other form whole, but its escapes must not survive half-masked."""
    masked = mask_text(f"a {FORMS['twice'](TOKEN)} b", [TOKEN])
    assert masked == f"a {MASK} b"


def test_no_secret_no_change():
    assert mask_text("nothing to hide", ["", None]) == "nothing to hide"
    data = {"a": [1, "b"]}
    assert mask_data(data, []) is data
    assert secret_forms(["", None]) == frozenset()


def test_the_forms_cover_the_list_above():
    forms = secret_forms([TOKEN])
    assert {make(TOKEN) for make in FORMS.values()} <= forms


def test_an_unexpected_error_is_masked_before_it_is_cut_short():
    """internal_error keeps 300 characters: a secret cut in half there would match no mask any more."""
    long_token = TOKEN * 20
    error = RuntimeError(f"{'x' * 250} {long_token}")
    message = str(internal_error(error, [long_token]))
    assert TOKEN[:20] not in message
    assert f"{'x' * 250} {MASK}" in message
