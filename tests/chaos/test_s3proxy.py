"""The S3 fault proxy in front of a real moto server, driven by boto3 exactly as the app drives S3."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chaos.s3proxy import S3FaultProxy
from tests.support.servers import TEST_BUCKET


@pytest.fixture
def proxy(s3_server):
    running = S3FaultProxy(s3_server.port).start()
    yield running
    running.stop()


@pytest.fixture
def client(proxy):
    return boto3.client(
        "s3",
        endpoint_url=proxy.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def test_in_pass_mode_objects_go_through_both_ways_unchanged(client):
    client.put_object(Bucket=TEST_BUCKET, Key="chaos-test/a", Body=b"x" * 5000)
    assert client.get_object(Bucket=TEST_BUCKET, Key="chaos-test/a")["Body"].read() == b"x" * 5000


def test_refusing_answers_every_request_with_s3s_own_503_slowdown(client, proxy):
    proxy.set("refuse")
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=TEST_BUCKET, Key="chaos-test/b", Body=b"y")
    assert refused.value.response["Error"]["Code"] == "SlowDown"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    proxy.set("pass")
    with pytest.raises(ClientError, match="404|NoSuchKey|Not Found"):
        client.head_object(Bucket=TEST_BUCKET, Key="chaos-test/b")  # nothing was stored


def test_slow_holds_each_request_for_the_delay(client, proxy):
    client.put_object(Bucket=TEST_BUCKET, Key="chaos-test/c", Body=b"z")
    proxy.set("slow")
    proxy.state.delay = 0.3
    started = time.monotonic()
    assert client.get_object(Bucket=TEST_BUCKET, Key="chaos-test/c")["Body"].read() == b"z"
    assert time.monotonic() - started >= 0.3


def test_corrupt_flips_bytes_of_the_chosen_keys_only_keeping_the_length(client, proxy):
    body = bytes(range(256)) * 4
    for key in ("chaos-test/chosen", "chaos-test/other"):
        client.put_object(Bucket=TEST_BUCKET, Key=key, Body=body)
    proxy.set("corrupt", corrupt_keys={"chaos-test/chosen"})
    chosen = client.get_object(Bucket=TEST_BUCKET, Key="chaos-test/chosen")["Body"].read()
    other = client.get_object(Bucket=TEST_BUCKET, Key="chaos-test/other")["Body"].read()
    assert (len(chosen), chosen == body, other == body) == (len(body), False, True)
    assert proxy.state.counts["corrupted"] == 1
