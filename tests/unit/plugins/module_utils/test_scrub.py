# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scrub_tokens: every header form and every token-shaped string goes; ordinary command lines stay readable."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._callers.scrub import REDACTED, drop_cut_token, scrub_tokens

TOKEN = "AQAEAFEOMInKb-S7me-hLqzu83lYdeDV7r-sPh2D4SJF6v5IwD4S8g=="
SHORT = "s3cr3t-v4lue"  # not token-shaped: only the header rule can find it


@pytest.mark.parametrize(
    "text",
    [
        f"curl -H X-aws-ec2-metadata-token: {SHORT} http://169.254.169.254/",
        f"curl -H X-aws-ec2-metadata-token:{SHORT} http://169.254.169.254/",
        f"curl -H 'X-aws-ec2-metadata-token: {SHORT}' http://169.254.169.254/",
        f'curl -H "x-aws-ec2-metadata-token:{SHORT}" http://169.254.169.254/',
        f"curl -H X-AWS-EC2-METADATA-TOKEN:   {SHORT}",
        f"wget --header=X-aws-ec2-metadata-token={SHORT} http://169.254.169.254/",
        f"GET / HTTP/1.1, X-aws-ec2-metadata-token: {SHORT}, Accept: */*",
    ],
)
def test_header_forms_lose_their_value(text):
    scrubbed = scrub_tokens(text)
    assert SHORT not in scrubbed
    assert REDACTED in scrubbed


@pytest.mark.parametrize(
    "token",
    [
        TOKEN,
        TOKEN.lower(),  # the analyzer 1.4 lower-cases its lines
        TOKEN.rstrip("="),
        base64.urlsafe_b64encode(bytes(range(42))).decode(),  # the emulator's shape, no padding
        "aaaaaaaaaaaaaaaaaaaa==",  # short, but padded
    ],
)
def test_token_shaped_strings_go_wherever_they_stand(token):
    found: set = set()
    scrubbed = scrub_tokens(f"python3 fetch.py --token {token} --verbose", found)
    assert token not in scrubbed
    assert scrubbed == f"python3 fetch.py --token {REDACTED} --verbose"
    assert token in found


@pytest.mark.parametrize(
    "text",
    [
        "/usr/bin/java -Djava.awt.headless=true -jar /usr/share/java/jenkins.war",
        "java -cp /var/lib/jenkins/workspace/nightly-report/lib/* com.example.NightlyReport",
        "curl -X PUT -H X-aws-ec2-metadata-token-ttl-seconds: 21600 http://169.254.169.254/latest/api/token",
        "build-and-deploy-the-service-to-production-42",
        "/opt/app/node_modules/aws-sdk/package.json",
        "aws-sdk-java/1.11.500 Linux/5.10.228 OpenJDK_64-Bit_Server_VM/11.0.25+9 java/11.0.25",
        "**token redacted** -v http://169.254.169.254/",
    ],
)
def test_ordinary_text_stays(text):
    assert scrub_tokens(text) == text


def test_found_tokens_are_collected_for_no_log_but_not_short_header_values():
    found: set = set()
    scrub_tokens(f"curl -H 'X-aws-ec2-metadata-token: {TOKEN}' -H 'X-aws-ec2-metadata-token: $T'", found)
    assert found == {TOKEN}


def test_scrubbing_twice_changes_nothing_more():
    once = scrub_tokens(f"curl -H 'X-aws-ec2-metadata-token: {TOKEN}' x")
    assert scrub_tokens(once) == once


def test_a_token_cut_at_a_cap_loses_its_start_too():
    assert drop_cut_token(f"curl -H x-aws-ec2-metadata-token: {TOKEN[:20]}") == "curl -H x-aws-ec2-metadata-token: "


TOKENS = st.randoms(use_true_random=False).map(lambda rng: base64.urlsafe_b64encode(rng.randbytes(42)).decode())
WORDS = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), max_size=8)


@given(WORDS, TOKENS, st.integers(min_value=0, max_value=8), st.sampled_from(["", "=", " ", "'", '"', ":", "/"]))
def test_a_token_placed_anywhere_never_survives(words, token, position, glue):
    position = min(position, len(words))
    argv = " ".join([*words[:position], glue + token + glue, *words[position:]])
    assert token not in scrub_tokens(argv)
    assert token.lower() not in scrub_tokens(argv.lower())
