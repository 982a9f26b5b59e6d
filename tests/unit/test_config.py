"""Configuration: the sample lists every setting, overrides work, bad values name the setting."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from server.config import SECTIONS, Config, load_config
from server.settings_loader import ConfigError, build_section

ROOT = Path(__file__).resolve().parents[2]


def test_sample_config_lists_every_setting_with_its_default() -> None:
    sample = tomllib.loads((ROOT / "config.toml").read_text())
    assert set(sample) == set(SECTIONS)
    for name, cls in SECTIONS.items():
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        written = {k: tuple(v) if isinstance(v, list) else v for k, v in sample[name].items()}
        assert written == defaults, f"[{name}] in config.toml differs from the code"


def test_sample_config_comments_every_setting() -> None:
    lines = (ROOT / "config.toml").read_text().splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), f"setting without a comment: {line}"


def test_sample_file_loads_to_the_defaults() -> None:
    assert load_config(ROOT / "config.toml", {}) == Config()


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n')
    config = load_config(path, {"MICROMENTOR_SERVER_PORT": "8090"})
    assert config.server.port == 8090
    assert config.server.host == "0.0.0.0"


def test_database_url_defaults_to_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    config = load_config(None, {"MICROMENTOR_SERVER_DATA_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path}/micromentor.db"
    pg = "postgresql+asyncpg://mm:pw@db/mm"
    assert load_config(None, {"MICROMENTOR_DATABASE_URL": pg}).database_url == pg


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        ("[server]\nport = 'eighty'\n", {}, "[server] port"),
        ("[server]\nport = 70000\n", {}, "[server] port"),
        ("", {"MICROMENTOR_SERVER_PORT": "abc"}, "MICROMENTOR_SERVER_PORT"),
        ("[server]\nprot = 8080\n", {}, "[server] prot"),
        ("[sever]\nport = 8080\n", {}, "[sever]"),
        ("", {"MICROMENTOR_SERVER_PROT": "1"}, "MICROMENTOR_SERVER_PROT"),
        ("[server]\nlog_level = 'loud'\n", {}, "[server] log_level"),
        ("[server]\nsecret_key = 'short'\n", {}, "[server] secret_key"),
        ("[server]\npublic_url = 'mentor.example.edu'\n", {}, "[server] public_url"),
        ("[database]\nurl = 'mysql://x/y'\n", {}, "[database] url"),
        ("[auth]\nlogin_days = 0\n", {}, "[auth] login_days"),
        ("server = 1\n", {}, "server"),
        ("[server\n", {}, "not valid TOML"),
    ],
)
def test_bad_settings_stop_with_the_setting_named(
    tmp_path: Path, toml: str, env: dict[str, str], named: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, env)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", {})


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server.port = 1  # type: ignore[misc]


@dataclass(frozen=True)
class Sample:
    flag: bool = False
    names: tuple[str, ...] = ()
    ratio: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0})
    mode: str = field(default="a", metadata={"choices": ("a", "b")})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MICROMENTOR_SAMPLE_FLAG": "yes"}, Sample(flag=True)),
        ({"MICROMENTOR_SAMPLE_FLAG": "0"}, Sample(flag=False)),
        ({"MICROMENTOR_SAMPLE_NAMES": "127.0.0.1, ::1"}, Sample(names=("127.0.0.1", "::1"))),
        ({"MICROMENTOR_SAMPLE_NAMES": ""}, Sample(names=())),
        ({"MICROMENTOR_SAMPLE_RATIO": "0.25"}, Sample(ratio=0.25)),
    ],
)
def test_loader_reads_bools_lists_and_numbers_from_text(
    env: dict[str, str], expected: Sample
) -> None:
    assert build_section(Sample, "sample", {}, env, "test") == expected


def test_loader_checks_toml_types_and_bounds() -> None:
    assert build_section(Sample, "sample", {"names": ["a", "b"], "ratio": 1}, {}, "t") == Sample(
        names=("a", "b"), ratio=1.0
    )
    for values, problem in [
        ({"flag": "yes"}, "true or false"),
        ({"names": "a,b"}, "list of strings"),
        ({"ratio": 1.5}, "at most 1.0"),
        ({"mode": "c"}, "one of 'a', 'b'"),
    ]:
        with pytest.raises(ConfigError, match=problem):
            build_section(Sample, "sample", values, {}, "t")
    with pytest.raises(ConfigError, match="MICROMENTOR_SAMPLE_FLAG"):
        build_section(Sample, "sample", {}, {"MICROMENTOR_SAMPLE_FLAG": "maybe"}, "t")


def test_production_refuses_a_public_url_that_is_not_https() -> None:
    """Issue 13, item 8: production means TLS in front, so the login cookie is Secure."""
    keys = {
        "MICROMENTOR_SERVER_ENVIRONMENT": "production",
        "MICROMENTOR_BILLING_RAZORPAY_KEY_ID": "rzp_live_x",
        "MICROMENTOR_BILLING_RAZORPAY_KEY_SECRET": "s",
        "MICROMENTOR_BILLING_RAZORPAY_WEBHOOK_SECRET": "w",
    }
    for url in ("", "http://mentor.campus.example"):
        with pytest.raises(ConfigError, match=r"\[server\] public_url: production needs"):
            load_config(None, {**keys, "MICROMENTOR_SERVER_PUBLIC_URL": url})


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_config(None, {"MICROMENTOR_SERVER_TRUSTED_PROXIES": "nginx.local"})
    config = load_config(None, {"MICROMENTOR_SERVER_TRUSTED_PROXIES": "127.0.0.1,10.0.0.0/8"})
    assert config.server.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")


def test_production_refuses_to_start_without_razorpay_keys() -> None:
    with pytest.raises(ConfigError, match=r"\[billing\] razorpay_key_id"):
        load_config(None, {"MICROMENTOR_SERVER_ENVIRONMENT": "production"})
    keys = {
        "MICROMENTOR_BILLING_RAZORPAY_KEY_ID": "rzp_live_x",
        "MICROMENTOR_BILLING_RAZORPAY_KEY_SECRET": "s",
        "MICROMENTOR_BILLING_RAZORPAY_WEBHOOK_SECRET": "w",
    }
    https = {"MICROMENTOR_SERVER_PUBLIC_URL": "https://mentor.campus.example"}
    config = load_config(None, {"MICROMENTOR_SERVER_ENVIRONMENT": "production", **keys, **https})
    assert config.billing.uses_razorpay
    with pytest.raises(ConfigError, match="together"):
        load_config(None, {"MICROMENTOR_BILLING_RAZORPAY_KEY_ID": "rzp_test_x"})
