"""mediacache_project.env and the real settings: strict parsing, one clear line per bad variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from media_store.conf import DEFAULTS
from mediacache_project.env import Env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLES = set(DEFAULTS) | {
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "STATIC_ROOT",
    "LOG_LEVEL",
    "CELERY_BROKER_URL",
    "DJANGO_SETTINGS_MODULE",
}


def assert_one_error_naming(env: Env, name: str, value: str) -> None:
    assert len(env.errors) == 1
    assert name in env.errors[0]
    assert repr(value) in env.errors[0]


# --- raw / str --------------------------------------------------------------------------------


@pytest.mark.parametrize(("environ", "expected"), [({}, None), ({"X": ""}, None), ({"X": "  \t"}, None)])
def test_raw_treats_unset_and_blank_alike(environ, expected):
    assert Env(environ).raw("X") is expected


def test_str_strips_the_value_and_falls_back_on_blank():
    assert Env({"X": "  value \n"}).str("X", "default") == "value"
    assert Env({"X": "   "}).str("X", "default") == "default"
    assert Env({}).str("X") == ""


def test_env_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("MEDIACACHE_TEST_NUMBER", "17")
    assert Env().int("MEDIACACHE_TEST_NUMBER", 3) == 17


# --- bool -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_bool_understands_the_usual_words(value, expected):
    env = Env({"FLAG": value})
    assert env.bool("FLAG", not expected) is expected
    assert env.errors == []


@pytest.mark.parametrize("environ", [{}, {"FLAG": ""}, {"FLAG": "   "}])
@pytest.mark.parametrize("default", [True, False])
def test_bool_uses_the_default_when_unset_or_blank(environ, default):
    env = Env(environ)
    assert env.bool("FLAG", default) is default
    assert env.errors == []


@pytest.mark.parametrize("value", ["maybe", "2", "tru", "y e s", "-1"])
@pytest.mark.parametrize("default", [True, False])
def test_bool_records_a_bad_value_and_returns_the_default(value, default):
    env = Env({"FLAG": value})
    assert env.bool("FLAG", default) is default
    assert_one_error_naming(env, "FLAG", value)


# --- int --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), (" 42 ", 42), ("0", 0), ("1_000", 1000), ("604800", 604800), ("+5", 5), ("007", 7)],
)
def test_int_parses_whole_numbers(value, expected):
    env = Env({"N": value})
    assert env.int("N", 3) == expected
    assert env.errors == []


@pytest.mark.parametrize("environ", [{}, {"N": ""}, {"N": "  "}])
def test_int_uses_the_default_when_unset_or_blank(environ):
    env = Env(environ)
    assert env.int("N", 3) == 3
    assert env.errors == []


@pytest.mark.parametrize("value", ["abc", "1.5", "1e3", "-1", "12abc", "0x10", "9" * 5000])
def test_int_records_a_bad_value_and_returns_the_default(value):
    env = Env({"N": value})
    assert env.int("N", 3) == 3
    assert_one_error_naming(env, "N", value)


def test_int_enforces_the_minimum():
    env = Env({"LOW": "4", "EDGE": "5"})
    assert env.int("LOW", 10, minimum=5) == 10
    assert env.int("EDGE", 10, minimum=5) == 5
    assert_one_error_naming(env, "LOW", "4")
    assert ">= 5" in env.errors[0]


def test_int_allows_negative_numbers_when_the_minimum_does():
    env = Env({"N": "-3"})
    assert env.int("N", 0, minimum=-10) == -3
    assert env.errors == []


# --- float ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("2.5", 2.5), ("3", 3.0), (" 0 ", 0.0), ("1e-3", 0.001)])
def test_float_parses_numbers(value, expected):
    env = Env({"F": value})
    assert env.float("F", 9.0) == expected
    assert env.errors == []


@pytest.mark.parametrize("environ", [{}, {"F": ""}])
def test_float_uses_the_default_when_unset_or_blank(environ):
    env = Env(environ)
    assert env.float("F", 9.5) == 9.5
    assert env.errors == []


@pytest.mark.parametrize("value", ["abc", "-0.5", "nan", "NaN", "1,5"])
def test_float_records_a_bad_value_and_returns_the_default(value):
    env = Env({"F": value})
    assert env.float("F", 9.5) == 9.5
    assert_one_error_naming(env, "F", value)


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e400"])
def test_float_rejects_infinite_durations(value):
    """``BASE_BACKOFF_SECONDS=inf`` would pass start-up and then break the first sleep or timeout."""
    env = Env({"F": value})
    assert env.float("F", 9.5) == 9.5
    assert_one_error_naming(env, "F", value)


# --- list -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", ["a"]),
        ("a,b", ["a", "b"]),
        (" a , b ,, c, ", ["a", "b", "c"]),
        ("media.example.com,127.0.0.1", ["media.example.com", "127.0.0.1"]),
    ],
)
def test_list_splits_on_commas_and_drops_empty_items(value, expected):
    assert Env({"L": value}).list("L", ["default"]) == expected


def test_list_uses_a_copy_of_the_default_when_unset_or_blank():
    default = ["127.0.0.1", "localhost"]
    result = Env({"L": "  "}).list("L", default)
    assert result == default
    result.append("mutated")
    assert default == ["127.0.0.1", "localhost"]


# --- choice -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("s3", "s3"), ("S3", "s3"), (" filesystem ", "filesystem")])
def test_choice_accepts_an_allowed_value_in_any_case(value, expected):
    env = Env({"C": value})
    assert env.choice("C", "filesystem", ("filesystem", "s3")) == expected
    assert env.errors == []


def test_choice_uses_the_default_when_blank():
    env = Env({"C": ""})
    assert env.choice("C", "filesystem", ("filesystem", "s3")) == "filesystem"
    assert env.errors == []


def test_choice_records_a_value_outside_the_choices():
    env = Env({"MEDIA_STORAGE": "ftp"})
    assert env.choice("MEDIA_STORAGE", "filesystem", ("filesystem", "s3")) == "filesystem"
    assert_one_error_naming(env, "MEDIA_STORAGE", "ftp")
    assert "filesystem or s3" in env.errors[0]


# --- url --------------------------------------------------------------------------------------

REDIS_SCHEMES = ("redis", "rediss", "unix")
HTTP_SCHEMES = ("http", "https")


@pytest.mark.parametrize(
    ("value", "schemes"),
    [
        ("redis://localhost:6379/0", REDIS_SCHEMES),
        ("rediss://:secret@cache.example.com:6380/1", REDIS_SCHEMES),
        ("unix:///run/redis/redis.sock", REDIS_SCHEMES),
        ("http://127.0.0.1:8000", HTTP_SCHEMES),
        ("https://media.example.com/prefix", HTTP_SCHEMES),
    ],
)
def test_url_accepts_urls_with_an_allowed_scheme(value, schemes):
    env = Env({"U": value})
    assert env.url("U", "", schemes) == value
    assert env.errors == []


@pytest.mark.parametrize(
    ("value", "schemes"),
    [
        ("localhost:6379", REDIS_SCHEMES),
        ("http://localhost:6379", REDIS_SCHEMES),
        ("redis://", REDIS_SCHEMES),
        ("media.example.com", HTTP_SCHEMES),
        ("ftp://media.example.com", HTTP_SCHEMES),
        ("https://", HTTP_SCHEMES),
    ],
)
def test_url_records_a_url_with_another_scheme_or_nothing_after_it(value, schemes):
    env = Env({"U": value})
    assert env.url("U", "http://default.example", schemes) == "http://default.example"
    assert_one_error_naming(env, "U", value)


@pytest.mark.parametrize("value", ["http:media.example.com", "https:/media.example.com"])
def test_url_records_an_http_url_without_a_host(value):
    """The error text promises "a URL starting with http://"; ``http:host`` is a typo, not a URL."""
    env = Env({"PUBLIC_BASE_URL": value})
    assert env.url("PUBLIC_BASE_URL", "http://127.0.0.1:8000", HTTP_SCHEMES) == "http://127.0.0.1:8000"
    assert_one_error_naming(env, "PUBLIC_BASE_URL", value)


@pytest.mark.parametrize(("environ", "default"), [({}, ""), ({"U": "  "}, ""), ({}, "http://127.0.0.1:8000")])
def test_url_uses_the_default_when_unset_or_blank(environ, default):
    env = Env(environ)
    assert env.url("U", default, HTTP_SCHEMES) == default
    assert env.errors == []


# --- exit_if_invalid --------------------------------------------------------------------------


def test_exit_if_invalid_does_nothing_when_every_value_parsed():
    env = Env({"N": "1", "FLAG": "true"})
    env.int("N", 0)
    env.bool("FLAG", False)
    assert env.exit_if_invalid() is None


def test_exit_if_invalid_reports_every_bad_variable_on_its_own_line():
    env = Env({"MEDIA_REDIS_TTL": "abc", "DEBUG": "maybe", "MAX_RETRIES": "-1", "OK": "5"})
    env.int("MEDIA_REDIS_TTL", 604800)
    env.bool("DEBUG", False)
    env.int("MAX_RETRIES", 3)
    env.int("OK", 1)
    with pytest.raises(SystemExit) as raised:
        env.exit_if_invalid()
    lines = str(raised.value.code).splitlines()
    assert len(lines) == 3
    assert all(line.startswith("mediacache: ") for line in lines)
    assert "MEDIA_REDIS_TTL" in lines[0]
    assert "DEBUG" in lines[1]
    assert "MAX_RETRIES" in lines[2]


# --- the real settings, in a subprocess -------------------------------------------------------


def run_check(tmp_path: Path, **variables: str | None) -> subprocess.CompletedProcess:
    """``manage.py check`` with only the given mediacache variables set (None removes one)."""
    environ = {name: value for name, value in os.environ.items() if name not in SETTINGS_VARIABLES}
    environ.update(
        {
            "SECRET_KEY": "a-secret-for-the-settings-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
            "MEDIA_CACHE_DIR": str(tmp_path / "cache"),
            "MEDIA_ORIGIN_DIR": str(tmp_path / "origin"),
            "STATIC_ROOT": str(tmp_path / "static"),
            "SECRET_KEY_FILE": str(tmp_path / "no-secret-key-file"),  # not the project's var/secret_key
        }
    )
    for name, value in variables.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_settings_load_with_a_good_environment(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_settings_generate_a_secret_key_in_debug(tmp_path):
    result = run_check(tmp_path, SECRET_KEY=None, DEBUG="true")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MEDIA_REDIS_TTL", "abc"),
        ("MEDIA_DISK_MAX_BYTES", "-1"),
        ("DEBUG", "maybe"),
        ("MEDIA_STORAGE", "ftp"),
        ("REDIS_URL", "localhost:6379"),
        ("DATABASE_URL", "nonsense://x"),
    ],
)
def test_settings_stop_with_one_line_naming_a_bad_variable(tmp_path, name, value):
    result = run_check(tmp_path, **{name: value})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    naming = [line for line in result.stderr.splitlines() if name in line]
    assert len(naming) == 1
    assert naming[0].startswith("mediacache: ")
    assert "System check" not in result.stdout


def test_settings_report_every_bad_variable_at_once(tmp_path):
    result = run_check(tmp_path, MEDIA_REDIS_TTL="abc", MAX_RETRIES="-1", ENABLE_CACHING="perhaps")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 3
    assert all(line.startswith("mediacache: ") for line in lines)


def test_settings_require_a_bucket_for_the_s3_origin(tmp_path):
    result = run_check(tmp_path, MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME=None)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_settings_require_a_secret_key_outside_debug(tmp_path):
    result = run_check(tmp_path, SECRET_KEY=None, DEBUG=None)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    naming = [line for line in result.stderr.splitlines() if "SECRET_KEY" in line]
    assert len(naming) == 1
    assert naming[0].startswith("mediacache: ")


def test_without_secret_key_the_key_make_run_wrote_is_used(tmp_path):
    """The commands `make run` suggests must work in a new shell, where SECRET_KEY is unset."""
    key_file = tmp_path / "secret_key"
    key_file.write_text("a-key-written-by-make-run\n")

    result = run_check(tmp_path, SECRET_KEY=None, DEBUG=None, SECRET_KEY_FILE=str(key_file))

    assert result.returncode == 0, result.stderr
